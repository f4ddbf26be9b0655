"""Query strings and JSON bodies validated by the same pydantic models the OpenAPI document shows;
a failure is a 400 with the family's code for malformed input and a list of what is wrong."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel, ValidationError

from webapp.errors import BadRequest
from webapp.machine.blueprint import family

Model = TypeVar("Model", bound=BaseModel)
MAX_PROBLEMS = 20


def problems(error: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in error.errors()[:MAX_PROBLEMS]]


def _invalid(message: str, error: ValidationError) -> BadRequest:
    answering = family()
    return BadRequest(message, code=answering.invalid_request_code, status=answering.validation_status,
                      details={"errors": problems(error)})


NUL_MESSAGE = "Text may not contain NUL characters (\\u0000)."


def text_with_nul(value, path: str = "") -> str | None:
    """The first declared text field of a parsed model holding a NUL (PostgreSQL refuses them in
    text columns), by its path; free-form JSON objects (a log line's metadata) are stored as JSON
    and may hold anything."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found = text_with_nul(getattr(value, name), f"{path}.{name}" if path else name)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = text_with_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _refuse_nul(parsed: BaseModel, message: str = "") -> None:
    field = text_with_nul(parsed)
    if field:
        field = field.removeprefix("root.")  # a RootModel's one field is the body itself
        answering = family()
        raise BadRequest(f"{NUL_MESSAGE} {message}".strip(), code=answering.invalid_request_code,
                         status=answering.validation_status,
                         details={"errors": [{"field": field, "message": NUL_MESSAGE}]})


_NO_QUERY: dict[type, BaseModel] = {}


def parse_query(model: type[Model]) -> Model:
    """The query string as `model`; empty values mean "use the default", unknown names are ignored.
    Without a query string (an agent's usual call) the defaults, validated once: views only read it."""
    defaults_only = not request.query_string
    if defaults_only and model in _NO_QUERY:
        return _NO_QUERY[model]
    try:
        parsed = model.model_validate({k: v for k, v in request.args.items() if v != ""})
    except ValidationError as error:
        names = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]}))
        raise _invalid(f"Check the query parameters: {names}.", error) from None
    _refuse_nul(parsed)
    if defaults_only:
        _NO_QUERY[model] = parsed
    return parsed


def parse_body(model: type[Model], message: str) -> Model:
    """The JSON body as `model`; `message` tells the caller what a valid body looks like."""
    body = request.get_json(silent=True)
    if body is None:
        answering = family()
        raise BadRequest(f"Send a JSON body. {message}",
                         code=answering.malformed_code or answering.invalid_request_code)
    try:
        parsed = model.model_validate(body)
    except ValidationError as error:
        raise _invalid(f"The request body failed validation. {message}", error) from None
    _refuse_nul(parsed, message)
    return parsed


def asked_language(otherwise: str | None = None) -> str:
    """The caller's Accept-Language among the app's languages, else `otherwise` (what the caller
    chose before), else the instance's default."""
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or otherwise or \
        current_app.config["BABEL_DEFAULT_LOCALE"]
