"""Finding records that look like the same customer: on create and import (a warning, never a
refusal), for one record's "possible duplicates", and for the list of possible duplicates.

A record is a possible duplicate of a candidate when it shares a strong identifier (credit code,
external id, an email address, a normalised phone number) or has a very similar name in the same
city. Every lookup is an indexed equality or prefix query; only the fuzzy name comparison reads a
bounded set of rows (same city, same first characters of the matching key) and scores them with
rapidfuzz. Only live records the actor may read are returned, so a warning never reveals a
colleague's customer to someone outside their scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from loopcrm.modules.customers.identifiers import phone_search_key
from loopcrm.modules.customers.models import Account, Contact, ContactPoint, ContactPointKind, RecordKind
from loopcrm.modules.customers.names import display_name, normalize_name_for_matching, pinyin_keys
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    ContactCreate,
    DuplicateMatch,
    DuplicatePair,
)
from loopcrm.modules.customers.service import records
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND
from loopcrm.platform.permissions import Action, Actor, require, scope_condition
from loopcrm.platform.unit_of_work import UnitOfWork

# rapidfuzz's ratio is 100 · 2·matches / (len a + len b) over the name keys. At 90 one inserted
# or dropped character counts as similar once the shorter key has 5 characters ("acmetrading" /
# "acmetradng": 95), one changed character once it has 10 ("jonathansmith" / "jonathonsmith": 92),
# while short names that differ in one character stay apart ("王芳" / "王方": 50, "johnsmith" /
# "joansmith": 89) — in a 2–3 character Chinese name one character is another person.
SIMILAR_NAME_RATIO = 90
# Below this length a name key is only compared for equality (and, for people, by pinyin).
MIN_FUZZY_KEY_LENGTH = 5
# A key that is the start of the other ("上海晨光文具" / "上海晨光文具用品": a shop name with and
# without its trade) is similar when the shorter one is at least this long; shorter prefixes
# ("上海", "北京") are place names, not companies.
MIN_PREFIX_KEY_LENGTH = 4
# The fuzzy comparison reads rows of the same city whose key starts with the same two characters
# (a typo in the first two characters is not found: the price of an indexed query) and at most
# this many of them, so a warning costs a few milliseconds even in a city of a million contacts.
FUZZY_PREFIX_LENGTH = 2
MAX_FUZZY_CANDIDATES = 2000
MAX_MATCHES = 20
# The list of possible duplicates looks at this many of the newest records per page.
SCAN_WINDOW = 200
# Upper bound of a prefix range: the highest code point sorts after every continuation of the
# prefix, in SQLite's binary order and in PostgreSQL's "C" collation.
_PREFIX_END = "\U0010ffff"


class DuplicateReason(StrEnum):
    """Why a record looks like the same customer; listed strongest first."""

    CREDIT_CODE = "credit_code"  # the same unified social credit code (accounts)
    EXTERNAL_ID = "external_id"  # the same id in another system
    EMAIL = "email"  # an email address in common
    PHONE = "phone"  # a phone number in common (compared in E.164)
    SIMILAR_NAME = "similar_name"  # the same or a very similar name in the same city


_STRENGTH = {reason.value: rank for rank, reason in enumerate(DuplicateReason)}


@dataclass(frozen=True)
class DuplicateCandidate:
    """What duplicate detection compares, taken from an input (create, import) or a stored record.

    Phones are E.164 and emails lowercased, as the schemas store them.
    """

    name: str
    city: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    credit_code: str | None = None
    external_id: str | None = None
    family_name_length: int = 0  # for the pinyin of Chinese names (contacts)

    @property
    def name_key(self) -> str:
        return normalize_name_for_matching(self.name) if self.name else ""


def candidate_from_input(data: AccountCreate | ContactCreate) -> DuplicateCandidate:
    """The candidate of a create (or update, or import row) input."""
    emails = tuple(email.address.lower() for email in data.emails)
    phones = tuple(phone.number for phone in data.phones)
    if isinstance(data, AccountCreate):
        return DuplicateCandidate(
            name=data.name,
            city=data.city,
            emails=emails,
            phones=phones,
            credit_code=data.credit_code,
            external_id=data.external_id,
        )
    return DuplicateCandidate(
        name=display_name(data.family_name, data.given_name),
        city=data.city,
        emails=emails,
        phones=phones,
        external_id=data.external_id,
        family_name_length=len(data.family_name),
    )


def _candidate_of_record(session: Session, record_kind: str, record: Any) -> DuplicateCandidate:
    points = records.contact_points_of(session, record_kind, [record.id])[record.id]
    common = {
        "city": record.city,
        "emails": tuple(point.value.lower() for point in points["emails"]),
        "phones": tuple(point.value for point in points["phones"]),
        "external_id": record.external_id,
    }
    if record_kind == RecordKind.ACCOUNT.value:
        return DuplicateCandidate(name=record.name, credit_code=record.credit_code, **common)
    return DuplicateCandidate(name=record.full_name, family_name_length=len(record.family_name), **common)


def _label_column(model: Any) -> Any:
    return model.name if model is Account else model.full_name


def in_places(city_column: Any, places: Iterable[str]) -> ColumnElement[bool]:
    """The record's city is one of ``places``, written so that no index on the city serves it.

    The name-key indexes find a name's few candidates; the city only narrows them. SQLite keeps no
    table statistics unless ANALYZE runs, and without them it prefers any index that starts with
    the city (``contacts (city, full_name, id)``, made for lists) and walks the whole city: 345 ms
    instead of 0.3 ms for one duplicate check in a city of 100,000 contacts. ``coalesce`` hides the
    column from the planner on both engines without changing the result.
    """
    return func.coalesce(city_column, "").in_(sorted(places))


def _prefix_condition(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``: an index range, checked again with LIKE so a collation
    that orders differently can only miss rows, never add wrong ones."""
    return and_(column >= prefix, column < prefix + _PREFIX_END, column.startswith(prefix, autoescape=True))


def _points_sharing(
    session: Session, record_kind: str, kind: ContactPointKind, keys: Iterable[str]
) -> list[tuple[str, str]]:
    """``(record id, search key)`` of phones or emails with one of ``keys``."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = session.execute(
        select(ContactPoint.record_id, ContactPoint.search_key).where(
            ContactPoint.kind == kind.value,
            ContactPoint.search_key.in_(wanted),
            ContactPoint.record_kind == record_kind,
        )
    )
    return [(row.record_id, row.search_key) for row in rows]


def _similar_name_ids(
    session: Session, model: Any, candidate: DuplicateCandidate, visible: ColumnElement[bool]
) -> set[str]:
    """Live, visible records with the same or a very similar name in the same city."""
    key = candidate.name_key
    if not key:
        return set()
    found: set[str] = set()
    live = and_(model.deleted_at.is_(None), visible)
    if candidate.city:
        same_place = and_(live, in_places(model.city, [candidate.city]))
    elif model is Account:
        same_place = live  # a company's full name is distinctive enough without a city
    else:
        return set()  # two people called 王芳 with no city known are not a finding
    exact = [model.name_key == key]
    if len(key) >= MIN_PREFIX_KEY_LENGTH:
        prefixes = [key[:end] for end in range(MIN_PREFIX_KEY_LENGTH, len(key))]
        exact.append(_prefix_condition(model.name_key, key))  # theirs continues ours
        if prefixes:
            exact.append(model.name_key.in_(prefixes))  # ours continues theirs
    if model is Contact:
        full_pinyin, _ = pinyin_keys(candidate.name, family_name_length=candidate.family_name_length)
        if full_pinyin and full_pinyin != key:
            exact.append(model.name_pinyin == full_pinyin)  # 王芳 / 汪芳: the same when spoken
    found.update(session.scalars(select(model.id).where(same_place, or_(*exact)).limit(MAX_FUZZY_CANDIDATES)))
    if candidate.city and len(key) >= MIN_FUZZY_KEY_LENGTH:
        rows = session.execute(
            select(model.id, model.name_key)
            .where(same_place, _prefix_condition(model.name_key, key[:FUZZY_PREFIX_LENGTH]))
            .limit(MAX_FUZZY_CANDIDATES)
        )
        for record_id, other_key in rows:
            if fuzz.ratio(key, other_key) >= SIMILAR_NAME_RATIO:
                found.add(record_id)
    return found


def find_duplicates(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: str,
    candidate: DuplicateCandidate | AccountCreate | ContactCreate,
    *,
    exclude_id: str | None = None,
    limit: int = MAX_MATCHES,
) -> list[DuplicateMatch]:
    """Live records of ``record_kind`` the actor may read that look like ``candidate``, strongest
    first. Runs inside the caller's open unit of work (create, import) and writes nothing.

    An actor who may not read records of this kind at all gets no warning rather than an error:
    the warning must never stop a create.
    """
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    if not actor.can(object_type.key, Action.READ):
        return []
    if not isinstance(candidate, DuplicateCandidate):
        candidate = candidate_from_input(candidate)
    session = uow.session
    model: Any = records.MODEL_OF_KIND[record_kind]
    visible = scope_condition(
        actor, object_type.key, Action.READ, owner_column=model.owner_id, team_column=model.team_id
    )
    reasons: dict[str, set[str]] = {}

    def add(record_ids: Iterable[str], reason: DuplicateReason) -> None:
        for record_id in record_ids:
            reasons.setdefault(record_id, set()).add(reason.value)

    if candidate.credit_code and model is Account:
        add(
            session.scalars(select(Account.id).where(Account.credit_code == candidate.credit_code)),
            DuplicateReason.CREDIT_CODE,
        )
    if candidate.external_id:
        add(
            session.scalars(select(model.id).where(model.external_id == candidate.external_id)),
            DuplicateReason.EXTERNAL_ID,
        )
    emails = {email.lower() for email in candidate.emails}
    add(
        (rid for rid, _ in _points_sharing(session, record_kind, ContactPointKind.EMAIL, emails)),
        DuplicateReason.EMAIL,
    )
    phones = {phone_search_key(phone) for phone in candidate.phones}
    add(
        (rid for rid, _ in _points_sharing(session, record_kind, ContactPointKind.PHONE, phones)),
        DuplicateReason.PHONE,
    )
    add(_similar_name_ids(session, model, candidate, visible), DuplicateReason.SIMILAR_NAME)
    reasons.pop(exclude_id or "", None)
    if not reasons:
        return []
    rows = session.execute(
        select(model.id, _label_column(model)).where(
            model.id.in_(sorted(reasons)), model.deleted_at.is_(None), visible
        )
    )
    matches = [
        DuplicateMatch(
            record_kind=record_kind,  # type: ignore[arg-type]
            id=record_id,
            label=label,
            reasons=sorted(reasons[record_id], key=_STRENGTH.__getitem__),
        )
        for record_id, label in rows
    ]
    matches.sort(key=lambda match: (_STRENGTH[match.reasons[0]], -len(match.reasons), match.label, match.id))
    return matches[:limit]


def duplicates_of(uow: UnitOfWork, actor: Actor, record_kind: str, record_id: str) -> list[DuplicateMatch]:
    """The possible duplicates of one record the actor may read (404 when it may not)."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    model: Any = records.MODEL_OF_KIND[record_kind]
    require(actor, object_type.key, Action.READ)
    with uow:
        record = records.load_record(
            uow,
            actor,
            model,
            object_type.key,
            record_id,
            Action.READ,
            deleted=False,
            not_found="Account not found" if record_kind == RecordKind.ACCOUNT.value else "Contact not found",
        )
        candidate = _candidate_of_record(uow.session, record_kind, record)
        return find_duplicates(uow, actor, record_kind, candidate, exclude_id=record.id)


@dataclass(frozen=True)
class DuplicateScan:
    """One page of the list of possible duplicates: pairs found among ``SCAN_WINDOW`` records, and
    where the next (older) page starts, ``None`` when there are no older records."""

    pairs: list[DuplicatePair]
    next_before: str | None


def scan_duplicates(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: str,
    *,
    before: str | None = None,
    window: int = SCAN_WINDOW,
) -> DuplicateScan:
    """Possible duplicates among the newest records the actor may read (older than ``before``).

    New records are where duplicates appear (imports, web forms), so the list walks back from the
    newest in windows, each a handful of indexed queries: shared emails and phones, and equal name
    keys in the same city (equal credit codes and external ids cannot both be live). The fuzzy
    name comparison is left to a record's own duplicates, where it costs one bounded query.
    """
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    model: Any = records.MODEL_OF_KIND[record_kind]
    with uow:
        session = uow.session
        visible = scope_condition(
            actor, object_type.key, Action.READ, owner_column=model.owner_id, team_column=model.team_id
        )
        live = and_(model.deleted_at.is_(None), visible)
        statement = select(model.id, _label_column(model), model.name_key, model.city).where(
            live, model.id < before if before else true()
        )
        newest = list(session.execute(statement.order_by(model.id.desc()).limit(window)))
        if not newest:
            return DuplicateScan([], None)
        ids = [row.id for row in newest]
        labels = {row.id: row[1] for row in newest}
        reasons: dict[tuple[str, str], set[str]] = {}

        def pair(first: str, second: str, reason: DuplicateReason) -> None:
            if first != second:
                reasons.setdefault((first, second), set()).add(reason.value)

        own_points = session.execute(
            select(ContactPoint.record_id, ContactPoint.kind, ContactPoint.search_key).where(
                ContactPoint.record_kind == record_kind, ContactPoint.record_id.in_(ids)
            )
        )
        keys_by_kind: dict[str, dict[str, set[str]]] = {}
        for record_id, kind, key in own_points:
            keys_by_kind.setdefault(kind, {}).setdefault(key, set()).add(record_id)
        for kind, owners in keys_by_kind.items():
            point_kind = ContactPointKind(kind)
            reason = DuplicateReason.EMAIL if point_kind is ContactPointKind.EMAIL else DuplicateReason.PHONE
            for other_id, key in _points_sharing(session, record_kind, point_kind, owners):
                for record_id in owners[key]:
                    pair(record_id, other_id, reason)
        places = {(row.name_key, row.city) for row in newest if row.name_key and row.city}
        if places:
            same_name = session.execute(
                select(model.id, model.name_key, model.city).where(
                    live, model.name_key.in_(sorted({key for key, _ in places}))
                )
            )
            by_place: dict[tuple[str, str], list[str]] = {}
            for other_id, key, city in same_name:
                by_place.setdefault((key, city), []).append(other_id)
            for row in newest:
                for other_id in by_place.get((row.name_key, row.city), []):
                    pair(row.id, other_id, DuplicateReason.SIMILAR_NAME)
        others = {second for _, second in reasons} - set(labels)
        if others:
            rows = session.execute(
                select(model.id, _label_column(model)).where(model.id.in_(sorted(others)), live)
            )
            labels.update({record_id: label for record_id, label in rows})
        pairs: dict[tuple[str, str], set[str]] = {}
        for (first, second), found in reasons.items():
            if second not in labels:
                continue  # deleted, or outside the actor's scope
            newer, older = (first, second) if first > second else (second, first)
            pairs.setdefault((newer, older), set()).update(found)
        result = [
            DuplicatePair(
                record_kind=record_kind,  # type: ignore[arg-type]
                first_id=newer,
                first_label=labels[newer],
                second_id=older,
                second_label=labels[older],
                reasons=sorted(found, key=_STRENGTH.__getitem__),
            )
            for (newer, older), found in sorted(pairs.items(), key=lambda item: item[0], reverse=True)
        ]
        return DuplicateScan(result, ids[-1] if len(ids) == window else None)


def labels_of(session: Session, record_kind: str, record_ids: Sequence[str]) -> dict[str, str]:
    """Names of records (deleted ones too), for merge histories."""
    if not record_ids:
        return {}
    model: Any = records.MODEL_OF_KIND[record_kind]
    rows = session.execute(
        select(model.id, _label_column(model)).where(model.id.in_(sorted(set(record_ids))))
    )
    return {record_id: label for record_id, label in rows}
