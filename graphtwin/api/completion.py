"""Building blocks of graphtwin's GraphQL execution (see ``execution``): how a
field's value is read or called the way strawberry would, and closures that
complete plain values (scalars, enums, plain records and lists of them) without
graphql-core's per-field machinery.

Completers here raise ``NotPlain`` (or whatever coercion raises) on anything
unexpected; the execution context then hands the value to graphql-core.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, NamedTuple

from graphql import Undefined, is_leaf_type, is_non_null_type
from graphql.pyutils import Path, gather_with_cancel, is_iterable
from strawberry.types.unset import UNSET

# Directives a field node may carry and still be plain: they are applied when the
# selection is collected, before completion. @stream, @defer and anything custom
# keep the general path.
PLAIN_DIRECTIVES = frozenset({"include", "skip"})

Complete = Callable[[Any], Any]
Plan = Callable[[Any], dict[str, Any]]
# Resolved plans: a step completes one object's fields or one field, at a path,
# and may return an awaitable; a resolved completer also gets the field's path.
Step = Callable[[Any, Path], Any]
Resolved = Callable[[Any, Path, Path], Any]


class SharedRecords(list[Any]):
    """Plain records that many requests read as they are (a cached view's property
    values). The list keeps its completed form per selection, so the next request
    with the same selection gets it without walking the records; that is only
    correct while neither the list nor its records change, so build a new one
    instead of changing it."""

    __slots__ = ("completed",)

    # Distinct selections remembered per list; more are rare (one per query text).
    MAX_SELECTIONS = 8

    def __init__(self, records: Any = ()) -> None:
        super().__init__(records)
        self.completed: dict[tuple[int, Plan], list[Any]] = {}


class NotPlain(Exception):
    """This value needs graphql-core's general completion."""


def leaf(coerce: Callable[[Any], Any]) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise NotPlain
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise NotPlain
        return coerced

    return complete


def non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotPlain
        return completed

    return complete


def list_of(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):
            raise NotPlain
        return [inner(item) for item in value]

    return complete


def object_of(plan: Plan) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise NotPlain
        return plan(value)

    return complete


def constant(value: str) -> Callable[[Any], str]:
    return lambda _source: value


def run_steps(steps: list[tuple[str, Callable[[Any], Any], Complete]]) -> Plan:
    def plan(source: Any) -> dict[str, Any]:
        return {key: complete(read(source)) for key, read, complete in steps}

    return plan


class FieldCall(NamedTuple):
    """How strawberry produces a field's value when the query gives no arguments."""

    call: Callable[..., Any]  # call(source), plus info=... when ``info`` names it
    info: str | None  # the resolver's info parameter, if it has one
    definition: Any  # the strawberry field, for strawberry's Info


# Argument defaults a resolver may keep when the query gives no arguments:
# graphql-core would pass the same value through strawberry unchanged.
SIMPLE_DEFAULTS = (type(None), bool, int, float, str)

# Per field definition (kept alive with its entry): its FieldCall, or None.
# Fields are few and live as long as the schema.
_calls: dict[int, tuple[Any, FieldCall | None]] = {}


def field_call(schema: Any, field_def: Any) -> FieldCall | None:
    """The attribute read of a resolver-less strawberry field, or a plain sync
    method on the source (taking strawberry's Info or not; every argument with a
    plain default): what strawberry's resolver wrapper would end up calling. None
    when strawberry does more (permissions, extensions, exception handlers,
    arguments to convert)."""
    entry = _calls.get(id(field_def))
    if entry is None:
        entry = _calls[id(field_def)] = (field_def, _field_call(schema, field_def))
    return entry[1]


def _field_call(schema: Any, field_def: Any) -> FieldCall | None:
    definition = field_def.extensions.get("strawberry-definition")
    if definition is None:
        return None
    if getattr(field_def.resolve, "_is_default", False):
        read = reader(field_def)
        return FieldCall(read, None, definition) if read is not None else None
    resolver = definition.base_resolver
    converter = getattr(getattr(schema, "_strawberry_schema", None), "schema_converter", None)
    if (
        resolver is None
        or resolver.is_async
        or definition.permission_classes
        or definition.extensions
        or converter is None
        or getattr(converter, "_exception_handler_specs", True)
        or resolver.self_parameter is None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or any(
            a.default is UNSET or not isinstance(a.default, SIMPLE_DEFAULTS)
            for a in resolver.arguments
        )
    ):
        return None
    info = resolver.info_parameter
    return FieldCall(resolver.wrapped_func, info.name if info is not None else None, definition)


def _direct_field(schema: Any, field_def: Any) -> tuple[Callable[[Any], Any], Complete] | None:
    found = field_call(schema, field_def)
    return_type = field_def.type
    named = return_type.of_type if is_non_null_type(return_type) else return_type
    if found is None or found.info is not None or not is_leaf_type(named):
        return None
    complete = leaf(named.coerce_output_value)
    if is_non_null_type(return_type):
        complete = non_null(complete)
    return found.call, complete


# Per field definition: _direct_field's answer, kept like _calls.
_direct: dict[int, tuple[Any, tuple[Callable[[Any], Any], Complete] | None]] = {}


def direct_field(schema: Any, field_def: Any) -> tuple[Callable[[Any], Any], Complete] | None:
    """(call, complete) for a field resolved by reading an attribute or calling a
    plain method without ``info``, returning a scalar or enum; None otherwise."""
    entry = _direct.get(id(field_def))
    if entry is None:
        entry = _direct[id(field_def)] = (field_def, _direct_field(schema, field_def))
    return entry[1]


PLAIN_LISTS = (list, tuple, SharedRecords)


async def gathered(results: Any, pending: list[Any]) -> Any:
    """``results`` (a dict or list) with its awaitable entries awaited, as
    graphql-core gathers an object's fields or a list's items."""
    if len(pending) == 1:
        results[pending[0]] = await results[pending[0]]
    else:
        values = await gather_with_cancel(*(results[key] for key in pending))
        for key, value in zip(pending, values, strict=True):
            results[key] = value
    return results


def typename_step(name: str) -> Step:
    return lambda _source, _path: name


def other_directives(field_details_list: Any) -> bool:
    """Whether a field carries a directive besides @include/@skip (@stream,
    @defer, anything custom): such fields keep graphql-core's general path."""
    return any(
        d.name.value not in PLAIN_DIRECTIVES
        for details in field_details_list
        for d in details.node.directives or ()
    )


def identity(value: Any) -> Any:
    return value


def reader(field_def: Any) -> Callable[[Any], Any] | None:
    """How to read a resolver-less strawberry field: the attribute itself when the
    schema uses strawberry's default resolver (``getattr``), else that resolver."""
    definition = field_def.extensions.get("strawberry-definition")
    if definition is None:
        return None
    name = definition.python_name
    if definition.default_resolver is getattr and name:
        return attrgetter(name)
    resolve = field_def.resolve
    return lambda source: resolve(source, None)
