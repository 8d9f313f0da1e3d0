"""The GraphQL schema: composed from the areas, with limits and error masking."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

from graphtwin.api.assets.mutations import AssetMutation
from graphtwin.api.assets.queries import AssetQuery
from graphtwin.api.ontology.queries import OntologyQuery
from graphtwin.errors import TwinError


@strawberry.type
class Query(AssetQuery, OntologyQuery):
    pass


@strawberry.type
class Mutation(AssetMutation):
    pass


def _is_unexpected(error: GraphQLError) -> bool:
    # Expected failures keep their message; everything else (driver errors, bugs)
    # is masked so no Cypher, host or stack trace reaches a client.
    original = error.original_error
    return original is not None and not isinstance(original, TwinError)


def build_schema(*, max_depth: int, max_aliases: int, max_tokens: int) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            QueryDepthLimiter(max_depth=max_depth),
            MaxAliasesLimiter(max_alias_count=max_aliases),
            MaxTokensLimiter(max_token_count=max_tokens),
            MaskErrors(should_mask_error=_is_unexpected, error_message="Internal server error"),
        ],
    )
