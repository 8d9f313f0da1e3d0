"""The twin service: the operations the API and the CLI offer on the asset graph."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from graphtwin.errors import BadInput, NotFound, ShapeReport
from graphtwin.semantics.changeset import ChangeSet, skolemize
from graphtwin.semantics.description import Description, graph_of
from graphtwin.semantics.documents import parse_document
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.validation import ShaclValidator
from graphtwin.semantics.vocab import GT
from graphtwin.twins.policy import IriPolicy
from graphtwin.twins.queries import TwinQueries
from graphtwin.twins.repository import ResourceRepository
from graphtwin.twins.writer import ChangeWriter, WriteResult

EXPORT_PAGE = 5000


@dataclass(frozen=True)
class PropertyInput:
    property: str  # IRI or prefixed name
    value: str
    datatype: str | None = None
    language: str | None = None


class TwinService:
    def __init__(
        self,
        *,
        repository: ResourceRepository,
        writer: ChangeWriter,
        queries: TwinQueries,
        ontology: OntologyIndex,
        validator: ShaclValidator,
        policy: IriPolicy,
        max_upload_bytes: int,
    ) -> None:
        self.repository = repository
        self.writer = writer
        self.queries = queries
        self.ontology = ontology
        self.validator = validator
        self.policy = policy
        self.max_upload_bytes = max_upload_bytes

    # -- literals ----------------------------------------------------------------
    def literal(self, prop: PropertyInput, *, path: tuple[str, ...] = ("value",)) -> Literal:
        """A literal for ``prop``, typed by the input or else by the property's range.

        :raises BadInput: the value is not valid for the datatype.
        """
        predicate = self.queries.expand(prop.property, what="property")
        if prop.language:
            return Literal(prop.value, lang=prop.language)
        datatype = (
            self.queries.expand(prop.datatype, what="datatype")
            if prop.datatype
            else self.ontology.datatype_of(predicate)
        )
        if datatype is None or datatype == str(XSD.string):
            return Literal(prop.value)
        lit = Literal(prop.value, datatype=URIRef(datatype))
        if lit.ill_typed:
            raise BadInput(
                f"{prop.value!r} is not a valid {datatype} for {prop.property}", path=path
            )
        return lit

    def _property_triples(
        self, subject: URIRef, properties: Sequence[PropertyInput]
    ) -> list[tuple[Node, Node, Node]]:
        triples: list[tuple[Node, Node, Node]] = []
        for index, prop in enumerate(properties):
            where = ("properties", str(index))
            predicate = URIRef(
                self.queries.expand(prop.property, what="property", path=(*where, "property"))
            )
            lit = self.literal(prop, path=(*where, "value"))
            triples.append((subject, predicate, lit))
        return triples

    # -- mutations ---------------------------------------------------------------
    async def create_asset(
        self,
        iri: str,
        type_: str,
        *,
        label: str | None = None,
        part_of: str | None = None,
        properties: Sequence[PropertyInput] = (),
    ) -> WriteResult:
        subject = URIRef(iri)
        class_iri = self.queries.expand_class(type_)
        if not self.policy.is_data(iri):
            raise BadInput(
                f"<{iri}> is outside the allowed namespaces ({', '.join(self.policy.namespaces)})",
                path=("iri",),
            )
        if part_of and not await self.repository.existing([part_of]):
            raise BadInput(
                f"dangling reference: partOf <{part_of}> is not in the graph", path=("partOf",)
            )
        change = ChangeSet(must_not_exist={iri})
        change.add.append((subject, RDF.type, URIRef(class_iri)))
        if label:
            change.add.append((subject, RDFS.label, Literal(label)))
        if part_of:
            change.add.append((subject, GT.partOf, URIRef(part_of)))
        change.add += self._property_triples(subject, properties)
        return await self.writer.apply(change)

    async def update_asset(
        self,
        iri: str,
        *,
        label: str | None = None,
        type_: str | None = None,
        properties: Sequence[PropertyInput] = (),
    ) -> WriteResult:
        """Replace the label, the types and the given properties' values."""
        current = await self._require(iri)
        subject = URIRef(iri)
        change = ChangeSet(must_exist={iri})
        if label is not None:
            change.remove += [
                (subject, RDFS.label, v) for v in current.literals.get(str(RDFS.label), ())
            ]
            change.add.append((subject, RDFS.label, Literal(label)))
        if type_ is not None:
            change.remove += [(subject, RDF.type, URIRef(t)) for t in current.types]
            change.add.append((subject, RDF.type, URIRef(self.queries.expand_class(type_))))
        for triple in self._property_triples(subject, properties):
            change.remove += [
                (subject, triple[1], v) for v in current.literals.get(str(triple[1]), ())
            ]
            change.add.append(triple)
        return await self.writer.apply(change)

    async def delete_asset(self, iri: str, *, cascade: bool = False) -> WriteResult:
        """Delete an asset (and with ``cascade`` every component below it)."""
        await self._require(iri)
        doomed = {iri}
        if cascade:
            (below,) = await self.queries.reachable([(iri, "components", 12)])
            doomed |= set(below)
        return await self.writer.apply(ChangeSet(delete=doomed))

    async def set_property(self, iri: str, prop: PropertyInput) -> WriteResult:
        current = await self._require(iri)
        predicate = URIRef(self.queries.expand(prop.property, what="property"))
        change = ChangeSet(must_exist={iri})
        change.remove += [
            (URIRef(iri), predicate, v) for v in current.literals.get(str(predicate), ())
        ]
        change.add.append((URIRef(iri), predicate, self.literal(prop)))
        return await self.writer.apply(change)

    async def remove_property(self, iri: str, prop: str) -> WriteResult:
        current = await self._require(iri)
        predicate = self.queries.expand(prop, what="property")
        values = current.literals.get(predicate, set())
        if not values:
            raise NotFound(f"<{iri}> has no value for {prop}", path=("property",))
        change = ChangeSet(must_exist={iri})
        change.remove += [(URIRef(iri), URIRef(predicate), v) for v in values]
        return await self.writer.apply(change)

    async def link(self, source: str, predicate: str, target: str) -> WriteResult:
        p = URIRef(self.queries.expand(predicate, what="property"))
        self._require_object_property(str(p))
        change = ChangeSet(must_exist={source, target})
        change.add.append((URIRef(source), p, URIRef(target)))
        return await self.writer.apply(change)

    async def unlink(self, source: str, predicate: str, target: str) -> WriteResult:
        p = self.queries.expand(predicate, what="property")
        current = await self._require(source)
        if target not in current.links.get(p, set()):
            raise NotFound(f"<{source}> has no {predicate} link to <{target}>", path=("target",))
        change = ChangeSet(must_exist={source})
        change.remove.append((URIRef(source), URIRef(p), URIRef(target)))
        return await self.writer.apply(change)

    async def import_document(
        self, data: str | bytes, fmt: str, *, replace: bool = False
    ) -> WriteResult:
        """Import an RDF document: merged into the graph, or replacing the
        descriptions of its subjects with ``replace``.

        :raises BadInput: the document is malformed or too large, or its content is
            rejected (see ``ChangeWriter.apply``).
        """
        graph = parse_document(data, fmt, max_bytes=self.max_upload_bytes)
        return await self.import_graph(graph, replace=replace)

    async def import_graph(self, graph: Graph, *, replace: bool = False) -> WriteResult:
        if len(graph) == 0:
            raise BadInput("the document holds no triples")
        triples = skolemize(graph)
        change = ChangeSet(add=triples)
        if replace:
            change.replace = {str(s) for s, _, _ in triples}
        return await self.writer.apply(change)

    # -- whole-graph operations ----------------------------------------------------
    async def descriptions(self, page: int = EXPORT_PAGE) -> AsyncIterator[list[Description]]:
        """Every stored description, a page at a time in IRI order."""
        after = ""
        while True:
            rows = await self.repository.store.read(
                "MATCH (n:Resource) WHERE n.iri > $after WITH n ORDER BY n.iri LIMIT $limit "
                "OPTIONAL MATCH (n)-[r]->(m:Resource) "
                "RETURN n.iri AS iri, properties(n) AS props, "
                "collect({t: type(r), o: m.iri}) AS links ORDER BY iri",
                {"after": after, "limit": page},
            )
            if not rows:
                return
            yield [self.repository.description_from_row(row) for row in rows]
            after = str(rows[-1]["iri"])

    async def export_graph(self) -> Graph:
        graph = Graph()
        for prefix, namespace in sorted(self.repository.prefixes.as_dict().items()):
            if not prefix.startswith("ns"):
                graph.bind(prefix, namespace)
        async for batch in self.descriptions():
            for triple in graph_of(batch, deskolemize=True):
                graph.add(triple)
        return graph

    async def validate_all(self) -> ShapeReport:
        """Validate the whole stored graph against the shapes."""
        descriptions: list[Description] = []
        async for batch in self.descriptions():
            descriptions += batch
        data = graph_of(descriptions)
        return self.validator.validate(data)

    # -- helpers -----------------------------------------------------------------
    async def _require(self, iri: str) -> Description:
        (found,) = await self.queries.describe([iri])
        if found is None:
            raise NotFound(f"no asset <{iri}>", path=("iri",))
        return found

    def _require_object_property(self, iri: str) -> None:
        prop = self.ontology.properties.get(iri)
        if prop is not None and prop.kind != "object":
            raise BadInput(f"<{iri}> is a {prop.kind} property, not a link", path=("predicate",))
