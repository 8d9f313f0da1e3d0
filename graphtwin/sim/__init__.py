"""Simulation of production lines: a SimPy model built from the twin graph.

``spec`` is the plain, picklable description of a line (what worker processes get);
``topology`` (with ``flow``, ``machine_params`` and ``calendar``) builds it from the
graph and ``calibration`` (with ``fitting``) from value history; ``scenario`` changes
it for what-if questions; ``engine`` runs one replication into ``results``;
``summary`` turns replications into answers with confidence intervals; ``pool`` runs
replications in worker processes and ``jobs`` keeps the long runs, so the API's
event loop never waits; ``service`` ties them together.
"""
