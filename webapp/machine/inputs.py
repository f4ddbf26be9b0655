"""Query strings and JSON bodies validated by the same pydantic models the OpenAPI document shows;
a failure is a 400 with the family's code for malformed input and a list of what is wrong."""

from __future__ import annotations

from typing import TypeVar

from flask import request
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


def parse_query(model: type[Model]) -> Model:
    """The query string as `model`; empty values mean "use the default", unknown names are ignored."""
    try:
        return model.model_validate({k: v for k, v in request.args.items() if v != ""})
    except ValidationError as error:
        names = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]}))
        raise _invalid(f"Check the query parameters: {names}.", error) from None


def parse_body(model: type[Model], message: str) -> Model:
    """The JSON body as `model`; `message` tells the caller what a valid body looks like."""
    body = request.get_json(silent=True)
    if body is None:
        answering = family()
        raise BadRequest(f"Send a JSON body. {message}", code=answering.malformed_code or answering.invalid_request_code)
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise _invalid(f"The request body failed validation. {message}", error) from None
