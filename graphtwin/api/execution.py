"""GraphQL execution with fast paths for plain records, plain scalars and
objects whose resolvers are plain methods.

graphql-core completes every field of every object through the same general
machinery (resolve info, path, awaitable checks, per-field error handling): about
ten function calls a field, more with strawberry's resolver wrapper (argument
conversion, extensions, its Info). A nested query over a plant completes
thousands of assets that way. Four shortcuts, each falling back to graphql-core
whenever it does not apply:

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
- Any other object of a query (an asset: its parts, its properties) is completed
  by a *resolved plan*: graphql-core's ``execute_fields`` / ``execute_field`` /
  ``complete_value`` unrolled into closures over the selection, built once per
  selection and request when the request completes that selection a second time
  (for one object a plan costs more than it saves). A plan calls each plain
  sync method (with strawberry's Info when it takes one) the way strawberry's
  wrapper would, without the wrapper. Errors are handled where graphql-core
  handles them (every field and list item), awaitables are handed to
  graphql-core's own completion and gathered as it gathers them, so no resolver
  runs twice; fields with arguments, async resolvers, abstract types and
  anything strawberry wraps further go through graphql-core's ``execute_field``
  inside the plan. Mutations and subscriptions keep the general path.

The closures and field readers these plans are made of are in ``completion``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationType,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphtwin.api.completion import (
    PLAIN_LISTS,
    Complete,
    FieldCall,
    Plan,
    Resolved,
    SharedRecords,
    Step,
    constant,
    direct_field,
    field_call,
    gathered,
    identity,
    leaf,
    list_of,
    non_null,
    object_of,
    other_directives,
    reader,
    run_steps,
    typename_step,
)

# Plans shared by requests, for documents without directives: then a plan depends
# only on the field nodes (the parser cache hands every request of one query text
# the same nodes) and the schema, not on variables. The key holds node ids, so the
# value keeps the nodes alive: an id is not reused while its entry exists.
SHARED_PLANS = 1024
_shared: OrderedDict[tuple[GraphQLObjectType, tuple[int, ...]], tuple[Any, Plan | None]] = (
    OrderedDict()
)


class TwinExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context with the shortcuts described above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (type, id(field details)) -> (the details kept alive, plan or None);
        # keyed like graphql-core's own memo of collected subfields.
        self._plain_plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Plan | None]] = {}
        # The same for resolved plans, which call resolvers and so belong to this
        # request (they build its resolve infos).
        self._resolved_plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Step | None]] = {}
        self._seen_once: dict[tuple[GraphQLObjectType, int], Any] = {}

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
        direct = direct_field(self.schema, field_def)
        return (field_def, direct) if direct is not None else None

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
        elif position_context is None:
            resolved = self._repeated_plan(return_type, field_details_list)
            if resolved is not None:
                return resolved(result, path)
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
        if kind in PLAIN_LISTS and not other_directives(field_details_list):
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

    def get_stream_usage(self, field_details_list: Any, path: Any) -> Any:
        # graphql-core reads the first node's @stream directive (validation makes
        # the others equal) for every list it completes, and only remembers lists
        # that stream; a node without directives cannot stream.
        if not field_details_list[0].node.directives:
            return None
        return super().get_stream_usage(field_details_list, path)

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
            if other_directives(details):
                return None
            name = nodes[0].name.value
            if name == "__typename":
                steps.append((response_name, constant(return_type.name), identity))
                continue
            field_def = self.schema.get_field(return_type, name)
            if field_def is None:
                continue  # graphql-core leaves unknown fields out as well
            if field_def.args or not getattr(field_def.resolve, "_is_default", False):
                return None
            read = reader(field_def)
            complete = self._completer(field_def.type, details)
            if read is None or complete is None:
                return None
            steps.append((response_name, read, complete))
        return run_steps(steps)

    # -- resolved plans: objects with resolvers, executed as graphql-core would ----------

    def _repeated_plan(
        self, return_type: GraphQLObjectType, field_details_list: Any
    ) -> Step | None:
        """The resolved plan of a selection this request completes a second time.
        Building a plan costs more than completing one object the general way
        (``asset(iri)`` completes one asset), so the first object of a selection
        goes through graphql-core."""
        key = (return_type, id(field_details_list))
        cached = self._resolved_plans.get(key)
        if cached is not None:
            return cached[1]
        if key not in self._seen_once:
            self._seen_once[key] = field_details_list  # kept alive: its id is in the key
            return None
        return self._resolved_plan(return_type, field_details_list)

    def _resolved_plan(
        self, return_type: GraphQLObjectType, field_details_list: Any
    ) -> Step | None:
        key = (return_type, id(field_details_list))
        cached = self._resolved_plans.get(key)
        if cached is None:
            # Building it builds the plans of the selections below it first (a
            # selection cannot contain itself, so this ends).
            plan = self._build_resolved_plan(return_type, field_details_list)
            cached = self._resolved_plans[key] = (field_details_list, plan)
        return cached[1]

    def _build_resolved_plan(
        self, return_type: GraphQLObjectType, field_details_list: Any
    ) -> Step | None:
        manager = self.middleware_manager
        if (
            (manager is not None and manager.middlewares)
            or return_type.is_type_of is not None
            or self.operation.operation is not OperationType.QUERY
        ):
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            return_type, field_details_list
        )
        if new_defer_usages:
            return None
        steps: list[tuple[str, Step]] = []
        for response_name, details in grouped_field_set.items():
            nodes = [d.node for d in details]
            if other_directives(details):
                return None
            name = nodes[0].name.value
            if name == "__typename":
                steps.append((response_name, typename_step(return_type.name)))
                continue
            field_def = self.schema.get_field(return_type, name)
            if field_def is None:
                continue  # graphql-core leaves unknown fields out as well
            call = None if nodes[0].arguments else field_call(self.schema, field_def)
            step = (
                self._call_step(return_type, response_name, field_def, details, call)
                if call is not None
                else self._general_step(return_type, response_name, details)
            )
            steps.append((response_name, step))
        return self._fields_step(steps)

    def _fields_step(self, steps: list[tuple[str, Step]]) -> Step:
        """graphql-core's execute_fields over precomputed steps."""
        is_awaitable = self.is_awaitable

        def plan(source: Any, path: Path) -> Any:
            results: dict[str, Any] = {}
            pending: list[str] = []
            try:
                for response_name, step in steps:
                    value = results[response_name] = step(source, path)
                    if is_awaitable(value):
                        pending.append(response_name)
            except Exception:
                if pending:
                    self.settle_in_background([results[name] for name in pending])
                raise
            return gathered(results, pending) if pending else results

        return plan

    def _general_step(
        self, parent_type: GraphQLObjectType, response_name: str, details: Any
    ) -> Step:
        """A field graphql-core executes (arguments, resolvers strawberry wraps)."""
        parent_name = parent_type.name

        def step(source: Any, path: Path) -> Any:
            field_path = Path(path, response_name, parent_name)
            return self.execute_field(parent_type, source, details, field_path, None)

        return step

    def _call_step(
        self,
        parent_type: GraphQLObjectType,
        response_name: str,
        field_def: Any,
        details: Any,
        found: FieldCall,
    ) -> Step:
        """graphql-core's execute_field, calling what strawberry would call."""
        is_awaitable = self.is_awaitable
        return_type = field_def.type
        nodes = [d.node for d in details]
        parent_name = parent_type.name
        complete = self._resolved_completer(return_type, parent_type, field_def, details)
        call, info_name, definition = found
        # strawberry's Info, for resolvers that take one (only strawberry's
        # schemas have resolvers field_call describes as taking it).
        info_class: Any = self._strawberry_info_class() if info_name is not None else None

        def step(source: Any, path: Path) -> Any:
            field_path = Path(path, response_name, parent_name)
            try:
                if info_name is None:
                    result = call(source)
                else:
                    info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
                    result = call(
                        source, **{info_name: info_class(_raw_info=info, _field=definition)}
                    )
                if is_awaitable(result):
                    info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
                    return self.complete_awaitable_value(
                        return_type, details, info, field_path, result, None
                    )
                completed = complete(result, field_path, field_path)
                if is_awaitable(completed):
                    return self._settled(completed, return_type, details, field_path)
                return completed
            except Exception as error:  # noqa: BLE001 - reported like graphql-core does
                self.handle_field_error(error, return_type, details, field_path)
                return None

        return step

    def _strawberry_info_class(self) -> Any:
        return self.schema._strawberry_schema.config.info_class  # type: ignore[attr-defined]

    def _resolved_completer(
        self,
        type_: GraphQLOutputType,
        parent_type: GraphQLObjectType,
        field_def: Any,
        details: Any,
    ) -> Resolved:
        """graphql-core's complete_value for one field's type, as a closure of
        (value, path, field path); anything it does not shortcut is graphql-core's."""
        nodes = [d.node for d in details]

        def general(value: Any, path: Path, field_path: Path) -> Any:
            info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
            return self.complete_value(type_, details, info, path, value, None)

        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            inner = self._resolved_completer(type_.of_type, parent_type, field_def, details)
            message = (
                f"Cannot return null for non-nullable field {parent_type}.{nodes[0].name.value}."
            )

            def non_null(value: Any, path: Path, field_path: Path) -> Any:
                completed = inner(value, path, field_path)
                if completed is None:
                    raise TypeError(message)
                return completed

            return non_null
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            return self._resolved_list(type_, parent_type, field_def, details, general)
        if is_leaf_type(type_):
            leaf = self.complete_leaf_value

            def complete_leaf(value: Any, path: Path, field_path: Path) -> Any:
                if isinstance(value, Exception):
                    raise value
                if value is None or value is Undefined:
                    return None
                return leaf(type_, value)

            return complete_leaf
        if not is_object_type(type_):
            return general  # interfaces and unions: their runtime type is resolved
        assert isinstance(type_, GraphQLObjectType)
        plain = self._plain_plan(type_, details)
        resolved = None if plain is not None else self._resolved_plan(type_, details)
        if plain is None and resolved is None:
            return general

        def complete_object(value: Any, path: Path, field_path: Path) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            if resolved is not None:
                return resolved(value, path)
            try:
                return plain(value)  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - the general path reports it
                return general(value, path, field_path)

        return complete_object

    def _resolved_list(
        self,
        type_: GraphQLList[Any],
        parent_type: GraphQLObjectType,
        field_def: Any,
        details: Any,
        general: Resolved,
    ) -> Resolved:
        """graphql-core's complete_list_value for a list or tuple."""
        is_awaitable = self.is_awaitable
        item_type = type_.of_type
        plain = self._completer(type_, details)
        item = (
            self._resolved_completer(item_type, parent_type, field_def, details)
            if plain is None
            else None
        )
        nodes = [d.node for d in details]

        def complete_list(value: Any, path: Path, field_path: Path) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            kind = type(value)
            if kind not in PLAIN_LISTS:
                return general(value, path, field_path)
            if item is None:
                if kind is SharedRecords:
                    done = self._completed(type_, details, value)
                    if done is not None:
                        return done
                try:
                    return plain(value)  # type: ignore[misc]
                except Exception:  # noqa: BLE001 - the general path reports it
                    return general(value, path, field_path)
            completed: list[Any] = []
            pending: list[int] = []
            try:
                for index, entry in enumerate(value):
                    item_path = path.add_key(index, None)
                    if is_awaitable(entry):
                        info = self.build_resolve_info(field_def, nodes, parent_type, field_path)
                        completed.append(
                            self.complete_awaitable_list_item_value(
                                entry, item_type, details, info, item_path, None
                            )
                        )
                        pending.append(index)
                        continue
                    try:
                        result = item(entry, item_path, field_path)
                        if is_awaitable(result):
                            result = self._settled(result, item_type, details, item_path)
                            pending.append(index)
                    except Exception as error:  # noqa: BLE001 - reported like graphql-core
                        self.handle_field_error(error, item_type, details, item_path)
                        result = None
                    completed.append(result)
            except Exception:
                if pending:
                    self.settle_in_background([completed[i] for i in pending])
                raise
            return gathered(completed, pending) if pending else completed

        return complete_list

    async def _settled(
        self, completed: Awaitable[Any], return_type: GraphQLOutputType, details: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as error:  # noqa: BLE001 - reported like graphql-core does
            self.handle_field_error(error, return_type, details, path)
            return None

    def _completer(self, type_: GraphQLOutputType, details: Any) -> Complete | None:
        if is_non_null_type(type_):
            assert isinstance(type_, GraphQLNonNull)
            inner = self._completer(type_.of_type, details)
            return non_null(inner) if inner is not None else None
        if is_list_type(type_):
            assert isinstance(type_, GraphQLList)
            inner = self._completer(type_.of_type, details)
            return list_of(inner) if inner is not None else None
        if is_leaf_type(type_):
            return leaf(type_.coerce_output_value)
        if is_object_type(type_):
            assert isinstance(type_, GraphQLObjectType)
            plan = self._plain_plan(type_, details)
            return object_of(plan) if plan is not None else None
        return None  # interfaces and unions: their runtime type is resolved
