"""What accounts and contacts have in common: phones and emails, tags, owner and team, the search
text, and how a record is shown to a reader (masked to their clearance, sensitive reads audited).

Used inside an open unit of work by the account and contact use cases; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from loopcrm.modules.customers.identifiers import phone_search_key
from loopcrm.modules.customers.models import Account, Contact, ContactPoint, ContactPointKind, Tag, Tagging
from loopcrm.modules.customers.names import search_terms
from loopcrm.modules.customers.schemas import (
    AccountUpdate,
    ContactPointOut,
    ContactUpdate,
    EmailIn,
    PhoneIn,
    TagRef,
)
from loopcrm.modules.customers.service.custom_fields import (
    CUSTOM_FIELD_PREFIX,
    clean_values,
    definitions,
    field_levels,
)
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, record_change, record_sensitive_read
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.db import utc_now
from loopcrm.platform.errors import FieldError, NotFound, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.notifications.models import NotificationKind
from loopcrm.platform.notifications.service import notify
from loopcrm.platform.permissions import (
    Action,
    Actor,
    MaskedValues,
    SecurityLevel,
    can_reach_record,
    get_object_type,
    mask_fields,
    require_record_access,
    scope_condition,
)
from loopcrm.platform.unit_of_work import UnitOfWork


def flush(session: Session) -> None:
    """Write pending changes, turning a concurrent edit into :class:`StaleVersion` and a unique
    value taken by a concurrent request into a field error."""
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion() from None
    except IntegrityError as error:
        text = str(error.orig).lower()
        for column in ("credit_code", "external_id"):
            if column in text:
                raise ValidationFailed.single(column, "This value is already taken", "duplicate") from None
        raise


def check_version(record: Any, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise StaleVersion()


RecordT = TypeVar("RecordT", Account, Contact)
MODEL_OF_KIND: dict[str, type[Account] | type[Contact]] = {"account": Account, "contact": Contact}


def readable(actor: Actor, record_kind: str, *, deleted: bool = False) -> Select[Any]:
    """The accounts or contacts the actor may read: the live ones, or with ``deleted`` the
    deleted ones (lists, and so exports, and the global search start from this)."""
    model = MODEL_OF_KIND[record_kind]
    return select(model).where(
        scope_condition(
            actor,
            OBJECT_TYPE_OF_KIND[record_kind].key,
            Action.READ,
            owner_column=model.owner_id,
            team_column=model.team_id,
        ),
        model.deleted_at.is_not(None) if deleted else model.deleted_at.is_(None),
    )


def load_record(
    uow: UnitOfWork,
    actor: Actor,
    model: type[RecordT],
    object_type: str,
    record_id: str,
    action: Action,
    *,
    deleted: bool,
    not_found: str,
) -> RecordT:
    """The account or contact if the actor may reach it for ``action``; a record the actor may not
    even read is "not found" (``not_found`` is the message), so its existence does not leak."""
    record = uow.session.get(model, record_id)
    if (
        record is None
        or (record.deleted_at is not None) != deleted
        or not can_reach_record(
            actor, object_type, Action.READ, owner_id=record.owner_id, team_id=record.team_id
        )
    ):
        raise NotFound(not_found)
    require_record_access(actor, object_type, action, owner_id=record.owner_id, team_id=record.team_id)
    return record


def mark_deleted(
    uow: UnitOfWork, actor: Actor, record: Account | Contact, object_type: str, expected_version: int | None
) -> None:
    """Hide an account or contact (soft delete) and audit it; the caller has checked the right."""
    check_version(record, expected_version)
    record.deleted_at = utc_now()
    record.updated_by = actor.user_id
    flush(uow.session)
    changes = {"deleted_at": [None, record.deleted_at]}
    record_change(uow, actor, AuditAction.DELETE, object_type, record.id, changes)


def mark_restored(uow: UnitOfWork, actor: Actor, record: Account | Contact, object_type: str) -> None:
    """Bring a deleted account or contact back and audit it; the caller has checked the right."""
    deleted_at, record.deleted_at = record.deleted_at, None
    record.updated_by = actor.user_id
    flush(uow.session)
    changes = {"deleted_at": [deleted_at, None]}
    record_change(uow, actor, AuditAction.RESTORE, object_type, record.id, changes)


@dataclass(frozen=True)
class RecordUpdate(Generic[RecordT]):
    """An account's or contact's update under way (from :func:`begin_update`): the steps both kinds
    share, so that they check and write their common fields the same way and in the same order."""

    uow: UnitOfWork
    actor: Actor
    record: RecordT
    record_kind: str
    data: AccountUpdate | ContactUpdate
    values_of: Callable[[Session, RecordT], dict[str, Any]]
    before: dict[str, Any]  # the record's values before the update
    levels: dict[str, SecurityLevel]  # its custom fields' levels

    @property
    def given(self) -> set[str]:
        """The fields the update changes; the others stay as they are."""
        return self.data.model_fields_set

    @property
    def object_type(self) -> str:
        return OBJECT_TYPE_OF_KIND[self.record_kind].key

    def check_owner_and_team(self) -> None:
        """Check a new owner or team (see :func:`check_owner_and_team`)."""
        if "owner_id" in self.given or "team_id" in self.given:
            check_owner_and_team(
                self.uow.session,
                self.actor,
                self.object_type,
                Action.UPDATE,
                self.record.owner_id,
                self.record.team_id,
            )

    def set_shared_fields(self) -> None:
        """Set the custom fields, phones and emails, and tags the update gives. Phones and emails
        are replaced together, so an update that gives only one of them keeps the other."""
        session, record, data, given = self.uow.session, self.record, self.data, self.given
        if "custom_fields" in given:
            record.custom_fields = clean_values(
                session, self.record_kind, data.custom_fields, record.custom_fields
            )
        phones, emails = points_as_input(self.before)
        if "phones" in given or "emails" in given:
            phones = data.phones if "phones" in given else phones
            emails = data.emails if "emails" in given else emails
            set_contact_points(session, self.record_kind, record.id, phones, emails)
        if "tag_ids" in given:
            set_tags(session, self.record_kind, record.id, check_tags(session, data.tag_ids))

    def finish(self, name: str) -> dict[str, Any]:
        """Audit what changed, stamp who changed it, tell a new owner (``name`` names the record
        in the notice), and return the record's values after the update."""
        session, record = self.uow.session, self.record
        flush(session)
        after = self.values_of(session, record)
        change_log = diff(audit_snapshot(self.before), audit_snapshot(after))
        if not change_log:
            return after
        record.updated_by = self.actor.user_id
        record.updated_at = utc_now()  # phones, emails, tags and jobs live in other tables
        flush(session)
        record_change(self.uow, self.actor, AuditAction.UPDATE, self.object_type, record.id, change_log)
        if "owner_id" in change_log:
            notify_new_owner(self.uow, self.actor, self.record_kind, record.id, name, record.owner_id)
        return self.values_of(session, record)


def begin_update(
    uow: UnitOfWork,
    actor: Actor,
    record: RecordT,
    record_kind: str,
    data: AccountUpdate | ContactUpdate,
    columns: Sequence[str],
    values_of: Callable[[Session, RecordT], dict[str, Any]],
    expected_version: int | None,
) -> RecordUpdate[RecordT]:
    """Start updating an account or contact the actor may update: check the version, refuse
    fields above the actor's clearance, and set the given ``columns`` on the record. The caller
    then checks its own rules and goes on with the :class:`RecordUpdate` it gets back."""
    check_version(record, expected_version)
    session = uow.session
    before = values_of(session, record)
    object_type = OBJECT_TYPE_OF_KIND[record_kind].key
    levels = custom_levels(session, object_type)
    given = data.model_fields_set
    refuse_hidden_fields(actor, object_type, given, data.custom_fields, levels)
    for name in columns:
        if name in given:
            setattr(record, name, plain(getattr(data, name)))
    return RecordUpdate(uow, actor, record, record_kind, data, values_of, before, levels)


# ---------------------------------------------------------------- phones and emails


def set_contact_points(
    session: Session, record_kind: str, record_id: str, phones: Sequence[PhoneIn], emails: Sequence[EmailIn]
) -> None:
    """Replace the record's phones and emails; the same value twice is kept once."""
    session.execute(
        delete(ContactPoint).where(
            ContactPoint.record_kind == record_kind, ContactPoint.record_id == record_id
        )
    )
    session.add_all(new_contact_points(record_kind, record_id, phones, emails))


def new_contact_points(
    record_kind: str, record_id: str, phones: Sequence[PhoneIn], emails: Sequence[EmailIn]
) -> list[ContactPoint]:
    """The rows that store a record's phones and emails, not yet added to a session: the same
    value once, the first one marked primary (or else the first) as the primary."""
    return [ContactPoint(**values) for values in contact_point_values(record_kind, record_id, phones, emails)]


def contact_point_values(
    record_kind: str, record_id: str, phones: Sequence[PhoneIn], emails: Sequence[EmailIn]
) -> list[dict[str, Any]]:
    """The column values of :func:`new_contact_points`' rows, for a multi-row INSERT (an import
    writes a chunk's phones and emails with one statement instead of one ORM object each)."""
    rows: list[dict[str, Any]] = []
    entries = [
        (ContactPointKind.PHONE, [(p.number, p.label.value, p.is_primary) for p in phones]),
        (ContactPointKind.EMAIL, [(e.address, e.label.value, e.is_primary) for e in emails]),
    ]
    for kind, points in entries:
        marked = [index for index, (_, _, is_primary) in enumerate(points) if is_primary]
        primary = (marked or [0])[0]
        seen: set[str] = set()
        for position, (value, label, _) in enumerate(points):
            if value in seen:
                continue
            seen.add(value)
            is_phone = kind is ContactPointKind.PHONE
            rows.append(
                {
                    "record_kind": record_kind,
                    "record_id": record_id,
                    "kind": kind.value,
                    "value": value,
                    "search_key": phone_search_key(value) if is_phone else value.lower(),
                    "label": label,
                    "is_primary": position == primary,
                    "position": position,
                }
            )
    return rows


def contact_points_of(
    session: Session, record_kind: str, record_ids: Iterable[str]
) -> dict[str, dict[str, list[ContactPointOut]]]:
    """``{record id: {"phones": [...], "emails": [...]}}``, primary first."""
    ids = sorted(set(record_ids))
    found: dict[str, dict[str, list[ContactPointOut]]] = {
        record_id: {"phones": [], "emails": []} for record_id in ids
    }
    if not ids:
        return found
    rows = session.scalars(
        select(ContactPoint)
        .where(ContactPoint.record_kind == record_kind, ContactPoint.record_id.in_(ids))
        .order_by(ContactPoint.record_id, ContactPoint.is_primary.desc(), ContactPoint.position)
    )
    for point in rows:
        bucket = "phones" if point.kind == ContactPointKind.PHONE.value else "emails"
        found[point.record_id][bucket].append(
            ContactPointOut(value=point.value, label=point.label, is_primary=point.is_primary)  # type: ignore[arg-type]
        )
    return found


def points_as_input(points: dict[str, list[ContactPointOut]]) -> tuple[list[PhoneIn], list[EmailIn]]:
    """Stored phones and emails as input again (for an update that changes only one of the two)."""
    phones = [PhoneIn(number=p.value, label=p.label, is_primary=p.is_primary) for p in points["phones"]]
    emails = [EmailIn(address=e.value, label=e.label, is_primary=e.is_primary) for e in points["emails"]]
    return phones, emails


# ---------------------------------------------------------------- tags


def check_tags(session: Session, tag_ids: Sequence[str], field_name: str = "tag_ids") -> list[str]:
    wanted = list(dict.fromkeys(tag_ids))
    if not wanted:
        return []
    known = set(session.scalars(select(Tag.id).where(Tag.id.in_(wanted))))
    errors = [
        FieldError(f"{field_name}.{index}", "No tag has this id", "unknown_tag")
        for index, tag_id in enumerate(wanted)
        if tag_id not in known
    ]
    if errors:
        raise ValidationFailed(errors)
    return wanted


def tag_names(session: Session, tag_ids: Sequence[str]) -> dict[str, str]:
    if not tag_ids:
        return {}
    return {
        key: value
        for key, value in session.execute(select(Tag.id, Tag.name).where(Tag.id.in_(list(tag_ids))))
    }


def set_tags(session: Session, record_kind: str, record_id: str, tag_ids: Sequence[str]) -> None:
    session.execute(delete(Tagging).where(Tagging.record_kind == record_kind, Tagging.record_id == record_id))
    for tag_id in dict.fromkeys(tag_ids):
        session.add(Tagging(tag_id=tag_id, record_kind=record_kind, record_id=record_id))


def tags_of(session: Session, record_kind: str, record_ids: Iterable[str]) -> dict[str, list[TagRef]]:
    ids = sorted(set(record_ids))
    found: dict[str, list[TagRef]] = {record_id: [] for record_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(Tagging.record_id, Tag.id, Tag.name, Tag.colour)
        .join(Tag, Tag.id == Tagging.tag_id)
        .where(Tagging.record_kind == record_kind, Tagging.record_id.in_(ids))
        .order_by(Tag.name)
    )
    for record_id, tag_id, name, colour in rows:
        found[record_id].append(TagRef(id=tag_id, name=name, colour=colour))
    return found


# ---------------------------------------------------------------- owner and team


def check_owner_and_team(
    session: Session,
    actor: Actor,
    object_type: str,
    action: Action,
    owner_id: str | None,
    team_id: str | None,
    *,
    active_user_ids: Container[str] = frozenset(),
    team_ids: Container[str] = frozenset(),
) -> None:
    """The owner must be an active user and the team must exist, and the actor must be allowed to
    give a record this owner and team (a rep with *own* scope cannot hand a record to a colleague).
    ``active_user_ids`` are users the caller read as active in its transaction, and ``team_ids``
    teams it read (an import chunk reads its rows' owners and the teams at once): they are not
    read again.

    Checked without autoflush: an update has already set the new ids on the record, and flushing
    an unknown one would break its foreign key (a server error) instead of answering this error.
    """
    with session.no_autoflush:
        if (
            owner_id is not None
            and owner_id not in active_user_ids
            and session.scalar(select(User.id).where(User.id == owner_id, User.is_active.is_(True))) is None
        ):
            raise ValidationFailed.single("owner_id", "No active user has this id", "unknown_user")
        if team_id is not None and team_id not in team_ids and session.get(Team, team_id) is None:
            raise ValidationFailed.single("team_id", "No team has this id", "unknown_team")
    if not can_reach_record(actor, object_type, action, owner_id=owner_id, team_id=team_id):
        raise ValidationFailed.single(
            "owner_id", "You may not give a record to this owner or team", "owner_not_allowed"
        )


def user_names(session: Session, user_ids: Iterable[str | None]) -> dict[str, str]:
    ids = sorted({user_id for user_id in user_ids if user_id})
    if not ids:
        return {}
    return {key: value for key, value in session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


# ---------------------------------------------------------------- search text


def build_search_text(names: Sequence[str | None], identifiers: Sequence[str | None]) -> str:
    """The words the full-text index holds: name terms (Hanzi substrings, pinyin, initials, Latin
    words) and public identifiers such as credit codes, space-separated, one index token each.

    Only fields every reader may see belong here: the index cannot tell who is asking. Phones and
    emails (internal) are searched through ``contact_points`` by readers cleared for them (see
    ``service/search.py``). Identifiers are expected to be letters and digits (credit codes).
    """
    terms = search_terms(*[name for name in names if name])
    terms.extend(identifier.lower() for identifier in identifiers if identifier)
    return " ".join(dict.fromkeys(term for term in terms if term))


# ---------------------------------------------------------------- showing a record


def present(
    uow: UnitOfWork,
    actor: Actor,
    object_type: str,
    record_id: str,
    values: dict[str, Any],
    levels: dict[str, SecurityLevel],
    *,
    is_read: bool = True,
) -> MaskedValues:
    """``values`` (with ``custom_fields`` as a dict) masked to the actor's clearance.

    Custom fields are masked one by one at their own level (``custom_fields.<key>`` in
    ``masked``; ``levels`` from :func:`custom_levels`). Reading confidential values of one
    record is audited here; lists audit a page at once (:func:`audit_page_read`), and echoing
    back what the actor just wrote (``is_read=False``) is not a read.
    """
    custom = values.pop("custom_fields", {}) or {}
    flat = dict(values)
    flat.update({CUSTOM_FIELD_PREFIX + key: value for key, value in custom.items()})
    shown = mask_fields(actor, object_type, flat, extra_levels=levels)
    result = {key: value for key, value in shown.values.items() if not key.startswith(CUSTOM_FIELD_PREFIX)}
    result["custom_fields"] = {
        key.removeprefix(CUSTOM_FIELD_PREFIX): value
        for key, value in shown.values.items()
        if key.startswith(CUSTOM_FIELD_PREFIX) and key not in shown.masked
    }
    if is_read:
        record_sensitive_read(uow, actor, object_type, record_id, shown.revealed_sensitive)
    return MaskedValues(result, shown.masked, shown.revealed_sensitive)


def custom_levels(session: Session, object_type: str) -> dict[str, SecurityLevel]:
    """The security levels of the custom fields of ``object_type``, for :func:`present`."""
    return field_levels(definitions(session, object_type))


def audit_page_read(uow: UnitOfWork, actor: Actor, object_type: str, shown: dict[str, MaskedValues]) -> None:
    """One audit entry for a list page that showed confidential values: which fields of which records.

    One entry per page rather than per row keeps a list a cheap read while still answering
    "who saw the birthdays of these contacts".
    """
    if actor.is_system:
        return
    revealed: dict[str, list[str]] = {}
    for record_id, values in shown.items():
        for name in values.revealed_sensitive:
            revealed.setdefault(name, []).append(record_id)
    if revealed:
        record_change(
            uow, actor, AuditAction.READ, object_type, None, {k: sorted(v) for k, v in revealed.items()}
        )


def plain(value: Any) -> Any:
    """An enum member as its stored value; anything else as it is."""
    return value.value if hasattr(value, "value") else value


_NOT_AUDITED = {"id", "created_at", "updated_at", "created_by", "updated_by", "version", "deleted_at"}


def audit_snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """The audited form of a record's values: phones, emails and tags as plain lists, custom
    fields one by one, so the field history shows each change on its own line."""
    snapshot = {key: value for key, value in values.items() if key not in _NOT_AUDITED}
    snapshot["phones"] = [point.value for point in values["phones"]]
    snapshot["emails"] = [point.value for point in values["emails"]]
    snapshot["tags"] = [tag.name for tag in values["tags"]]
    if "employments" in values:
        snapshot["employments"] = [
            f"{job.account_name} {job.title or ''} {job.started_on or ''}–{job.ended_on or ''}".strip()
            for job in values["employments"]
        ]
    custom = snapshot.pop("custom_fields")
    snapshot.update({f"custom_fields.{key}": value for key, value in custom.items()})
    return snapshot


def refuse_hidden_fields(
    actor: Actor, object_type: str, given: set[str], custom: dict[str, Any], levels: dict[str, SecurityLevel]
) -> None:
    """Refuse to change a field above the actor's clearance: whoever cannot see a value cannot
    judge what they overwrite."""
    all_levels = {**get_object_type(object_type).field_levels, **levels}
    names = (set(given) - {"custom_fields"}) | {f"custom_fields.{key}" for key in custom}
    hidden = sorted(name for name in names if all_levels.get(name, SecurityLevel.PUBLIC) > actor.clearance)
    if hidden:
        raise ValidationFailed.single(
            hidden[0], "You may not change a field you cannot see", "field_not_allowed"
        )


_ASSIGNED_MESSAGES = {
    "account": N_("{actor} made you the owner of the account {name}"),
    "contact": N_("{actor} made you the owner of the contact {name}"),
}


def notify_new_owner(
    uow: UnitOfWork, actor: Actor, record_kind: str, record_id: str, name: str, owner_id: str | None
) -> None:
    """Tell a user that someone else made them responsible for a record (in-app notification,
    committed with the change). Taking a record yourself needs no notice."""
    if owner_id is None or owner_id == actor.user_id:
        return
    notify(
        uow,
        owner_id,
        NotificationKind.ASSIGNED_TO_YOU,
        _ASSIGNED_MESSAGES[record_kind],
        {"actor": actor.display_name or actor.label, "name": name},
        f"/customers/{record_kind}s/{record_id}",
    )
