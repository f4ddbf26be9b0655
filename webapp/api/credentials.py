"""The credentials the API families accept, bound to the feature that checks them."""

from webapp.access_tokens import service as jwt_tokens
from webapp.machine.credentials import ApiKeyHeader, BearerToken
from webapp.tokens import service as tokens

# Spec 000 (and 002): agents' service tokens; a person's personal token reads only its owner.
AGENT_TOKEN = BearerToken(tokens.authenticate, "service", "personal", lookup=tokens.lookup_query)
# Spec 001's website widget: a tenant key in X-API-Key.
WIDGET_KEY = ApiKeyHeader("X-API-Key", tokens.authenticate, "widget")
# Spec 003's code review: an approved usage key in x-api-key (headers are case-insensitive).
USAGE_KEY = ApiKeyHeader("x-api-key", tokens.authenticate, "usage")


def _token_or_jwt(raw: str, kinds: frozenset):
    """A service or personal token (adk_...), else a signed-in person's JWT access token."""
    return tokens.authenticate(raw, kinds) if raw.startswith("adk_") else jwt_tokens.authenticate(raw)


# Specs 001, 002 and 004: a person's JWT (POST /api/v1/auth/login); agents' service tokens work
# wherever a JWT does.
PERSON_OR_AGENT = BearerToken(_token_or_jwt, "service", "personal", lookup=tokens.lookup_query)
