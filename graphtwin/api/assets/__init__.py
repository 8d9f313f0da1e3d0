"""GraphQL: assets (the twins themselves)."""
