"""The one write path: change set -> checks -> SHACL on the neighbourhood -> one transaction.

A rejected change writes nothing. Writes are serialized so that what was
validated is what gets committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rdflib import RDF, Literal, URIRef

from graphtwin.errors import BadInput, Conflict, NotFound, ShapeViolation
from graphtwin.semantics.changeset import ChangeSet
from graphtwin.semantics.description import Description, Triple
from graphtwin.semantics.ontology import OntologyIndex
from graphtwin.semantics.validation import ShaclValidator
from graphtwin.twins.policy import IriPolicy
from graphtwin.twins.repository import ResourceRepository, WritePlan

log = logging.getLogger(__name__)

# A check on the planned result, run before SHACL; raises a TwinError to refuse it.
PlanCheck = Callable[[WritePlan], None]
# Told of every committed plan (for example to start the bindings it wrote).
CommitListener = Callable[[WritePlan], Awaitable[None]]


@dataclass
class WriteResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    triples_added: int = 0
    triples_removed: int = 0


class ChangeWriter:
    def __init__(
        self,
        repository: ResourceRepository,
        validator: ShaclValidator,
        ontology: OntologyIndex,
        policy: IriPolicy,
    ) -> None:
        self.repository = repository
        self.validator = validator
        self.ontology = ontology
        self.policy = policy
        self._lock = asyncio.Lock()
        self.plan_checks: list[PlanCheck] = []
        self.commit_listeners: list[CommitListener] = []

    async def apply(self, change: ChangeSet) -> WriteResult:
        """Check, validate and commit ``change`` atomically.

        :raises BadInput: IRIs outside the data namespaces, unknown classes,
            ill-typed literals or dangling references.
        :raises NotFound: a resource that must exist does not.
        :raises Conflict: an IRI to create is taken, or a deleted resource is
            still referenced.
        :raises ShapeViolation: the result would violate the shapes.
        :raises SourceUnavailable: the graph engine cannot be reached.
        """
        self._check_terms(change.add)
        async with self._lock:
            plan = await self._plan(change)
            for check in self.plan_checks:
                check(plan)
            await self._validate(plan)
            await self.repository.write(plan)
        for listener in self.commit_listeners:
            try:
                await listener(plan)
            except Exception:  # the write is committed; a listener must not undo that
                log.exception("commit listener failed")
        return WriteResult(
            created=sorted(i for i in plan.after if i not in plan.before),
            updated=sorted(i for i in plan.after if i in plan.before),
            deleted=sorted(plan.deleted),
            triples_added=len(change.add),
            triples_removed=len(change.remove),
        )

    def _check_terms(self, triples: list[Triple]) -> None:
        for s, p, o in triples:
            if not isinstance(s, URIRef) or not self.policy.is_data(str(s)):
                raise BadInput(
                    f"<{s}> is outside the allowed namespaces "
                    f"({', '.join(self.policy.namespaces)}); nothing was written"
                )
            if not isinstance(p, URIRef):
                raise BadInput(f"predicate {p!r} is not an IRI")
            if p == RDF.type and not self.ontology.is_class(str(o)):
                raise BadInput(
                    f"<{s}> is typed with unknown class <{o}>: it is not defined in the "
                    "loaded ontologies"
                )
            if isinstance(o, Literal) and o.ill_typed:
                raise BadInput(f"literal {str(o)!r} of <{s}> <{p}> is not a valid {o.datatype}")

    async def _plan(self, change: ChangeSet) -> WritePlan:
        repo = self.repository
        touched = change.subjects() | change.delete | change.replace
        touched |= {str(o) for _, _, o in change.add + change.remove if self.policy.is_data_node(o)}
        before = await repo.load(touched)
        missing = sorted(i for i in change.must_exist | change.delete if i not in before)
        if missing:
            raise NotFound(f"no resource <{missing[0]}>", path=("iri",))
        taken = sorted(i for i in change.must_not_exist if i in before)
        if taken:
            raise Conflict(f"<{taken[0]}> already exists", path=("iri",))

        after = {iri: desc.copy() for iri, desc in before.items()}
        if change.delete:
            # Links into deleted resources go too; their sources become changed resources.
            referrers = await repo.load(await repo.neighbours(change.delete) - set(after))
            for iri, desc in referrers.items():
                before[iri] = desc
                after[iri] = desc.copy()
            for iri in change.delete:
                after[iri] = Description(iri)
            for desc in after.values():
                for predicate in list(desc.links):
                    desc.links[predicate] -= change.delete
                    if not desc.links[predicate]:
                        del desc.links[predicate]
        for iri in change.replace:
            if iri in after:
                after[iri] = Description(iri)
        for s, p, o in change.remove:
            if str(s) in after:
                after[str(s)].remove(str(p), o)
        for s, p, o in change.add:
            desc = after.setdefault(str(s), Description(str(s)))
            desc.add(str(p), o, is_resource=self.policy.is_data_node(o))

        emptied = {iri for iri, desc in after.items() if desc.is_empty() and iri in before}
        await self._check_links(before, after, emptied)
        changed = {
            iri: desc
            for iri, desc in after.items()
            if not desc.is_empty() and (iri not in before or desc != before[iri])
        }
        return WritePlan(
            before={i: before[i] for i in changed if i in before}, after=changed, deleted=emptied
        )

    async def _check_links(
        self, before: dict[str, Description], after: dict[str, Description], emptied: set[str]
    ) -> None:
        targets: dict[str, str] = {}
        for iri, desc in after.items():
            old = before.get(iri)
            for predicate, objs in desc.links.items():
                previous = old.links.get(predicate, set()) if old else set()
                for target in objs - previous:
                    targets.setdefault(target, iri)
        unknown = {t for t in targets if t not in after or after[t].is_empty()}
        stored = await self.repository.existing(unknown - emptied)
        dangling = sorted(unknown - stored)
        if dangling:
            first = dangling[0]
            raise BadInput(
                f"dangling reference: <{targets[first]}> links to <{first}>, which is not in "
                f"the graph or the document ({len(dangling)} unknown target(s))"
            )
        if emptied:
            referrers = await self.repository.load(
                await self.repository.neighbours(emptied) - set(after)
            )
            for iri, desc in sorted(referrers.items()):
                for objs in desc.links.values():
                    still = sorted(objs & emptied)
                    if still:
                        raise Conflict(
                            f"<{still[0]}> is still referenced by <{iri}>; unlink or delete "
                            "that first"
                        )

    async def _validate(self, plan: WritePlan) -> None:
        if not plan.after:
            return
        repo = self.repository
        link_targets = {t for d in plan.after.values() for objs in d.links.values() for t in objs}
        context_iris = await repo.neighbours(set(plan.after) | link_targets)
        context_iris |= link_targets
        context = await repo.load(context_iris - set(plan.after) - plan.deleted)
        for desc in context.values():
            for predicate in list(desc.links):
                desc.links[predicate] -= plan.deleted
        report = await self.validator.validate_descriptions(
            {**context, **plan.after}, plan.after.keys()
        )
        if not report.conforms:
            raise ShapeViolation(report)
