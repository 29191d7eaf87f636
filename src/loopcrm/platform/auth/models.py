"""Tables of authentication and authorisation, and the rules that belong to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loopcrm.platform.db import Base, Record, new_id, utc_now
from loopcrm.platform.permissions import SecurityLevel, TokenScope


class BuiltinRole(StrEnum):
    """The roles every installation starts with; admins may edit their grants."""

    ADMIN = "admin"  # runs the installation: users, roles, teams, all data
    SALES_MANAGER = "sales_manager"  # leads a sales team; sees the team's records
    SALES_REP = "sales_rep"  # works own leads, accounts and deals
    MARKETER = "marketer"  # segments, journeys, campaigns
    SERVICE_AGENT = "service_agent"  # tickets and customer service
    ANALYST = "analyst"  # reads data and analytics, changes nothing
    READ_ONLY = "read_only"  # looks, never touches


# The field clearance each built-in role starts with.
BUILTIN_CLEARANCE: dict[BuiltinRole, SecurityLevel] = {
    BuiltinRole.ADMIN: SecurityLevel.SECRET,
    BuiltinRole.SALES_MANAGER: SecurityLevel.CONFIDENTIAL,
    BuiltinRole.SALES_REP: SecurityLevel.INTERNAL,
    BuiltinRole.MARKETER: SecurityLevel.INTERNAL,
    BuiltinRole.SERVICE_AGENT: SecurityLevel.INTERNAL,
    BuiltinRole.ANALYST: SecurityLevel.INTERNAL,
    BuiltinRole.READ_ONLY: SecurityLevel.PUBLIC,
}


class Role(Record, Base):
    """A named set of grants (object type → action → scope) and a field clearance."""

    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    grants: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    clearance: Mapped[int] = mapped_column(Integer, default=int(SecurityLevel.INTERNAL))
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Record, Base):
    """A person who signs in to LoopCRM."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"))
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    role: Mapped[Role] = relationship(lazy="joined")

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class Team(Record, Base):
    """A group of users with a manager; teams nest, and a manager sees the sub-teams' records."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), default=None)
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)


class TeamMembership(Base):
    """A user's membership of a team."""

    __tablename__ = "team_memberships"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_team_memberships_user_id", "user_id"),)


class ApiToken(Record, Base):
    """A personal API token. Only a SHA-256 digest is stored: the token is 256 random bits, so a
    slow password hash adds nothing, and lookups by digest stay one index probe."""

    __tablename__ = "api_tokens"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16), default=TokenScope.READ.value)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its digest is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(400), default=None)


class PasswordReset(Base):
    """A single-use, expiring password reset link sent by email."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class LoginAttempt(Base):
    """One sign-in attempt, kept for rate limiting by IP across processes."""

    __tablename__ = "login_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    succeeded: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_login_attempts_ip_at", "ip", "at"),)
