"""Tenant, User and Identity: the nouns every feature shares (DESIGN.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db.base import UTCDateTime, new_uuid, utcnow
from webapp.db.orm import db

PLATFORMS = ("github", "gitlab")
ROLES = ("ADMIN", "OPERATOR")


class Tenant(db.Model):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(255), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="FREE")
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    is_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="tenant")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Stored lower-cased; NULL for people who only ever signed in through a provider.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    username: Mapped[str | None] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(20), default="OPERATOR")
    active: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    preferences: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session and remember-me cookie: bumping it signs the user out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    tenant: Mapped[Tenant] = relationship(back_populates="users")
    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Identity.platform"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions for inactive users
        return self.active

    def get_id(self) -> str:
        """What the session and the remember-me cookie carry: the id and the session version."""
        return f"{self.id}.{self.session_version}"

    @property
    def label(self) -> str:
        """The name to show a person: display name, else username, else e-mail, else a login."""
        if self.display_name:
            return self.display_name
        if self.username:
            return self.username
        if self.email:
            return self.email
        return next((f"{i.platform}:{i.login}" for i in self.identities), str(self.id))

    def identity_for(self, platform: str) -> Identity | None:
        return next((i for i in self.identities if i.platform == platform), None)


class Identity(db.Model):
    """A linked sign-in; `platform:login` is spec 000's user_id."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("platform", "login_key"),
        UniqueConstraint("platform", "provider_user_id"),
        UniqueConstraint("user_id", "platform"),
        Index("ix_identities_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    # NULL until the person first signs in: a pre-provisioned identity.
    provider_user_id: Mapped[str | None] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(255))
    # GitHub and GitLab logins are case-insensitive: look up and enforce uniqueness on this.
    login_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The login this provider account had before it was renamed: someone else may now own that name.
    renamed_from: Mapped[str | None] = mapped_column(String(255))
    # The ADMIN_USERS entry ("github:alice") this account was made admin by: bound to this provider
    # account from then on, so whoever takes the name after a rename gets nothing from it.
    admin_grant: Mapped[str | None] = mapped_column(String(300), unique=True)

    user: Mapped[User] = relationship(back_populates="identities")

    @property
    def user_key(self) -> str:
        return f"{self.platform}:{self.login}"

    @property
    def provisioned_only(self) -> bool:
        return self.provider_user_id is None
