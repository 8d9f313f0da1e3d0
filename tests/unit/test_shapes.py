"""Every SHACL shape in shapes/ is proven by fixtures: conforming data passes, and each
violating fixture breaks exactly the shapes it names in its ``# expect: gts:...`` lines.

Fixtures live in tests/fixtures/shapes/<node shape local name>/ as conforming*.ttl and
violating*.ttl. Validation runs the way the server runs it: the ontologies as
pySHACL's ont_graph, no inference, advanced (SHACL-SPARQL) features on.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.namespace import RDFS, SH, XSD

from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.validation import ShaclValidator, load_shapes

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "shapes"
GTS = Namespace("https://w3id.org/graphtwin/shapes#")
GT = Namespace("https://w3id.org/graphtwin/core#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
_EXPECT = re.compile(r"^#\s*expect:\s*gts:(\S+)\s*$", re.MULTILINE)


@cache
def shapes_graph() -> Graph:
    return load_shapes(ROOT / "shapes")


@cache
def ontology_graph() -> Graph:
    # The server's own loader: the tests see exactly what it validates against.
    return OntologyIndex.load(ROOT / "ontologies").graph


def run_shapes(data: Graph) -> tuple[bool, Graph]:
    # As the server does (ShaclValidator): the ontologies are part of the data graph,
    # so vocabulary terms such as units keep their types (sh:class qudt:Unit).
    data = data + ontology_graph()
    conforms, report, _text = validate(
        data,
        shacl_graph=shapes_graph(),
        ont_graph=ontology_graph(),
        inference="none",
        advanced=True,
    )
    return bool(conforms), report


def source_shapes(report: Graph) -> set[URIRef]:
    # Top-level results only: pySHACL also types the sh:detail results of sh:node as
    # sh:ValidationResult, and those name the anonymous nested shape.
    shapes = set()
    for result in report.objects(None, SH.result):
        for shape in report.objects(result, SH.sourceShape):
            assert isinstance(shape, URIRef), f"unnamed shape in report: {shape!r}"
            shapes.add(shape)
    return shapes


def node_shape_names() -> set[str]:
    graph = shapes_graph()
    return {
        str(shape).removeprefix(str(GTS))
        for shape in graph.subjects(RDF.type, SH.NodeShape)
        if isinstance(shape, URIRef)
    }


def fixture_files(prefix: str) -> list[Path]:
    return sorted(FIXTURES.glob(f"*/{prefix}*.ttl"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("path", fixture_files("conforming"), ids=fixture_id)
def test_conforming_fixture_conforms(path: Path) -> None:
    conforms, report = run_shapes(Graph().parse(path, format="turtle"))
    assert conforms, report.serialize(format="turtle")


@pytest.mark.parametrize("path", fixture_files("violating"), ids=fixture_id)
def test_violating_fixture_breaks_exactly_the_expected_shapes(path: Path) -> None:
    expected = {GTS[name] for name in _EXPECT.findall(path.read_text(encoding="utf-8"))}
    assert expected, f"{path} names no '# expect: gts:...' shape"

    conforms, report = run_shapes(Graph().parse(path, format="turtle"))

    assert not conforms
    assert source_shapes(report) == expected


def test_every_node_shape_has_a_fixture_folder() -> None:
    missing = []
    for name in sorted(node_shape_names()):
        folder = FIXTURES / name
        if not (folder / "conforming.ttl").is_file() or not (folder / "violating.ttl").is_file():
            missing.append(name)
    assert not missing, f"node shapes without conforming.ttl + violating.ttl: {missing}"


def test_every_fixture_folder_names_a_node_shape() -> None:
    # A renamed shape must not leave its fixtures proving nothing.
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders <= node_shape_names()


def test_every_named_property_shape_is_proven_by_a_violating_fixture() -> None:
    graph = shapes_graph()
    property_shapes = {
        shape for shape in graph.objects(None, SH.property) if isinstance(shape, URIRef)
    }
    proven: set[URIRef] = set()
    for path in fixture_files("violating"):
        names = _EXPECT.findall(path.read_text(encoding="utf-8"))
        proven |= {GTS[name] for name in names}
    assert sorted(property_shapes - proven) == []


def test_shape_messages_are_readable() -> None:
    # A plant engineer sees sh:message in the error; every named rule carries one.
    graph = shapes_graph()
    named = {s for s in graph.objects(None, SH.property) if isinstance(s, URIRef)}
    silent = [
        shape
        for shape in named | set(graph.objects(None, SH.sparql))
        if not any(graph.objects(shape, SH.message))
    ]
    assert silent == []


def test_decimal_quantity_properties_declare_a_known_unit() -> None:
    # pySHACL's ont_graph mixing copies only RDFS/OWL axioms, not qudt:hasUnit, so this
    # ontology-level rule is checked here rather than as a shape run on every write.
    ontology = ontology_graph()
    groups = {GT.measuredProperty, GT.nameplateProperty, GT.maintenanceProperty}
    quantities = {
        prop
        for prop in ontology.subjects(RDFS.range, XSD.decimal)
        if set(ontology.transitive_objects(prop, RDFS.subPropertyOf)) & groups
    }
    assert GT.cycleTime in quantities
    without_unit = sorted(
        str(prop)
        for prop in quantities
        if ontology.value(ontology.value(prop, QUDT.hasUnit), QUDT.symbol) is None
    )
    assert without_unit == []


def test_focused_validation_of_a_valid_machine_conforms() -> None:
    # pySHACL 0.40's own focus_nodes option applies the focus filter to nested shapes
    # too (sh:or, sh:node, sh:qualifiedValueShape on value nodes), which reported a
    # valid machine as belonging to several lines; ShaclValidator must not.
    data = Graph().parse(FIXTURES / "MachineShape" / "conforming.ttl", format="turtle")
    validator = ShaclValidator(shapes_graph(), ontology_graph(), workers=1)
    report = validator.validate(data, ["https://acme.example/sites/test/lines/l1/stations/op10/m1"])
    assert report.conforms, report.violations
