"""Spec 002's requests and answers as pydantic models: they validate the input, and the OpenAPI
document is generated from them. Field names are the spec's (camelCase)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel, model_validator

from webapp.tasks.models import LEVELS, MAX_ID, PRIORITIES, STATUSES

Status = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
ALIASES = {"WARNING": "WARN", "CRITICAL": "FATAL", "TRACE": "DEBUG"}


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _level(value: Any) -> Any:
    value = _upper(value)
    return ALIASES.get(value, value)


def _names_pattern(names: tuple[str, ...]) -> str:
    """One name, or several comma-separated, in upper or lower case (QUEUED,processing)."""
    one = "|".join([*names, *(name.lower() for name in names)])
    return rf"^({one})(,({one}))*$"


def _utc(value: datetime | None) -> datetime | None:
    """Any RFC 3339 moment, in UTC (no offset means UTC); one that leaves the calendar in UTC is refused."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the moment is out of range") from None


UTCMoment = Annotated[datetime, AfterValidator(_utc)]
Priority = Annotated[Literal[PRIORITIES], BeforeValidator(_upper)]
Level = Annotated[Literal[LEVELS], BeforeValidator(_level)]
# platform:login, or a user id (a UUID)
PERSON_PATTERN = (r"^((github|gitlab):[A-Za-z0-9][A-Za-z0-9._-]{0,254}|"
                  r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})$")
Message = Field(default=None, max_length=1000, description="Why, in a sentence: shown on the task page")
Moment = Field(default=None, description="RFC 3339; a zero Go time (0001-01-01T00:00:00Z) means not set")


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TaskPath(BaseModel):
    id: str = Field(description="The task's id", max_length=100)


class CreateTaskRequest(_Body):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    user: str | None = Field(default=None, max_length=300, pattern=PERSON_PATTERN, examples=["github:octocat"],
                             description="The person the task works for: platform:login or a user id "
                                         "(default: the caller)")
    priority: Priority = "MEDIUM"


class StatusRequest(_Body):
    status: Status
    message: str | None = Message
    progress: int | None = Field(default=None, ge=0, le=100)
    startedAt: UTCMoment | None = Moment  # noqa: N815 (the spec's names)
    completedAt: UTCMoment | None = Moment  # noqa: N815


class ProgressRequest(_Body):
    progress: int = Field(ge=0, le=100)
    message: str | None = Message
    estimatedTimeRemaining: int | None = Field(default=None, ge=0, le=10 * 365 * 86400,  # noqa: N815
                                               description="Seconds")


class LogRequest(_Body):
    level: Level = "INFO"
    message: str = Field(min_length=1, max_length=10000)
    timestamp: UTCMoment | None = Moment
    metadata: dict[str, Any] | None = None


class LogBatchRequest(_Body):
    logs: list[LogRequest] = Field(min_length=1, max_length=1000)


class LogBody(RootModel[LogBatchRequest | LogRequest]):
    """One line, or {"logs": [...]} with up to 1000 (each counts against the log-line limit)."""


METRIC_FIELDS = ("executionTime", "memoryUsage", "cpuUsage", "diskUsage", "networkUsage")


class MetricRequest(_Body):
    # At least one measure: the schema says what the validator checks.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"type": "number"}}} for name in METRIC_FIELDS]})
    executionTime: float | None = Field(default=None, ge=0, le=1e12, description="Seconds")  # noqa: N815
    memoryUsage: float | None = Field(default=None, ge=0, le=1e12, description="MB")  # noqa: N815
    cpuUsage: float | None = Field(default=None, ge=0, le=1e6, description="Percent")  # noqa: N815
    diskUsage: float | None = Field(default=None, ge=0, le=1e12, description="MB")  # noqa: N815
    networkUsage: float | None = Field(default=None, ge=0, le=1e12, description="KB")  # noqa: N815
    timestamp: UTCMoment | None = Moment

    @model_validator(mode="after")
    def _measures_something(self):
        if all(getattr(self, name) is None for name in METRIC_FIELDS):
            raise ValueError(f"send at least one of {', '.join(METRIC_FIELDS)}")
        return self


class ErrorRequest(_Body):
    errorCode: str = Field(min_length=1, max_length=100, examples=["DB_CONNECTION_ERROR"])  # noqa: N815
    message: str = Field(min_length=1, max_length=10000)
    details: str = Field(default="", max_length=20000)
    stackTrace: str = Field(default="", max_length=65536)  # noqa: N815
    timestamp: UTCMoment | None = Moment
    autoFixRequested: bool = False  # noqa: N815


class AutoFixRequest(_Body):
    errorCode: str = Field(min_length=1, max_length=100)  # noqa: N815
    originalError: str = Field(default="", max_length=10000)  # noqa: N815
    suggestedFix: str = Field(default="", max_length=20000)  # noqa: N815
    priority: Priority | None = None


class TaskListQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    status: str | None = Field(default=None, max_length=100, pattern=_names_pattern(STATUSES),
                               description="One status or several, comma-separated", examples=["PROCESSING"])
    user: str | None = Field(default=None, max_length=300, pattern=PERSON_PATTERN,
                             description="platform:login or a user id", examples=["github:octocat"])
    since: UTCMoment | None = Field(default=None, alias="from", description="Created at or after (RFC 3339)")
    until: UTCMoment | None = Field(default=None, alias="to", description="Created before (RFC 3339)")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200, description="nextCursor of the previous page")


class LogQuery(BaseModel):
    before: int | None = Field(default=None, ge=1, le=MAX_ID, description="Lines older than this log id (nextCursor)")
    level: str | None = Field(default=None, max_length=100, pattern=_names_pattern(LEVELS),
                              description="One level or several, comma-separated", examples=["ERROR,FATAL"])
    q: str | None = Field(default=None, max_length=200, description="Text the message contains")
    limit: int = Field(default=100, ge=1, le=500)


# --- Answers: spec 002's envelope around each object ---------------------------------------------

class StatusData(BaseModel):
    id: str
    title: str
    status: Status
    message: str
    progress: int
    estimatedTimeRemaining: int | None  # noqa: N815
    startedAt: str | None  # noqa: N815
    completedAt: str | None  # noqa: N815
    updatedAt: str  # noqa: N815


class TaskData(StatusData):
    description: str
    priority: str
    createdAt: str  # noqa: N815
    userId: str  # noqa: N815
    user: str
    tenantId: str  # noqa: N815
    originalTaskId: str | None  # noqa: N815


class LogData(BaseModel):
    id: str
    taskId: str  # noqa: N815
    level: str
    message: str
    timestamp: str
    metadata: dict | None = None


class MetricData(BaseModel):
    id: str
    taskId: str  # noqa: N815
    executionTime: float | None  # noqa: N815
    memoryUsage: float | None  # noqa: N815
    cpuUsage: float | None  # noqa: N815
    diskUsage: float | None  # noqa: N815
    networkUsage: float | None  # noqa: N815
    timestamp: str


class ErrorData(BaseModel):
    id: str
    taskId: str  # noqa: N815
    errorCode: str  # noqa: N815
    message: str
    details: str
    autoFixTaskId: str | None  # noqa: N815
    timestamp: str


class AutoFixData(TaskData):
    originalTaskId: str  # noqa: N815


class TaskPageData(BaseModel):
    tasks: list[TaskData]
    nextCursor: str | None  # noqa: N815


class TaskDetailData(TaskData):
    logs: list[LogData]
    moreLogs: bool  # noqa: N815
    errors: list[ErrorData]
    autoFixTaskIds: list[str]  # noqa: N815


class LogBatchData(BaseModel):
    taskId: str  # noqa: N815
    count: int
    logs: list[LogData]


class LogPageData(BaseModel):
    logs: list[LogData]
    nextCursor: str | None  # noqa: N815


def envelope(data: type[BaseModel], name: str) -> type[BaseModel]:
    """Spec 002's success envelope around `data`, as a named schema."""
    return type(name, (BaseModel,), {"__annotations__": {"success": Literal[True], "data": data, "message": str,
                                                         "timestamp": str}, "__module__": __name__})


TaskEnvelope = envelope(TaskData, "TaskEnvelope")
StatusEnvelope = envelope(StatusData, "StatusEnvelope")
TaskPageEnvelope = envelope(TaskPageData, "TaskPageEnvelope")
TaskDetailEnvelope = envelope(TaskDetailData, "TaskDetailEnvelope")
LogEnvelope = envelope(LogData, "LogEnvelope")
LogBatchEnvelope = envelope(LogBatchData, "LogBatchEnvelope")
LogPageEnvelope = envelope(LogPageData, "LogPageEnvelope")
MetricEnvelope = envelope(MetricData, "MetricEnvelope")
ErrorEnvelope = envelope(ErrorData, "ErrorEnvelope")
AutoFixEnvelope = envelope(AutoFixData, "AutoFixEnvelope")


class LogAnswer(RootModel[LogEnvelope | LogBatchEnvelope]):
    """One line's answer, or a batch's."""


class HealthData(BaseModel):
    status: Literal["UP", "DOWN"]
    timestamp: str
    version: str
    components: dict[str, Literal["UP", "DOWN"]]


class HealthEnvelope(HealthData):
    """Spec 002's health body, also inside its common envelope (`data`)."""

    success: bool
    data: HealthData
    message: str
