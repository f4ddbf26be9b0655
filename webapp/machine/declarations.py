"""What a machine view declares next to itself: the scopes it needs, its OpenAPI operation, its
body limit. The blueprint enforces the first and the last; the OpenAPI document is built from all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pydantic import BaseModel


@dataclass(frozen=True)
class Reply:
    """One documented answer: a description, and the model of its body (None: no JSON body)."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Head:
    """The HEAD variant of a GET view: same checks, no body."""

    summary: str
    operation_id: str
    ok: str = "It exists"


@dataclass(frozen=True)
class Operation:
    summary: str
    operation_id: str
    path: type[BaseModel] | None = None  # path parameters
    query: type[BaseModel] | None = None  # query parameters
    body: type[BaseModel] | None = None  # JSON request body
    form: type[BaseModel] | None = None  # multipart/form-data request body (uploads)
    responses: dict[int, Reply] = field(default_factory=dict)  # successful answers
    errors: dict[int, str] = field(default_factory=dict)  # status -> the spec codes it may carry, and why
    head: Head | None = None
    tags: tuple[str, ...] = ()  # default: the family's title
    # other families whose envelope the view may answer in (use_family), besides its blueprint's
    also_families: tuple = ()
    # view args -> the one-row lookup the view will make, sent together with the credential's
    prefetch: Callable[[dict], tuple] | None = None


@dataclass
class Declaration:
    scopes: frozenset[str] | None = None  # None: never declared (refused at registration)
    operation: Operation | None = None
    max_content_length: int | None = None


def declaration(view) -> Declaration:
    found = getattr(view, "__machine__", None)
    if found is None:
        found = view.__machine__ = Declaration()
    return found


def requires(*scopes: str):
    """The scopes a caller's credential must carry for this view; `requires()` means any caller the
    blueprint authenticates."""

    def decorate(view):
        declaration(view).scopes = frozenset(scopes)
        return view

    return decorate


def operation(summary: str, operation_id: str, **details):
    """This view's OpenAPI operation (webapp/machine/openapi.py builds the document from these)."""

    def decorate(view):
        declaration(view).operation = Operation(summary, operation_id, **details)
        return view

    return decorate


def body_limit(max_bytes: int):
    """Accept request bodies up to `max_bytes` on this view (the app-wide MAX_CONTENT_LENGTH otherwise)."""

    def decorate(view):
        declaration(view).max_content_length = max_bytes
        return view

    return decorate
