"""The HTTP edge: Starlette app, GraphQL schema split by area, health routes."""
