"""Twin services: reading and changing the asset graph."""
