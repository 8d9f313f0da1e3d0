"""An AAS environment in memory: its identifiables and the package's supplementary files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from basyx.aas import model

from graphtwin.aas.vocab import Kind
from graphtwin.errors import BadInput


@dataclass(frozen=True)
class SupplementaryFile:
    content_type: str
    data: bytes


@dataclass
class Environment:
    shells: list[model.AssetAdministrationShell] = field(default_factory=list)
    submodels: list[model.Submodel] = field(default_factory=list)
    concept_descriptions: list[model.ConceptDescription] = field(default_factory=list)
    # Package part name (absolute, e.g. /aasx/files/manual.pdf) -> file.
    files: dict[str, SupplementaryFile] = field(default_factory=dict)

    def identifiables(self) -> Iterator[model.Identifiable]:
        yield from self.shells
        yield from self.submodels
        yield from self.concept_descriptions

    def add(self, obj: model.Identifiable) -> None:
        kind = Kind.of(obj)
        if kind is Kind.SHELL:
            self.shells.append(obj)  # type: ignore[arg-type]
        elif kind is Kind.SUBMODEL:
            self.submodels.append(obj)  # type: ignore[arg-type]
        else:
            self.concept_descriptions.append(obj)  # type: ignore[arg-type]

    def merge(self, other: Environment) -> None:
        for obj in other.identifiables():
            self.add(obj)
        self.files.update(other.files)

    def check_unique_ids(self) -> None:
        """:raises BadInput: two identifiables share an id."""
        seen: dict[str, Kind] = {}
        for obj in self.identifiables():
            kind = Kind.of(obj)
            other = seen.get(obj.id)
            if other is not None:
                what = (
                    f"two {kind.label}s" if other is kind else f"a {other.label} and a {kind.label}"
                )
                raise BadInput(f"duplicate id {obj.id!r}: {what} use it", path=(obj.id,))
            seen[obj.id] = kind

    def store(self) -> model.DictObjectStore[model.Identifiable]:
        return model.DictObjectStore(self.identifiables())


def name_of(obj: model.Identifiable) -> str:
    """``submodel 'https://…'``: how errors and reports name an identifiable."""
    return f"{Kind.of(obj).label} {obj.id!r}"


def element_path(element: model.Referable) -> str:
    """The idShort path of a submodel element (``Coll.Child``, ``List[2].Field``)."""
    parts: list[str] = []
    current: model.Referable | None = element
    while current is not None and not isinstance(current, model.Identifiable):
        parent = current.parent
        if isinstance(parent, model.SubmodelElementList):
            parts.append(f"[{list(parent.value).index(current)}]")
        else:
            parts.append(str(current.id_short))
        current = parent if isinstance(parent, model.Referable) else None
    return join_path(reversed(parts))


def join_path(parts: Iterator[str] | list[str]) -> str:
    out = ""
    for part in parts:
        out += part if part.startswith("[") or not out else f".{part}"
    return out


def owner_of(element: model.Referable) -> model.Identifiable | None:
    current: object = element
    while isinstance(current, model.Referable) and not isinstance(current, model.Identifiable):
        current = current.parent
    return current if isinstance(current, model.Identifiable) else None
