"""Demo and benchmark plants: the ACME Components twin and synthetic plants of any size."""

from graphtwin.demo.plant import build_demo_plant, generate_plant

__all__ = ["build_demo_plant", "generate_plant"]
