"""Simulation of production lines: a SimPy model built from the twin graph.

``spec`` is the plain, picklable description of a line (what worker processes get);
``topology`` and ``calibration`` build it from the graph and from value history;
``scenario`` changes it for what-if questions; ``engine`` runs one replication;
``stats`` turns replications into answers with confidence intervals; ``jobs`` runs
them in worker processes without blocking the API's event loop.
"""
