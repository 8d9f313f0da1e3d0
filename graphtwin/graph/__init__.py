"""Graph access: the store port, the Bolt store, schema setup and the embedded engine."""
