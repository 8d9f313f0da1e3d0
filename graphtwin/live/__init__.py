"""Live data: bindings, the adapter runtime, the live cache and the graph flush."""
