"""The archive as a static site people read (issue 27, in progress): every page rendered from the
stored documents by autoescaping templates, so that no string from an article can become markup.
Built by ``ntv-archive site``; see docs/site.md for what exists so far and what is to come."""
