"""The one permission check every module uses: object permissions, record scope, field security.

Every service call receives an :class:`Actor`. Services ask this module three questions:

* may the actor do ``action`` on ``object_type`` at all? (:func:`require`)
* which records may it see or change? (:func:`scope_condition`, :func:`require_record_access`)
* which field values must be hidden from it? (:func:`mask_fields`)

Because the answers live here, the web UI, the API, the CLI and jobs obey the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from loopcrm.platform.errors import PermissionDenied


class Action(StrEnum):
    """What an actor does to a record."""

    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


class Scope(StrEnum):
    """Which records an action reaches."""

    NONE = "none"  # not allowed at all
    OWN = "own"  # records the actor owns
    TEAM = "team"  # records of the actor's teams and of the teams it manages, with their sub-teams
    ALL = "all"  # every record


SCOPE_ORDER = {Scope.NONE: 0, Scope.OWN: 1, Scope.TEAM: 2, Scope.ALL: 3}


class SecurityLevel(IntEnum):
    """How sensitive a field is; a role sees fields up to its clearance, the rest are masked."""

    PUBLIC = 0  # anyone who may read the record
    INTERNAL = 1  # staff in general
    CONFIDENTIAL = 2  # personal or commercial data; reads are audited
    SECRET = 3  # only the highest clearance; reads are audited

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> SecurityLevel:
        return cls[label.upper()]


# Grants that object types' default_grants use again and again: every action on every record, and
# reading every record.
GRANT_ALL = {action: Scope.ALL for action in Action}
GRANT_READ_ALL = {Action.READ: Scope.ALL}


class TokenScope(StrEnum):
    """What an API token may do, on top of its user's role."""

    READ = "read"  # only reads
    READ_WRITE = "read_write"  # reads and writes, as far as the role allows


@dataclass(frozen=True)
class ObjectType:
    """A kind of record that permissions apply to, declared by the module that owns it.

    ``default_grants`` maps a built-in role key to its scope per action; an admin's edit of a
    role overrides it. ``field_levels`` names fields above PUBLIC; unnamed fields are public.
    """

    key: str
    label: str  # English msgid; translated in the UI
    default_grants: Mapping[str, Mapping[Action, Scope]] = field(default_factory=dict)
    field_levels: Mapping[str, SecurityLevel] = field(default_factory=dict)


_object_types: dict[str, ObjectType] = {}


def register_object_type(object_type: ObjectType) -> ObjectType:
    """Declare an object type; modules call this at import time. Registering twice is an error."""
    existing = _object_types.get(object_type.key)
    if existing is not None and existing != object_type:
        raise ValueError(f"object type {object_type.key!r} is already registered differently")
    _object_types[object_type.key] = object_type
    return object_type


def object_types() -> list[ObjectType]:
    """Every declared object type, in declaration order."""
    return list(_object_types.values())


def get_object_type(key: str) -> ObjectType:
    try:
        return _object_types[key]
    except KeyError:
        raise KeyError(f"unknown object type {key!r}") from None


Grants = Mapping[str, Mapping[str, str]]  # object type → action → scope, as stored on a role


@dataclass(frozen=True)
class Actor:
    """Who is acting, with everything a permission check needs, resolved once per request.

    ``team_ids`` are the teams whose records TEAM scope reaches (teams the user belongs to,
    teams it manages and all their sub-teams); ``team_user_ids`` are the members of those teams.
    """

    user_id: str | None
    label: str  # how the audit log names the actor: the user's email, or "system"
    role_key: str
    grants: Grants
    clearance: SecurityLevel
    team_ids: frozenset[str] = frozenset()
    team_user_ids: frozenset[str] = frozenset()
    token_scope: TokenScope | None = None
    is_system: bool = False
    locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    request_id: str | None = None
    ip: str | None = None
    display_name: str = ""  # the user's name, for greeting them in the UI

    def scope(self, object_type: str, action: Action) -> Scope:
        """The scope this actor has for ``action`` on ``object_type``."""
        if self.is_system:
            return Scope.ALL
        if self.token_scope is TokenScope.READ and action is not Action.READ:
            return Scope.NONE
        stored = self.grants.get(object_type)
        if stored is not None and action.value in stored:
            return Scope(stored[action.value])
        defaults = get_object_type(object_type).default_grants.get(self.role_key, {})
        return defaults.get(action, Scope.NONE)

    def can(self, object_type: str, action: Action) -> bool:
        return self.scope(object_type, action) is not Scope.NONE


def system_actor(label: str = "system", *, request_id: str | None = None) -> Actor:
    """The actor of jobs, migrations and the CLI: every permission, every field."""
    return Actor(
        user_id=None,
        label=label,
        role_key="system",
        grants={},
        clearance=SecurityLevel.SECRET,
        is_system=True,
        request_id=request_id,
    )


def require(actor: Actor, object_type: str, action: Action) -> Scope:
    """The actor's scope for the action; raises :class:`PermissionDenied` when it has none."""
    scope = actor.scope(object_type, action)
    if scope is Scope.NONE:
        raise PermissionDenied(
            "You may not {action} {object_type}", action=action.value, object_type=object_type
        )
    return scope


def scope_condition(
    actor: Actor,
    object_type: str,
    action: Action,
    *,
    owner_column: InstrumentedAttribute[Any] | None,
    team_column: InstrumentedAttribute[Any] | None = None,
) -> ColumnElement[bool]:
    """A WHERE condition limiting a query to the records the actor may reach.

    Raises :class:`PermissionDenied` when the actor has no scope at all, so a list the actor
    may not see answers 403 rather than an empty page.
    """
    scope = require(actor, object_type, action)
    if scope is Scope.ALL:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if owner_column is not None and actor.user_id is not None:
        conditions.append(owner_column == actor.user_id)
    if scope is Scope.TEAM:
        if owner_column is not None and actor.team_user_ids:
            conditions.append(owner_column.in_(sorted(actor.team_user_ids)))
        if team_column is not None and actor.team_ids:
            conditions.append(team_column.in_(sorted(actor.team_ids)))
    return or_(*conditions) if conditions else false()


def can_reach_record(
    actor: Actor, object_type: str, action: Action, *, owner_id: str | None, team_id: str | None = None
) -> bool:
    """Whether the actor's scope for ``action`` covers one record with this owner and team."""
    scope = actor.scope(object_type, action)
    if scope is Scope.ALL:
        return True
    if scope is Scope.NONE:
        return False
    if owner_id is not None and owner_id == actor.user_id:
        return True
    if scope is Scope.TEAM:
        return (owner_id is not None and owner_id in actor.team_user_ids) or (
            team_id is not None and team_id in actor.team_ids
        )
    return False


def require_record_access(
    actor: Actor, object_type: str, action: Action, *, owner_id: str | None, team_id: str | None = None
) -> None:
    """Raise :class:`PermissionDenied` unless the actor may do ``action`` on this record."""
    require(actor, object_type, action)
    if not can_reach_record(actor, object_type, action, owner_id=owner_id, team_id=team_id):
        raise PermissionDenied(
            "You may not {action} this {object_type}", action=action.value, object_type=object_type
        )


@dataclass(frozen=True)
class MaskedValues:
    """Field values as the actor may see them.

    ``masked`` lists fields replaced by ``None`` because they are above the actor's clearance;
    ``revealed_sensitive`` lists confidential or secret fields the actor did see (to be audited).
    """

    values: dict[str, Any]
    masked: tuple[str, ...]
    revealed_sensitive: tuple[str, ...]


def mask_fields(
    actor: Actor,
    object_type: str,
    values: Mapping[str, Any],
    extra_levels: Mapping[str, SecurityLevel] | None = None,
) -> MaskedValues:
    """Hide the values above the actor's clearance; ``extra_levels`` covers custom fields."""
    levels = dict(get_object_type(object_type).field_levels)
    if extra_levels:
        levels.update(extra_levels)
    shown: dict[str, Any] = {}
    masked: list[str] = []
    revealed: list[str] = []
    for name, value in values.items():
        level = levels.get(name, SecurityLevel.PUBLIC)
        if level > actor.clearance:
            shown[name] = None
            masked.append(name)
            continue
        shown[name] = value
        if level >= SecurityLevel.CONFIDENTIAL and value not in (None, "", [], {}):
            revealed.append(name)
    return MaskedValues(shown, tuple(masked), tuple(revealed))
