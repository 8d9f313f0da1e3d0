"""The GraphQL schema: composed from the areas, with limits and error masking."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from graphtwin.api.aas.mutations import AasMutation
from graphtwin.api.aas.queries import AasQuery
from graphtwin.api.assets.mutations import AssetMutation
from graphtwin.api.assets.queries import AssetQuery
from graphtwin.api.execution import TwinExecutionContext
from graphtwin.api.live.mutations import LiveMutation
from graphtwin.api.live.queries import LiveQuery
from graphtwin.api.live.subscriptions import LiveSubscription
from graphtwin.api.ontology.queries import OntologyQuery
from graphtwin.api.sim.mutations import SimulationMutation
from graphtwin.api.sim.queries import SimulationQuery
from graphtwin.errors import TwinError

log = logging.getLogger(__name__)


@strawberry.type
class Query(AssetQuery, OntologyQuery, LiveQuery, AasQuery, SimulationQuery):
    pass


@strawberry.type
class Mutation(AssetMutation, LiveMutation, AasMutation, SimulationMutation):
    pass


@strawberry.type
class Subscription(LiveSubscription):
    pass


def _is_unexpected(error: GraphQLError) -> bool:
    # Expected failures keep their message; everything else (driver errors, bugs)
    # is masked so no Cypher, host or stack trace reaches a client.
    original = error.original_error
    return original is not None and not isinstance(original, TwinError)


class ExpectedErrorCodes(SchemaExtension):
    """An expected failure raised by a query resolver (a ``TwinError``) carries its
    machine-readable code in ``extensions.code``, as mutation results do in ``code``,
    and the argument at fault, when known, in ``extensions.field``."""

    def on_operation(self) -> Iterator[None]:
        yield
        for error in getattr(self.execution_context.result, "errors", None) or ():
            original = error.original_error
            if isinstance(original, TwinError):
                extensions = {**(error.extensions or {}), "code": original.code}
                if original.path:
                    # The argument at fault (error.path is the response field).
                    extensions["field"] = list(original.path)
                error.extensions = extensions


# Distinct query texts whose parse and validation results are kept; bounded so
# unique queries cannot grow memory without limit.
QUERY_CACHE_SIZE = 256


class TwinSchema(strawberry.Schema):
    """Logs unexpected errors with their traceback; expected ones (a ``TwinError``,
    a query the limits refuse) are the client's business and only logged at INFO."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [e for e in errors if _is_unexpected(e)]
        for error in errors:
            if error not in unexpected:
                log.info("GraphQL request refused: %s", error.message)
        super().process_errors(unexpected, execution_context)


def build_schema(*, max_depth: int, max_aliases: int, max_tokens: int) -> strawberry.Schema:
    # The limit rules are built once: the validation cache is keyed by the rule
    # classes, and per-request limiter instances would mint new ones every time.
    limit_rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return TwinSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=TwinExecutionContext,
        # Factories, not instances: an extension keeps per-operation state, so
        # each request gets its own (strawberry deprecates shared instances).
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            lambda: ParserCache(maxsize=QUERY_CACHE_SIZE),
            lambda: AddValidationRules(limit_rules),
            lambda: ValidationCache(maxsize=QUERY_CACHE_SIZE),
            ExpectedErrorCodes,
            lambda: MaskErrors(
                should_mask_error=_is_unexpected, error_message="Internal server error"
            ),
        ],
    )
