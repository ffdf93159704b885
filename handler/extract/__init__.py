"""The site-neutral extraction core: parse a page once (``page``), read its metadata
(``metadata``), and trafilatura's reading of it (``generic``). Which site rule applies, and
turning the result into a document, is ``handler.articles``' job: this package never imports
``handler.sites`` at import time (the rules import it)."""
