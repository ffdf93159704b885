"""The package version: what documents name as their extractor and requests as their agent."""

__version__ = "0.1.0"
