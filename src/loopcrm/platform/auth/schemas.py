"""Contracts of users, teams, roles and API tokens: what the API accepts and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator

from loopcrm.platform.permissions import TokenScope
from loopcrm.platform.timestamps import IsoDateTime

Locale = Literal["zh_CN", "en"]  # the languages of the UI, as in loopcrm.platform.i18n
# NIST SP 800-63B: at least 8 characters, no composition rules; long passphrases are welcome.
MINIMUM_PASSWORD_LENGTH = 8
MAXIMUM_PASSWORD_LENGTH = 256

_TIMEZONES = frozenset(available_timezones())


def _trimmed(value: str) -> str:
    return value.strip()


# Lengths are checked on the text as sent, then surrounding white space is removed, so what the
# OpenAPI schema promises is exactly what the API accepts. A name needs one visible character.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_trimmed)]
Description = Annotated[str, Field(max_length=1000), AfterValidator(_trimmed)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(_trimmed)]


class Input(BaseModel):
    """Base of every input contract: unknown fields are an error, and so is a NUL character in
    any text (PostgreSQL cannot store one, and no person types one)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul_characters(cls, value: object) -> object:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value


def _check_timezone(value: str | None) -> str | None:
    if value is not None and value not in _TIMEZONES:
        raise ValueError("is not a known IANA time zone, such as Asia/Shanghai")
    return value


class UserCreate(Input):
    email: EmailStr
    name: Name
    role: str = Field(min_length=1, max_length=64, description="role key, e.g. sales_rep")
    password: str | None = Field(
        default=None, min_length=MINIMUM_PASSWORD_LENGTH, max_length=MAXIMUM_PASSWORD_LENGTH
    )
    phone: Phone | None = None
    locale: Locale = "zh_CN"
    timezone: str = "Asia/Shanghai"
    team_ids: list[str] = Field(default_factory=list)

    _timezone = field_validator("timezone")(_check_timezone)


class UserUpdate(Input):
    """Fields to change; absent fields stay as they are."""

    email: EmailStr | None = None
    name: Name | None = None
    role: str | None = Field(default=None, min_length=1, max_length=64)
    phone: Phone | None = None
    locale: Locale | None = None
    timezone: str | None = None
    is_active: bool | None = None
    team_ids: list[str] | None = None
    password: str | None = Field(
        default=None, min_length=MINIMUM_PASSWORD_LENGTH, max_length=MAXIMUM_PASSWORD_LENGTH
    )

    _timezone = field_validator("timezone")(_check_timezone)


class ProfileUpdate(Input):
    """What users change about themselves."""

    name: Name | None = None
    locale: Locale | None = None
    timezone: str | None = None

    _timezone = field_validator("timezone")(_check_timezone)


class PasswordChange(Input):
    current_password: str = Field(max_length=MAXIMUM_PASSWORD_LENGTH)
    new_password: str = Field(min_length=MINIMUM_PASSWORD_LENGTH, max_length=MAXIMUM_PASSWORD_LENGTH)


class UserOut(BaseModel):
    """A user as others see it; fields above the reader's clearance are ``None`` and listed in
    ``masked_fields``."""

    id: str
    email: str
    name: str
    phone: str | None
    role: str
    locale: str
    timezone: str
    is_active: bool
    team_ids: list[str]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    masked_fields: list[str] = Field(default_factory=list)


class UserFilter(Input):
    q: str | None = Field(default=None, max_length=200, description="matches name or email")
    role: str | None = None
    team_id: str | None = None
    is_active: bool | None = None


class TeamCreate(Input):
    name: Name
    description: Description = ""
    parent_id: str | None = None
    manager_id: str | None = None
    member_ids: list[str] = Field(default_factory=list)


class TeamUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    parent_id: str | None = None
    manager_id: str | None = None
    member_ids: list[str] | None = None


class TeamOut(BaseModel):
    id: str
    name: str
    description: str
    parent_id: str | None
    manager_id: str | None
    member_ids: list[str]
    created_at: datetime
    updated_at: datetime
    version: int


class RoleCreate(Input):
    key: str = Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    name: Name
    description: Description = ""
    clearance: str = Field(default="internal", description="public, internal, confidential or secret")
    grants: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="object type → action → scope"
    )


class RoleUpdate(Input):
    name: Name | None = None
    description: Description | None = None
    clearance: str | None = None
    grants: dict[str, dict[str, str]] | None = None


class RoleOut(BaseModel):
    id: str
    key: str
    name: str
    description: str
    clearance: str
    is_builtin: bool
    grants: dict[str, dict[str, str]] = Field(description="effective grants: stored, else the defaults")
    created_at: datetime
    updated_at: datetime
    version: int


class TokenCreate(Input):
    name: Name
    scope: TokenScope = TokenScope.READ
    expires_at: IsoDateTime | None = None


class TokenOut(BaseModel):
    id: str
    user_id: str
    name: str
    prefix: str
    scope: TokenScope
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    version: int


class TokenCreated(TokenOut):
    """Returned once, at creation: the only time the secret is shown."""

    token: str


class PasswordResetRequest(Input):
    email: EmailStr


class PasswordResetConfirm(Input):
    token: str = Field(min_length=10, max_length=200)
    new_password: str = Field(min_length=MINIMUM_PASSWORD_LENGTH, max_length=MAXIMUM_PASSWORD_LENGTH)


class LoginInput(Input):
    email: str = Field(max_length=320)
    password: str = Field(max_length=MAXIMUM_PASSWORD_LENGTH)
