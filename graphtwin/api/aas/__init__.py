"""GraphQL: Asset Administration Shells (import, export, shells and submodels of assets)."""
