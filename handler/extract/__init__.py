"""The site-neutral extraction core: parse a page once (``page``), read its metadata
(``metadata``), trafilatura's reading of it (``generic``) and how far a site rule's text agrees
with that reading (``agreement``). Which site rule applies, and turning the result into a
document, is ``handler.archive.extraction``'s job: this package never imports ``handler.sites``
(the site rules import it; an import-linter contract holds the line)."""
