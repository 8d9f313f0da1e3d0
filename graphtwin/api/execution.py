"""GraphQL execution with fast paths for plain records and plain scalars.

graphql-core completes every field of every object through the same general
machinery (resolve info, path, awaitable checks, per-field error handling): about
ten function calls a field, more with strawberry's resolver wrapper. Most of a
twin's response is leaves of plain records (a property value's name, value,
datatype and unit) and scalars read off an asset (its IRI, its label), so a nested
query over a plant spends nearly all its time there. Three shortcuts, each
falling back to graphql-core whenever it does not apply:

- An object whose selected fields are all *plain* (strawberry fields without a
  resolver, arguments or extensions, holding scalars, enums or further plain
  objects, or lists of them) is completed by reading the attributes and coercing
  the leaves, with a plan built once per selection; requests of one query text
  without directives share the plans. Anything unexpected on the way (an
  exception, a null where the schema forbids it, an awaitable, an uncoercible
  leaf) abandons the fast path for that object, and graphql-core completes it
  again from the start, so errors, their paths and null propagation stay exactly
  graphql-core's. Reading a plain field has no side effects, so doing it twice is
  harmless.
- A ``SharedRecords`` list (a cached view's property values) keeps its completed
  form per shared plan.
- A scalar field that strawberry resolves by calling a plain sync method (no
  ``info``, no arguments given) is called and coerced directly; an error it
  raises is reported by graphql-core's own handler, and a value that does not
  coerce is completed by graphql-core (the method is not called again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.unset import UNSET

# Directives a field node may carry and still be plain: they are applied when the
# selection is collected, before completion. @stream, @defer and anything custom
# keep the general path.
_PLAIN_DIRECTIVES = frozenset({"include", "skip"})

Complete = Callable[[Any], Any]
Plan = Callable[[Any], dict[str, Any]]

# Plans shared by requests, for documents without directives: then a plan depends
# only on the field nodes (the parser cache hands every request of one query text
# the same nodes) and the schema, not on variables. The key holds node ids, so the
# value keeps the nodes alive: an id is not reused while its entry exists.
SHARED_PLANS = 1024
_shared: OrderedDict[tuple[GraphQLObjectType, tuple[int, ...]], tuple[Any, Plan | None]] = (
    OrderedDict()
)


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


def _leaf(coerce: Callable[[Any], Any]) -> Complete:
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


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise NotPlain
        return completed

    return complete


def _list(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):
            raise NotPlain
        return [inner(item) for item in value]

    return complete


def _object(plan: Plan) -> Complete:
    def complete(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise NotPlain
        return plan(value)

    return complete


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _source: value


def _run(steps: list[tuple[str, Callable[[Any], Any], Complete]]) -> Plan:
    def plan(source: Any) -> dict[str, Any]:
        return {key: complete(read(source)) for key, read, complete in steps}

    return plan


# Per field definition (kept alive with its entry): how to resolve and complete it
# directly, or None. Fields are few and live as long as the schema.
_direct: dict[int, tuple[Any, tuple[Callable[[Any], Any], Complete] | None]] = {}


def _direct_field(schema: Any, field_def: Any) -> tuple[Callable[[Any], Any], Complete] | None:
    """(call, complete) for a field strawberry would resolve by calling a plain
    sync method on the source and that returns a scalar or enum: no ``info``,
    no arguments without a default, no permissions, extensions or exception
    handlers. None for any other field."""
    definition = field_def.extensions.get("strawberry-definition")
    return_type = field_def.type
    named = return_type.of_type if is_non_null_type(return_type) else return_type
    if definition is None or not is_leaf_type(named):
        return None
    complete = _leaf(named.coerce_output_value)
    if is_non_null_type(return_type):
        complete = _non_null(complete)
    if getattr(field_def.resolve, "_is_default", False):
        read = _reader(field_def)
        return (read, complete) if read is not None else None
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
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or any(a.default is UNSET for a in resolver.arguments)
    ):
        return None
    return resolver.wrapped_func, complete


class TwinExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, completing plain objects directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (type, id(field details)) -> (the details kept alive, plan or None);
        # keyed like graphql-core's own memo of collected subfields.
        self._plain_plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        # A scalar from a plain method (an asset's iri, its label), asked without
        # arguments: called and coerced here, errors handled as graphql-core does.
        found = self._direct_resolution(parent_type, field_details_list[0].node)
        if found is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        field_def, direct = found
        call, complete = direct
        try:
            result = call(source)
        except Exception as error:  # noqa: BLE001 - reported like graphql-core does
            self.handle_field_error(error, field_def.type, field_details_list, path)
            return None
        if not self.is_awaitable(result):
            try:
                return complete(result)
            except Exception:  # noqa: BLE001 - graphql-core completes it, with its errors
                pass
        try:
            info = self.build_resolve_info(
                field_def, [d.node for d in field_details_list], parent_type, path
            )
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    field_def.type, field_details_list, info, path, result, position_context
                )
            return self.complete_value(
                field_def.type, field_details_list, info, path, result, position_context
            )
        except Exception as error:  # noqa: BLE001 - reported like graphql-core does
            self.handle_field_error(error, field_def.type, field_details_list, path)
            return None

    def _direct_resolution(
        self, parent_type: GraphQLObjectType, node: Any
    ) -> tuple[Any, tuple[Callable[[Any], Any], Complete]] | None:
        """(field definition, (call, complete)) when the field can be resolved directly."""
        manager = self.middleware_manager
        if node.arguments or (manager is not None and manager.middlewares):
            return None
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None:
            return None
        entry = _direct.get(id(field_def))
        if entry is None:
            entry = _direct[id(field_def)] = (field_def, _direct_field(self.schema, field_def))
        return (field_def, entry[1]) if entry[1] is not None else None

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plain_plan(return_type, field_details_list)
        if plan is not None:
            try:
                return plan(result)
            except Exception:  # noqa: BLE001 - the general path reports it
                pass
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[Any],
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        # Only a list or tuple: the general path may have to walk it again.
        kind = type(result)
        if kind in _PLAIN_LISTS and not _streamed(field_details_list):
            if kind is SharedRecords:
                done = self._completed(return_type, field_details_list, result)
                if done is not None:
                    return done
            complete = self._completer(return_type, field_details_list)
            if complete is not None:
                try:
                    return complete(result)
                except Exception:  # noqa: BLE001 - the general path reports it
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _completed(
        self, return_type: GraphQLList[Any], field_details_list: Any, records: SharedRecords
    ) -> list[Any] | None:
        """The records' completed form for this selection, kept on them; only for
        plans shared by requests (a plan built per request would never match)."""
        item_type = return_type.of_type
        if is_non_null_type(item_type):
            item_type = item_type.of_type
        if not is_object_type(item_type) or not self._directive_free():
            return None
        plan = self._plain_plan(item_type, field_details_list)
        if plan is None:
            return None
        key = (id(return_type), plan)
        done = records.completed.get(key)
        if done is None:
            complete = self._completer(return_type, field_details_list)
            if complete is None:
                return None
            try:
                done = complete(records)
            except Exception:  # noqa: BLE001 - the general path reports it
                return None
            if len(records.completed) >= SharedRecords.MAX_SELECTIONS:
                records.completed.clear()
            records.completed[key] = done
        return done

    def _plain_plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        key = (return_type, id(field_details_list))
        cached = self._plain_plans.get(key)
        if cached is not None:
            return cached[1]
        if self._directive_free():
            nodes = tuple(d.node for d in field_details_list)
            shared_key = (return_type, tuple(map(id, nodes)))
            shared = _shared.get(shared_key)
            if shared is None:
                shared = (nodes, self._build_plan(return_type, field_details_list))
                _shared[shared_key] = shared
                if len(_shared) > SHARED_PLANS:
                    _shared.popitem(last=False)
            plan = shared[1]
        else:
            plan = self._build_plan(return_type, field_details_list)
        self._plain_plans[key] = (field_details_list, plan)
        return plan

    def _directive_free(self) -> bool:
        # The query text, when the parser kept it: no "@" means no @include/@skip
        # whose variables could change what a selection collects. (An "@" inside
        # a string literal only costs the sharing.)
        loc = self.operation.loc
        return loc is not None and "@" not in loc.source.body

    def _build_plan(self, return_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        # Middleware (a schema extension with a ``resolve`` hook) must see every
        # field; strawberry passes a manager always, empty when there is none.
        manager = self.middleware_manager
        if (manager is not None and manager.middlewares) or return_type.is_type_of is not None:
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            return_type, field_details_list
        )
        if new_defer_usages:
            return None
        steps: list[tuple[str, Callable[[Any], Any], Complete]] = []
        for response_name, details in grouped_field_set.items():
            nodes = [d.node for d in details]
            if any(
                d.name.value not in _PLAIN_DIRECTIVES for n in nodes for d in n.directives or ()
            ):
                return None
            name = nodes[0].name.value
            if name == "__typename":
                steps.append((response_name, _constant(return_type.name), _identity))
                continue
            field_def = self.schema.get_field(return_type, name)
            if field_def is None:
                continue  # graphql-core leaves unknown fields out as well
            if field_def.args or not getattr(field_def.resolve, "_is_default", False):
                return None
            read = _reader(field_def)
            complete = self._completer(field_def.type, details)
            if read is None or complete is None:
                return None
            steps.append((response_name, read, complete))
        return _run(steps)

    def _completer(self, type_: GraphQLOutputType, details: Any) -> Complete | None:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            inner = self._completer(type_.of_type, details)
            return _non_null(inner) if inner is not None else None
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            inner = self._completer(type_.of_type, details)
            return _list(inner) if inner is not None else None
        if is_leaf_type(type_):
            return _leaf(type_.coerce_output_value)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            plan = self._plain_plan(type_, details)
            return _object(plan) if plan is not None else None
        return None  # interfaces and unions: their runtime type is resolved


_PLAIN_LISTS = (list, tuple, SharedRecords)


def _streamed(field_details_list: Any) -> bool:
    return any(
        d.name.value not in _PLAIN_DIRECTIVES
        for details in field_details_list
        for d in details.node.directives or ()
    )


def _identity(value: Any) -> Any:
    return value


def _reader(field_def: Any) -> Callable[[Any], Any] | None:
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
