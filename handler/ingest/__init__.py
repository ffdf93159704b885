"""Getting pages in: the feeds file, the feed, and the HTTP client every fetch goes through."""
