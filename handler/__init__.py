"""ntv-archive: archive the ntv.de politics feed, one JSON document per article version.

The package follows the data's path: ``feed`` -> ``fetch`` -> ``extract`` (+ ``sites``) ->
``document`` -> ``store``/``archive``; ``pipeline`` strings them together and ``cli``/``app`` are
thin doors onto it.
"""

__version__ = "0.1.0"
