"""Managing users, teams, roles and API tokens: the use cases behind the admin pages and API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change, record_sensitive_read
from loopcrm.platform.auth.models import ApiToken, Role, Team, TeamMembership, User, WebSession
from loopcrm.platform.auth.passwords import digest, hash_password, verify_password
from loopcrm.platform.auth.schemas import (
    PasswordChange,
    ProfileUpdate,
    RoleCreate,
    RoleOut,
    RoleUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserFilter,
    UserOut,
    UserUpdate,
)
from loopcrm.platform.auth.service.object_types import ROLE, TEAM, TOKEN, USER
from loopcrm.platform.db import new_token, utc_now
from loopcrm.platform.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from loopcrm.platform.pagination import Page, paginate
from loopcrm.platform.permissions import (
    Action,
    Actor,
    Scope,
    SecurityLevel,
    can_reach_record,
    get_object_type,
    mask_fields,
    object_types,
    require,
    require_record_access,
    scope_condition,
)
from loopcrm.platform.unit_of_work import UnitOfWork

REDACTED = "[redacted]"
API_TOKEN_PREFIX = "lcrm_"  # noqa: S105 -- a public marker that makes leaked tokens easy to scan for, not a secret


def _check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise StaleVersion()


def _flush(session: Session, *, unique_field: str | None = None) -> None:
    """Write pending changes now, turning a concurrent edit into :class:`StaleVersion` and a
    unique value taken by a concurrent request (after our check passed) into a field error."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None
    except IntegrityError:
        if unique_field is None:
            raise
        raise ValidationFailed.single(unique_field, "This value is already taken", "duplicate") from None


# ---------------------------------------------------------------- users


def _team_ids_of(session: Session, user_ids: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    ids = sorted(set(user_ids))
    if ids:
        for user_id, team_id in session.execute(
            select(TeamMembership.user_id, TeamMembership.team_id)
            .where(TeamMembership.user_id.in_(ids))
            .order_by(TeamMembership.team_id)
        ):
            found.setdefault(user_id, []).append(team_id)
    return found


def _user_values(user: User, team_ids: list[str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "role": user.role.key,
        "locale": user.locale,
        "timezone": user.timezone,
        "is_active": user.is_active,
        "team_ids": team_ids,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "version": user.version,
    }


def _user_out(
    uow: UnitOfWork, actor: Actor, user: User, team_ids: list[str], *, is_read: bool = True
) -> UserOut:
    """The user as the actor may see it.

    Reading someone else's confidential fields is audited; echoing back what the actor just
    wrote (``is_read=False``) is not a read.
    """
    shown = mask_fields(actor, USER.key, _user_values(user, team_ids))
    if is_read and user.id != actor.user_id:
        record_sensitive_read(uow, actor, USER.key, user.id, shown.revealed_sensitive)
    return UserOut(**shown.values, masked_fields=list(shown.masked))


def _audit_snapshot(user: User, team_ids: list[str]) -> dict[str, Any]:
    values = _user_values(user, team_ids)
    for name in ("id", "created_at", "updated_at", "version", "last_login_at"):
        values.pop(name)
    return values


def _role_by_key(session: Session, key: str, field_name: str = "role") -> Role:
    role = session.scalar(select(Role).where(Role.key == key))
    if role is None:
        raise ValidationFailed.single(field_name, "Unknown role {role}", "unknown_role", role=key)
    return role


def _check_teams_exist(session: Session, team_ids: list[str], field_name: str) -> None:
    if not team_ids:
        return
    found = set(session.scalars(select(Team.id).where(Team.id.in_(team_ids))))
    errors = [
        FieldError(f"{field_name}.{index}", "Unknown team {team_id}", "unknown_team", {"team_id": team_id})
        for index, team_id in enumerate(team_ids)
        if team_id not in found
    ]
    if errors:
        raise ValidationFailed(errors)


def _is_taken(
    session: Session, id_column: Any, compared: Any, value: str, except_id: str | None = None
) -> bool:
    """Whether a row other than ``except_id`` already has ``value`` in a unique column."""
    statement = select(id_column).where(compared == value)
    if except_id:
        statement = statement.where(id_column != except_id)
    return session.scalar(statement.limit(1)) is not None


def _email_taken(session: Session, email: str, except_user_id: str | None = None) -> bool:
    return _is_taken(session, User.id, User.email, email, except_user_id)


def _set_memberships(session: Session, user_id: str, team_ids: list[str]) -> None:
    session.execute(delete(TeamMembership).where(TeamMembership.user_id == user_id))
    for team_id in dict.fromkeys(team_ids):
        session.add(TeamMembership(team_id=team_id, user_id=user_id))


def create_user(uow: UnitOfWork, actor: Actor, data: UserCreate) -> UserOut:
    """Create a user. Without a password the user signs in after a password reset."""
    require(actor, USER.key, Action.CREATE)
    email = data.email.lower()
    with uow:
        session = uow.session
        role = _role_by_key(session, data.role)
        _check_teams_exist(session, data.team_ids, "team_ids")
        if _email_taken(session, email):
            raise ValidationFailed.single("email", "A user with this email already exists", "duplicate")
        user = User(
            email=email,
            name=data.name,
            phone=data.phone or None,
            role_id=role.id,
            role=role,
            locale=data.locale,
            timezone=data.timezone,
            password_hash=hash_password(data.password) if data.password else None,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(user)
        _flush(session, unique_field="email")
        _set_memberships(session, user.id, data.team_ids)
        team_ids = sorted(dict.fromkeys(data.team_ids))
        created = _audit_snapshot(user, team_ids)
        if data.password:
            created["password"] = REDACTED
        record_change(
            uow, actor, AuditAction.CREATE, USER.key, user.id, {k: [None, v] for k, v in created.items()}
        )
        result = _user_out(uow, actor, user, team_ids, is_read=False)
        uow.commit()
        return result


def _load_user(uow: UnitOfWork, actor: Actor, user_id: str, action: Action) -> User:
    user = uow.session.get(User, user_id)
    if user is None or not can_reach_record(actor, USER.key, Action.READ, owner_id=user.id):
        raise NotFound("User not found")
    require_record_access(actor, USER.key, action, owner_id=user.id)
    return user


def find_user_id(uow: UnitOfWork, actor: Actor, email: str) -> str | None:
    """The id of the user with this email (any case), if the actor may see that user."""
    condition = scope_condition(actor, USER.key, Action.READ, owner_column=User.id)
    with uow:
        return uow.session.scalar(select(User.id).where(User.email == email.strip().lower(), condition))


def get_user(uow: UnitOfWork, actor: Actor, user_id: str) -> UserOut:
    require(actor, USER.key, Action.READ)
    with uow:
        user = _load_user(uow, actor, user_id, Action.READ)
        result = _user_out(uow, actor, user, _team_ids_of(uow.session, [user.id]).get(user.id, []))
        uow.commit()  # the audit entry of a sensitive read
        return result


def list_users(
    uow: UnitOfWork, actor: Actor, filters: UserFilter, *, limit: int, cursor: str | None
) -> Page[UserOut]:
    """Users the actor may see, newest first."""
    condition = scope_condition(actor, USER.key, Action.READ, owner_column=User.id)
    with uow:
        statement = select(User).where(condition)
        if filters.q:
            pattern = f"%{filters.q.lower()}%"
            statement = statement.where(or_(func.lower(User.name).like(pattern), User.email.like(pattern)))
        if filters.role:
            statement = statement.join(Role, Role.id == User.role_id).where(Role.key == filters.role)
        if filters.is_active is not None:
            statement = statement.where(User.is_active.is_(filters.is_active))
        if filters.team_id:
            statement = statement.where(
                User.id.in_(select(TeamMembership.user_id).where(TeamMembership.team_id == filters.team_id))
            )
        page = paginate(
            uow.session, statement, User.id, limit=limit, cursor=cursor, convert=lambda user: user
        )
        teams = _team_ids_of(uow.session, [user.id for user in page.items])
        items = [_user_out(uow, actor, user, teams.get(user.id, [])) for user in page.items]
        uow.commit()
        return Page[UserOut](items=items, next_cursor=page.next_cursor)


def update_user(
    uow: UnitOfWork, actor: Actor, user_id: str, data: UserUpdate, *, expected_version: int | None = None
) -> UserOut:
    """Change a user; fields not given stay. Deactivating ends the user's sessions."""
    with uow:
        session = uow.session
        user = _load_user(uow, actor, user_id, Action.UPDATE)
        _check_version(user, expected_version)
        teams_before = _team_ids_of(session, [user.id]).get(user.id, [])
        before = _audit_snapshot(user, teams_before)
        changes = data.model_dump(exclude_unset=True)
        if "email" in changes and changes["email"] is not None:
            email = changes["email"].lower()
            if _email_taken(session, email, except_user_id=user.id):
                raise ValidationFailed.single("email", "A user with this email already exists", "duplicate")
            user.email = email
        for name in ("name", "phone", "locale", "timezone", "is_active"):
            if name in changes and (changes[name] is not None or name == "phone"):
                setattr(user, name, changes[name])
        if changes.get("role"):
            role = _role_by_key(session, changes["role"])
            if user.id == actor.user_id and role.id != user.role_id:
                raise ValidationFailed.single("role", "You cannot change your own role", "own_role")
            user.role_id, user.role = role.id, role
        if user.id == actor.user_id and changes.get("is_active") is False:
            raise ValidationFailed.single("is_active", "You cannot deactivate yourself", "own_account")
        teams_after = teams_before
        if changes.get("team_ids") is not None:
            _check_teams_exist(session, changes["team_ids"], "team_ids")
            teams_after = sorted(dict.fromkeys(changes["team_ids"]))
            _set_memberships(session, user.id, teams_after)
        if changes.get("password"):
            user.password_hash = hash_password(changes["password"])
        change_log = diff(before, _audit_snapshot(user, teams_after))
        if changes.get("password"):
            change_log["password"] = [REDACTED, REDACTED]
        if change_log:
            user.updated_by = actor.user_id
            if "team_ids" in change_log and len(change_log) == 1:
                user.updated_at = utc_now()  # memberships live in another table; still a change of the user
            _flush(session, unique_field="email")
            record_change(uow, actor, AuditAction.UPDATE, USER.key, user.id, change_log)
        if user.is_active is False or changes.get("password"):
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        result = _user_out(uow, actor, user, teams_after, is_read=False)
        uow.commit()
        return result


def get_profile(uow: UnitOfWork, actor: Actor) -> UserOut:
    """The signed-in user's own record; everyone may read their own."""
    if actor.user_id is None:
        raise PermissionDenied()
    with uow:
        user = uow.session.get(User, actor.user_id)
        if user is None:
            raise NotFound("User not found")
        return _user_out(uow, actor, user, _team_ids_of(uow.session, [user.id]).get(user.id, []))


def update_profile(uow: UnitOfWork, actor: Actor, data: ProfileUpdate) -> UserOut:
    """Users change their own name, language and time zone; no permission needed beyond signing in."""
    if actor.user_id is None:
        raise PermissionDenied()
    with uow:
        user = uow.session.get(User, actor.user_id)
        if user is None:
            raise NotFound("User not found")
        teams = _team_ids_of(uow.session, [user.id]).get(user.id, [])
        before = _audit_snapshot(user, teams)
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(user, name, value)
        change_log = diff(before, _audit_snapshot(user, teams))
        if change_log:
            _flush(uow.session)
            record_change(uow, actor, AuditAction.UPDATE, USER.key, user.id, change_log)
        result = _user_out(uow, actor, user, teams)
        uow.commit()
        return result


def change_password(uow: UnitOfWork, actor: Actor, data: PasswordChange) -> None:
    """Users change their own password after proving they know the current one."""
    if actor.user_id is None:
        raise PermissionDenied()
    with uow:
        user = uow.session.get(User, actor.user_id)
        if user is None:
            raise NotFound("User not found")
        if not verify_password(user.password_hash, data.current_password):
            raise ValidationFailed.single(
                "current_password", "The current password is wrong", "wrong_password"
            )
        user.password_hash = hash_password(data.new_password)
        _flush(uow.session)
        record_change(uow, actor, AuditAction.UPDATE, USER.key, user.id, {"password": [REDACTED, REDACTED]})
        uow.commit()


def user_choices(uow: UnitOfWork, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of active users, for owner and assignee pickers of any signed-in user.

    Names are not sensitive inside the company; every other user field stays behind ``user`` read.
    """
    with uow:
        return [
            (row.id, row.name)
            for row in uow.session.execute(
                select(User.id, User.name).where(User.is_active.is_(True)).order_by(User.name)
            )
        ]


# ---------------------------------------------------------------- teams


def _team_out(session: Session, team: Team) -> TeamOut:
    members = sorted(session.scalars(select(TeamMembership.user_id).where(TeamMembership.team_id == team.id)))
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        parent_id=team.parent_id,
        manager_id=team.manager_id,
        member_ids=members,
        created_at=team.created_at,
        updated_at=team.updated_at,
        version=team.version,
    )


def _check_team_references(
    session: Session,
    team_id: str | None,
    parent_id: str | None,
    manager_id: str | None,
    member_ids: list[str],
) -> None:
    errors: list[FieldError] = []
    if parent_id is not None:
        parents: dict[str, str | None] = {
            row.id: row.parent_id for row in session.execute(select(Team.id, Team.parent_id))
        }
        if parent_id not in parents:
            errors.append(
                FieldError("parent_id", "Unknown team {team_id}", "unknown_team", {"team_id": parent_id})
            )
        else:
            ancestor: str | None = parent_id
            while ancestor is not None:
                if ancestor == team_id:
                    errors.append(FieldError("parent_id", "A team cannot be inside itself", "cycle"))
                    break
                ancestor = parents.get(ancestor)
    user_ids = [uid for uid in [manager_id, *member_ids] if uid]
    known = set(session.scalars(select(User.id).where(User.id.in_(user_ids)))) if user_ids else set()
    if manager_id is not None and manager_id not in known:
        errors.append(
            FieldError("manager_id", "Unknown user {user_id}", "unknown_user", {"user_id": manager_id})
        )
    errors.extend(
        FieldError(f"member_ids.{index}", "Unknown user {user_id}", "unknown_user", {"user_id": member_id})
        for index, member_id in enumerate(member_ids)
        if member_id not in known
    )
    if errors:
        raise ValidationFailed(errors)


def _team_name_taken(session: Session, name: str, except_team_id: str | None = None) -> bool:
    """Names are unique as written, and also ignoring case where the database folds it (SQLite's
    ``lower()`` folds only ASCII letters, so the exact comparison is needed too)."""
    return _is_taken(session, Team.id, Team.name, name, except_team_id) or _is_taken(
        session, Team.id, func.lower(Team.name), name.lower(), except_team_id
    )


def _set_team_members(session: Session, team_id: str, member_ids: list[str]) -> None:
    session.execute(delete(TeamMembership).where(TeamMembership.team_id == team_id))
    for user_id in dict.fromkeys(member_ids):
        session.add(TeamMembership(team_id=team_id, user_id=user_id))


def create_team(uow: UnitOfWork, actor: Actor, data: TeamCreate) -> TeamOut:
    require(actor, TEAM.key, Action.CREATE)
    with uow:
        session = uow.session
        _check_team_references(session, None, data.parent_id, data.manager_id, data.member_ids)
        if _team_name_taken(session, data.name):
            raise ValidationFailed.single("name", "A team with this name already exists", "duplicate")
        team = Team(
            name=data.name,
            description=data.description,
            parent_id=data.parent_id,
            manager_id=data.manager_id,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        session.add(team)
        _flush(session, unique_field="name")
        _set_team_members(session, team.id, data.member_ids)
        result = _team_out(session, team)
        snapshot = result.model_dump(include={"name", "description", "parent_id", "manager_id", "member_ids"})
        record_change(
            uow, actor, AuditAction.CREATE, TEAM.key, team.id, {k: [None, v] for k, v in snapshot.items()}
        )
        uow.commit()
        return result


def _load_team(uow: UnitOfWork, actor: Actor, team_id: str, action: Action) -> Team:
    team = uow.session.get(Team, team_id)
    if team is None or not can_reach_record(
        actor, TEAM.key, Action.READ, owner_id=team.manager_id, team_id=team.id
    ):
        raise NotFound("Team not found")
    require_record_access(actor, TEAM.key, action, owner_id=team.manager_id, team_id=team.id)
    return team


def get_team(uow: UnitOfWork, actor: Actor, team_id: str) -> TeamOut:
    require(actor, TEAM.key, Action.READ)
    with uow:
        return _team_out(uow.session, _load_team(uow, actor, team_id, Action.READ))


def list_teams(uow: UnitOfWork, actor: Actor, *, limit: int, cursor: str | None) -> Page[TeamOut]:
    condition = scope_condition(
        actor, TEAM.key, Action.READ, owner_column=Team.manager_id, team_column=Team.id
    )
    with uow:
        return paginate(
            uow.session,
            select(Team).where(condition),
            Team.id,
            limit=limit,
            cursor=cursor,
            newest_first=False,
            convert=lambda team: _team_out(uow.session, team),
        )


def update_team(
    uow: UnitOfWork, actor: Actor, team_id: str, data: TeamUpdate, *, expected_version: int | None = None
) -> TeamOut:
    with uow:
        session = uow.session
        team = _load_team(uow, actor, team_id, Action.UPDATE)
        _check_version(team, expected_version)
        before = _team_out(session, team)
        changes = data.model_dump(exclude_unset=True)
        _check_team_references(
            session,
            team.id,
            changes.get("parent_id"),
            changes.get("manager_id"),
            changes.get("member_ids") or [],
        )
        if changes.get("name") and _team_name_taken(session, changes["name"], except_team_id=team.id):
            raise ValidationFailed.single("name", "A team with this name already exists", "duplicate")
        for name in ("name", "description"):
            if changes.get(name) is not None:
                setattr(team, name, changes[name])
        for name in ("parent_id", "manager_id"):
            if name in changes:
                setattr(team, name, changes[name])
        if changes.get("member_ids") is not None:
            _set_team_members(session, team.id, changes["member_ids"])
        team.updated_by = actor.user_id
        team.updated_at = utc_now()
        _flush(session, unique_field="name")
        after = _team_out(session, team)
        fields = {"name", "description", "parent_id", "manager_id", "member_ids"}
        change_log = diff(before.model_dump(include=fields), after.model_dump(include=fields))
        if change_log:
            record_change(uow, actor, AuditAction.UPDATE, TEAM.key, team.id, change_log)
        uow.commit()
        return after


def delete_team(uow: UnitOfWork, actor: Actor, team_id: str, *, expected_version: int | None = None) -> None:
    """Delete a team that has no sub-teams; its members stay users."""
    with uow:
        session = uow.session
        team = _load_team(uow, actor, team_id, Action.DELETE)
        _check_version(team, expected_version)
        if session.scalar(select(Team.id).where(Team.parent_id == team.id).limit(1)):
            raise Conflict("Move or delete the sub-teams first")
        snapshot = _team_out(session, team).model_dump(
            include={"name", "parent_id", "manager_id", "member_ids"}
        )
        session.execute(delete(TeamMembership).where(TeamMembership.team_id == team.id))
        session.delete(team)
        _flush(session)
        record_change(
            uow, actor, AuditAction.DELETE, TEAM.key, team_id, {k: [v, None] for k, v in snapshot.items()}
        )
        uow.commit()


# ---------------------------------------------------------------- roles


def _check_clearance(label: str) -> SecurityLevel:
    try:
        return SecurityLevel.from_label(label)
    except KeyError:
        raise ValidationFailed.single(
            "clearance", "Must be one of public, internal, confidential, secret", "invalid_choice"
        ) from None


def _check_grants(grants: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    errors: list[FieldError] = []
    known_types = {object_type.key for object_type in object_types()}
    for object_type, actions in grants.items():
        if object_type not in known_types:
            errors.append(FieldError(f"grants.{object_type}", "Unknown object type", "unknown_object_type"))
            continue
        for action, scope in actions.items():
            if action not in {a.value for a in Action}:
                errors.append(
                    FieldError(f"grants.{object_type}.{action}", "Unknown action", "unknown_action")
                )
            elif scope not in {s.value for s in Scope}:
                errors.append(FieldError(f"grants.{object_type}.{action}", "Unknown scope", "unknown_scope"))
    if errors:
        raise ValidationFailed(errors)
    return grants


def effective_grants(role: Role) -> dict[str, dict[str, str]]:
    """Stored grants, and for actions not stored, the object types' defaults for this role."""
    grants: dict[str, dict[str, str]] = {}
    for object_type in object_types():
        stored = (role.grants or {}).get(object_type.key, {})
        defaults = get_object_type(object_type.key).default_grants.get(role.key, {})
        grants[object_type.key] = {
            action.value: stored.get(action.value, defaults.get(action, Scope.NONE).value)
            for action in Action
        }
    return grants


def _role_out(role: Role) -> RoleOut:
    return RoleOut(
        id=role.id,
        key=role.key,
        name=role.name,
        description=role.description,
        clearance=SecurityLevel(role.clearance).label,
        is_builtin=role.is_builtin,
        grants=effective_grants(role),
        created_at=role.created_at,
        updated_at=role.updated_at,
        version=role.version,
    )


def list_roles(uow: UnitOfWork, actor: Actor) -> list[RoleOut]:
    require(actor, ROLE.key, Action.READ)
    with uow:
        roles = uow.session.scalars(
            select(Role).order_by(Role.is_builtin.desc(), Role.created_at, Role.key)
        ).all()
        return [_role_out(role) for role in roles]


def get_role(uow: UnitOfWork, actor: Actor, role_id: str) -> RoleOut:
    require(actor, ROLE.key, Action.READ)
    with uow:
        role = uow.session.get(Role, role_id)
        if role is None:
            raise NotFound("Role not found")
        return _role_out(role)


def create_role(uow: UnitOfWork, actor: Actor, data: RoleCreate) -> RoleOut:
    require(actor, ROLE.key, Action.CREATE)
    clearance = _check_clearance(data.clearance)
    grants = _check_grants(data.grants)
    with uow:
        if uow.session.scalar(select(Role.id).where(Role.key == data.key)):
            raise ValidationFailed.single("key", "A role with this key already exists", "duplicate")
        role = Role(
            key=data.key,
            name=data.name,
            description=data.description,
            clearance=int(clearance),
            grants=grants,
            is_builtin=False,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(role)
        _flush(uow.session, unique_field="key")
        result = _role_out(role)
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            ROLE.key,
            role.id,
            {
                "key": [None, role.key],
                "name": [None, role.name],
                "clearance": [None, result.clearance],
                "grants": [None, grants],
            },
        )
        uow.commit()
        return result


def update_role(
    uow: UnitOfWork, actor: Actor, role_id: str, data: RoleUpdate, *, expected_version: int | None = None
) -> RoleOut:
    """Change a role's name, clearance or grants; given grants replace the stored ones per object type."""
    require(actor, ROLE.key, Action.UPDATE)
    with uow:
        role = uow.session.get(Role, role_id)
        if role is None:
            raise NotFound("Role not found")
        _check_version(role, expected_version)
        before = {
            "name": role.name,
            "description": role.description,
            "clearance": SecurityLevel(role.clearance).label,
            "grants": effective_grants(role),
        }
        changes = data.model_dump(exclude_unset=True)
        if changes.get("clearance") is not None:
            role.clearance = int(_check_clearance(changes["clearance"]))
        if changes.get("grants") is not None:
            merged = dict(role.grants or {})
            merged.update(_check_grants(changes["grants"]))
            role.grants = merged
        for name in ("name", "description"):
            if changes.get(name) is not None:
                setattr(role, name, changes[name])
        role.updated_by = actor.user_id
        _flush(uow.session)
        after = {
            "name": role.name,
            "description": role.description,
            "clearance": SecurityLevel(role.clearance).label,
            "grants": effective_grants(role),
        }
        change_log = diff(before, after)
        if change_log:
            record_change(uow, actor, AuditAction.UPDATE, ROLE.key, role.id, change_log)
        result = _role_out(role)
        uow.commit()
        return result


def delete_role(uow: UnitOfWork, actor: Actor, role_id: str) -> None:
    """Delete a custom role nobody has; built-in roles stay."""
    require(actor, ROLE.key, Action.DELETE)
    with uow:
        role = uow.session.get(Role, role_id)
        if role is None:
            raise NotFound("Role not found")
        if role.is_builtin:
            raise Conflict("Built-in roles cannot be deleted")
        if uow.session.scalar(select(User.id).where(User.role_id == role.id).limit(1)):
            raise Conflict("Give the role's users another role first")
        uow.session.delete(role)
        record_change(uow, actor, AuditAction.DELETE, ROLE.key, role_id, {"key": [role.key, None]})
        uow.commit()


# ---------------------------------------------------------------- API tokens


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut.model_validate(token, from_attributes=True)


def create_token(
    uow: UnitOfWork, actor: Actor, data: TokenCreate, *, user_id: str | None = None
) -> TokenCreated:
    """Create an API token for the actor (or, with ``all`` create scope, for another user).

    The secret is returned once; only its digest is stored.
    """
    owner_id = user_id or actor.user_id
    if owner_id is None:
        raise ValidationFailed.single("user_id", "Name the user the token is for", "required")
    require_record_access(actor, TOKEN.key, Action.CREATE, owner_id=owner_id)
    if data.expires_at is not None and data.expires_at <= utc_now():
        raise ValidationFailed.single("expires_at", "The expiry must be in the future", "in_the_past")
    with uow:
        owner = uow.session.get(User, owner_id)
        if owner is None or not owner.is_active:
            raise ValidationFailed.single("user_id", "Unknown or inactive user", "unknown_user")
        secret = API_TOKEN_PREFIX + new_token()
        token = ApiToken(
            user_id=owner.id,
            name=data.name,
            prefix=secret[:12],
            token_digest=digest(secret),
            scope=data.scope.value,
            expires_at=data.expires_at,
            created_by=actor.user_id,
            updated_by=actor.user_id,
        )
        uow.session.add(token)
        uow.session.flush()
        record_change(
            uow,
            actor,
            AuditAction.CREATE,
            TOKEN.key,
            token.id,
            {"name": [None, token.name], "user_id": [None, owner.id], "scope": [None, token.scope]},
        )
        result = TokenCreated(**_token_out(token).model_dump(), token=secret)
        uow.commit()
        return result


def list_tokens(
    uow: UnitOfWork, actor: Actor, *, limit: int, cursor: str | None, user_id: str | None = None
) -> Page[TokenOut]:
    """Tokens the actor may see (its own, or all for admins), newest first."""
    condition = scope_condition(actor, TOKEN.key, Action.READ, owner_column=ApiToken.user_id)
    with uow:
        statement = select(ApiToken).where(condition)
        if user_id:
            statement = statement.where(ApiToken.user_id == user_id)
        return paginate(uow.session, statement, ApiToken.id, limit=limit, cursor=cursor, convert=_token_out)


def revoke_token(uow: UnitOfWork, actor: Actor, token_id: str) -> TokenOut:
    """Revoke a token at once; revoking twice is harmless."""
    with uow:
        token = uow.session.get(ApiToken, token_id)
        if token is None or not can_reach_record(actor, TOKEN.key, Action.READ, owner_id=token.user_id):
            raise NotFound("API token not found")
        require_record_access(actor, TOKEN.key, Action.DELETE, owner_id=token.user_id)
        if token.revoked_at is None:
            token.revoked_at = utc_now()
            token.updated_by = actor.user_id
            _flush(uow.session)
            record_change(
                uow, actor, AuditAction.UPDATE, TOKEN.key, token.id, {"revoked_at": [None, token.revoked_at]}
            )
        result = _token_out(token)
        uow.commit()
        return result
