"""The code review's LLM pass: the instance default's model reads the numbered source and answers
findings as JSON matching a schema. An answer that does not match is asked for once more, then
dropped (never passed through); findings on lines that do not exist, or in categories rules.json
does not define, are dropped; a timeout or provider error leaves the analysers' review, with a note."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webapp.llm_configs import providers
from webapp.llm_configs import service as llm_settings
from webapp.review.languages import Language

MAX_FINDINGS = 30
LANGUAGE_NAMES = {"ja": "Japanese", "en": "English"}


class LlmFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int  # checked against the source afterwards: a finding elsewhere is dropped, not the answer
    location: str = Field(max_length=200)
    category: str = Field(max_length=100)
    overview: str = Field(min_length=1, max_length=300)
    details: str = Field(max_length=2000)
    suggestion: str = Field(max_length=4000)


class LlmReview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    findings: list[LlmFinding] = Field(max_length=MAX_FINDINGS)


def schema(categories: list[str]) -> dict:
    """The JSON schema the model must answer with (strict: every property required, no others)."""
    finding = {"type": "object", "additionalProperties": False,
               "required": ["line", "location", "category", "overview", "details", "suggestion"],
               "properties": {"line": {"type": "integer"}, "location": {"type": "string"},
                              "category": {"type": "string", "enum": categories}, "overview": {"type": "string"},
                              "details": {"type": "string"}, "suggestion": {"type": "string"}}}
    return {"type": "object", "additionalProperties": False, "required": ["findings"],
            "properties": {"findings": {"type": "array", "items": finding}}}


@dataclass
class Outcome:
    findings: list[LlmFinding] = field(default_factory=list)
    note: str | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0


def run(source_lines: list[str], language: Language, categories: list[str], locale: str) -> Outcome | None:
    """None when no LLM is configured (the review is the analysers' alone, as it should be)."""
    target = llm_settings.instance_target()
    if target is None or not current_app.config["REVIEW_LLM"]:
        return None
    limit = current_app.config["REVIEW_LLM_MAX_LINES"]
    numbered = "\n".join(f"{n}: {text}" for n, text in enumerate(source_lines[:limit], 1))
    messages = [
        {"role": "system", "content": (
            "You review source code. Report real problems only (bugs, security, readability, maintainability), "
            f"at most {MAX_FINDINGS}. Each finding names the line number shown before the code, the enclosing "
            f"function or variable as location, and one of these categories: {', '.join(categories)}. Write "
            f"overview, details and suggestion in {LANGUAGE_NAMES.get(locale, 'English')}; the suggestion may "
            "include corrected code. Answer with JSON only: {\"findings\": [...]}; an empty list if all is well.")},
        {"role": "user", "content": f"Language: {language.title}\n\n{numbered}"},
    ]
    wanted = schema(categories)
    outcome = Outcome()
    config = current_app.config
    for attempt in (1, 2):
        try:
            answer = providers.chat_json(target, messages, wanted, deadline=config["REVIEW_LLM_TIMEOUT"],
                                         allow_private=config["OUTBOUND_ALLOW_PRIVATE"],
                                         max_in_flight=config["REVIEW_LLM_MAX_IN_FLIGHT"])
        except providers.ProviderFailed as failed:
            # The detail (the provider's host) goes to the log; callers learn what happened, not where.
            current_app.logger.warning("review: the LLM pass was skipped: %s", failed.detail)
            outcome.note = str(_l("The LLM pass was skipped: %(reason)s", reason=_reason(failed)))
            return outcome
        outcome.model = answer.model
        outcome.tokens_in += answer.tokens_in
        outcome.tokens_out += answer.tokens_out
        try:
            parsed = LlmReview.model_validate_json(answer.content)
        except ValidationError as error:
            if attempt == 2:
                current_app.logger.warning("review: the LLM answered invalid JSON twice; its answer was dropped")
                outcome.note = str(_l("The LLM's answer did not match the expected format, so it was left out."))
                return outcome
            messages += [{"role": "assistant", "content": answer.content[:4000]},
                         {"role": "user", "content": "That answer does not match the schema "
                                                     f"({_first_problem(error)}). Answer again with JSON only."}]
            continue
        # Lines that do not exist are dropped with every other pass's, when the engine words the points.
        outcome.findings = [f for f in parsed.findings if f.category in categories]
        return outcome
    return outcome


def _reason(failed: providers.ProviderFailed) -> str:
    if failed.kind == "timeout":
        return str(_l("the model did not answer in time."))
    if failed.kind == "status":
        return str(_l("the model's server answered HTTP %(status)s.", status=failed.status))
    if failed.kind == "busy":
        return str(_l("too many reviews are asking the model at once."))
    return str(_l("the model's server could not be reached."))


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"[:300]
