"""Task, TaskLog, TaskMetric, TaskError: what agents report about their work (spec 002).

A task belongs to the person it works for (and so to that person's tenant). Its status moves
QUEUED -> PROCESSING -> COMPLETED / FAILED, always by compare-and-set in SQL (service.py). Logs,
metrics and errors only grow; they are read newest first by id (keyset pages), and pruned by age.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db.base import UTCDateTime, new_uuid, utcnow
from webapp.db.orm import db

STATUSES = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")
FINISHED = ("COMPLETED", "FAILED")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
MAX_ID = 2**63 - 1  # the largest row id either database stores
# A 64-bit id on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY (64-bit there too).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_user_id_created_at", "user_id", "created_at"),
        Index("ix_tasks_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_tasks_created_at", "created_at"),
        Index("ix_tasks_origin_task_id", "origin_task_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # the person it works for
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="MEDIUM")
    status: Mapped[str] = mapped_column(String(12), default="QUEUED")
    message: Mapped[str] = mapped_column(String(1000), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    estimated_time_remaining: Mapped[int | None] = mapped_column(Integer)  # seconds
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An auto-fix task points at the task whose error it fixes; fix_depth counts the generations.
    origin_task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    fix_depth: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped["User"] = relationship("User", foreign_keys=[user_id])  # noqa: F821


class TaskLog(db.Model):
    __tablename__ = "task_logs"
    __table_args__ = (Index("ix_task_logs_task_id_id", "task_id", "id"), Index("ix_task_logs_created_at", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the agent's timestamp (else when received)
    meta: Mapped[dict | None] = mapped_column("metadata", JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskMetric(db.Model):
    __tablename__ = "task_metrics"
    __table_args__ = (Index("ix_task_metrics_task_id_id", "task_id", "id"),
                      Index("ix_task_metrics_created_at", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    execution_time: Mapped[float | None] = mapped_column(Float)  # seconds
    memory_usage: Mapped[float | None] = mapped_column(Float)  # MB
    cpu_usage: Mapped[float | None] = mapped_column(Float)  # percent
    disk_usage: Mapped[float | None] = mapped_column(Float)  # MB
    network_usage: Mapped[float | None] = mapped_column(Float)  # KB
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskError(db.Model):
    __tablename__ = "task_errors"
    __table_args__ = (Index("ix_task_errors_task_id_id", "task_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    error_code: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="")
    stack_trace: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    auto_fix_task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
