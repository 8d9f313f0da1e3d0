"""graphtwin: a semantic asset-graph twin server for manufacturing."""

__version__ = "0.1.0"
