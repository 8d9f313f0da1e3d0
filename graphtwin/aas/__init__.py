"""Asset Administration Shell (v3.0): import, export, and the model the AAS REST API reads."""
