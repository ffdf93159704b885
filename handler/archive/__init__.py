"""From page to stored version: extraction into the document, versions and their WARC
captures, the catalog (manifest), the run state, and reading the archive back."""
