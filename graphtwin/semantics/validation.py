"""SHACL validation of a data graph against the shapes in force (pySHACL)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path

from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from graphtwin.errors import BadInput, ShapeReport, Violation
from graphtwin.semantics.description import Description, graph_of
from graphtwin.semantics.locality import Neighbourhoods
from graphtwin.semantics.shacl_speedup import seed_constraint_parameters

log = logging.getLogger(__name__)

# Here, at import, so that spawned validation workers (which import this module
# to unpickle their task) validate with it as well.
seed_constraint_parameters()


def load_shapes(directory: Path) -> Graph:
    """Every Turtle file in ``directory`` as one shapes graph.

    :raises BadInput: a shapes file does not parse; the message names it.
    """
    graph = Graph()
    for path in sorted(directory.glob("*.ttl")):
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises assorted types
            raise BadInput(f"shapes file {path.name} does not parse: {exc}") from exc
    return graph


def _one(graph: Graph, subject: Node, predicate: URIRef) -> Node | None:
    return next(iter(graph.objects(subject, predicate)), None)


def _short(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        return str(node)
    return str(node)


def report_from_graph(results: Graph) -> ShapeReport:
    violations: list[Violation] = []
    # Top-level results only: nested sh:detail results (from sh:node, sh:or, ...)
    # explain a parent result and have blank-node shapes.
    for result in results.objects(None, SH.result):
        messages = [str(m) for m in results.objects(result, SH.resultMessage)]
        component = _one(results, result, SH.sourceConstraintComponent)
        violations.append(
            Violation(
                focus_node=str(_one(results, result, SH.focusNode)),
                path=_short(_one(results, result, SH.resultPath)),
                constraint=str(component).rsplit("#", 1)[-1] if component else "",
                message="; ".join(sorted(messages)) or "constraint violated",
                severity=str(_one(results, result, SH.resultSeverity) or SH.Violation).rsplit(
                    "#", 1
                )[-1],
                value=_short(_one(results, result, SH.value)),
                shape=_short(_one(results, result, SH.sourceShape)),
            )
        )
    violations.sort(key=lambda v: (v.focus_node, v.path or "", v.constraint, v.message))
    blocking = [v for v in violations if v.severity == "Violation"]
    return ShapeReport(conforms=not blocking, violations=violations)


# Writes with fewer changed resources than this are validated inline: a worker
# round trip costs more than it saves.
PARALLEL_THRESHOLD = 400
CHUNK_SIZE = 250

# Set in each worker process by _init_worker.
_WORKER: ShaclValidator | None = None


def _init_worker(shapes_nt: str, ontology_nt: str) -> None:
    global _WORKER  # noqa: PLW0603 - one validator per worker process
    shapes = Graph().parse(data=shapes_nt, format="nt")
    ontology = Graph().parse(data=ontology_nt, format="nt")
    _WORKER = ShaclValidator(shapes, ontology, workers=1)


def _validate_chunk(descriptions: list[Description], focus: list[str]) -> ShapeReport:
    if _WORKER is None:  # pragma: no cover - the pool initializer always runs first
        raise RuntimeError("validation worker not initialised")
    return _WORKER.validate(graph_of(descriptions), focus)


def merge_reports(reports: Iterable[ShapeReport]) -> ShapeReport:
    violations = sorted(
        {v for r in reports for v in r.violations},
        key=lambda v: (v.focus_node, v.path or "", v.constraint, v.message),
    )
    return ShapeReport(
        conforms=not any(v.severity == "Violation" for v in violations), violations=violations
    )


class ShaclValidator:
    """Validates data graphs against fixed shapes and ontologies."""

    def __init__(self, shapes: Graph, ontology: Graph, *, workers: int | None = None) -> None:
        self.shapes = shapes
        self.ontology = ontology
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def executor(self) -> Executor:
        """The worker pool, started on first use (spawned: no fork of a threaded server)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(
                    self.shapes.serialize(format="nt"),
                    self.ontology.serialize(format="nt"),
                ),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    async def validate_descriptions(
        self, descriptions: Mapping[str, Description], focus: Iterable[str]
    ) -> ShapeReport:
        """Validate the ``focus`` resources within ``descriptions``, off the event loop.

        Large writes are split into chunks by locality and validated in parallel
        worker processes (pySHACL is pure Python: threads would not help).
        """
        wanted = sorted(set(focus))
        if self.workers <= 1 or len(wanted) < PARALLEL_THRESHOLD:
            data = graph_of(descriptions.values())
            return await asyncio.to_thread(self.validate, data, wanted)
        chunks = Neighbourhoods(descriptions).chunks(wanted, CHUNK_SIZE)
        loop = asyncio.get_running_loop()
        pool = self.executor()
        reports = await asyncio.gather(
            *(loop.run_in_executor(pool, _validate_chunk, descs, part) for part, descs in chunks)
        )
        return merge_reports(reports)

    def validate(self, data: Graph, focus: Iterable[str] | None = None) -> ShapeReport:
        """Validate ``data``; with ``focus``, report only results about those nodes.

        ``data`` is consumed: the ontology's triples are added to it.

        The ontology is mixed into the data graph (``rdfs:subClassOf`` for targets
        and ``sh:class``); no RDFS inference is run, so the check is predictable.
        The whole data graph is validated even with ``focus``: pySHACL's own
        ``focus_nodes`` option treats nested shapes (``sh:qualifiedValueShape``,
        ``sh:or``) on non-focus value nodes as conforming, which miscounts
        qualified cardinalities. Context nodes at the edge of the data graph may
        show spurious results (their own neighbours are not loaded), hence the filter.
        """
        wanted = {str(f) for f in focus} if focus is not None else None
        if wanted is not None and not wanted:
            return ShapeReport(conforms=True)
        # The ontology goes into ``data`` itself and validation runs in place: the
        # callers hand over throwaway graphs, and pySHACL would otherwise copy the
        # whole data graph to mix the ontology in.
        data += self.ontology
        _conforms, results, _text = validate(
            data,
            shacl_graph=self.shapes,
            inference="none",
            advanced=True,
            allow_warnings=True,
            inplace=True,
        )
        report = report_from_graph(results)
        if wanted is None:
            return report
        kept = [v for v in report.violations if v.focus_node in wanted]
        return ShapeReport(
            conforms=not any(v.severity == "Violation" for v in kept), violations=kept
        )
