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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
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
from loopcrm.platform.db import in_batches
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

    @property
    def pinyin_key(self) -> str:
        """A person's name as spoken (王芳 and 汪芳: ``wangfang``), empty when it is the key itself."""
        key = self.name_key
        if not key:
            return ""
        full_pinyin, _ = pinyin_keys(self.name, family_name_length=self.family_name_length)
        return full_pinyin if full_pinyin and full_pinyin != key else ""


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
    found: list[tuple[str, str]] = []
    for batch in in_batches(sorted(set(keys))):
        rows = session.execute(
            select(ContactPoint.record_id, ContactPoint.search_key).where(
                ContactPoint.kind == kind.value,
                ContactPoint.search_key.in_(batch),
                ContactPoint.record_kind == record_kind,
            )
        )
        found.extend((row.record_id, row.search_key) for row in rows)
    return found


# Prefix ranges ORed in one statement (each is an index search of its own).
_RANGES_PER_STATEMENT = 100


@dataclass(frozen=True)
class _Compared:
    """A candidate whose name is compared: its position, matching key, pinyin (people; empty when
    it is the key itself) and the city a similar name must be in (``None``: any city)."""

    index: int
    key: str
    pinyin: str
    place: str | None

    def is_in(self, city: str | None) -> bool:
        return self.place is None or city == self.place

    @property
    def is_fuzzy(self) -> bool:
        """Compared by rapidfuzz's ratio: long enough, and only within a known city."""
        return self.place is not None and len(self.key) >= MIN_FUZZY_KEY_LENGTH

    def is_similar(self, other: str) -> bool:
        return fuzz.ratio(self.key, other) >= SIMILAR_NAME_RATIO


def _places_condition(model: Any, compared: Iterable[_Compared]) -> ColumnElement[bool]:
    places = {item.place for item in compared}
    return true() if None in places else in_places(model.city, (str(place) for place in places))


def _compared_names(model: Any, candidates: Sequence[DuplicateCandidate]) -> list[_Compared]:
    compared = []
    for index, candidate in enumerate(candidates):
        key = candidate.name_key
        if not key or not (candidate.city or model is Account):
            continue  # two people called 王芳 with no city known are not a finding
        pinyin = candidate.pinyin_key if model is Contact else ""
        compared.append(_Compared(index, key, pinyin, candidate.city or None))
    return compared


def _listed(wanted: dict[str, list[_Compared]], value: str, city: str | None) -> list[_Compared]:
    return wanted[value]


def _similar_names(
    session: Session, model: Any, candidates: Sequence[DuplicateCandidate], visible: ColumnElement[bool]
) -> set[tuple[int, str]]:
    """``(candidate position, record id)`` of live, visible records with the same or a very
    similar name in the candidate's city (any city for an account without one; a person without
    a city is compared with no one): an equal key; a key that is the start of the other, the
    shorter at least ``MIN_PREFIX_KEY_LENGTH`` long; the same pinyin (people: 王芳 / 汪芳); or, in
    a known city, a fuzzy ratio of at least ``SIMILAR_NAME_RATIO`` with a key that begins with
    the same ``FUZZY_PREFIX_LENGTH`` characters.

    Four kinds of statement serve all candidates at once, each an index search per name or
    prefix: equal keys and the starts of each key, equal pinyin, keys that continue a candidate's,
    and one per first characters for the fuzzy comparison. Each reads at most
    ``MAX_FUZZY_CANDIDATES`` rows per candidate, so a warning costs a few milliseconds even in a
    city of a million contacts.
    """
    compared = _compared_names(model, candidates)
    if not compared:
        return set()
    found: set[tuple[int, str]] = set()

    def read(statement: Any, count: int, matches: Callable[[str, str | None], Iterable[_Compared]]) -> None:
        """Add the rows' records to the candidates ``matches`` gives for a row's value and city."""
        for record_id, value, city in session.execute(statement.limit(MAX_FUZZY_CANDIDATES * count)):
            found.update((item.index, record_id) for item in matches(value, city) if item.is_in(city))

    def rows(column: Any, condition: ColumnElement[bool], items: Iterable[_Compared]) -> Any:
        return select(model.id, column, model.city).where(
            model.deleted_at.is_(None), visible, _places_condition(model, items), condition
        )

    # A stored key equal to a candidate's or one of its starts ("ours continues theirs"), and the
    # same pinyin: lists of values.
    by_key: dict[str, list[_Compared]] = {}
    by_pinyin: dict[str, list[_Compared]] = {}
    for item in compared:
        by_key.setdefault(item.key, []).append(item)
        for end in range(MIN_PREFIX_KEY_LENGTH, len(item.key)):
            by_key.setdefault(item.key[:end], []).append(item)
        if item.pinyin:
            by_pinyin.setdefault(item.pinyin, []).append(item)
    lists = [(model.name_key, by_key)] + ([(model.name_pinyin, by_pinyin)] if by_pinyin else [])
    for column, wanted in lists:
        for batch in in_batches(sorted(wanted)):
            items = [item for value in batch for item in wanted[value]]
            read(rows(column, column.in_(batch), items), len(items), partial(_listed, wanted))
    # Stored keys that continue a candidate's ("theirs continues ours"): ranges of the key index.
    by_start: dict[str, list[_Compared]] = {}
    for item in compared:
        if len(item.key) >= MIN_PREFIX_KEY_LENGTH:
            by_start.setdefault(item.key, []).append(item)

    def continued(other: str, _: str | None) -> list[_Compared]:
        ends = range(MIN_PREFIX_KEY_LENGTH, len(other) + 1)
        return [item for end in ends for item in by_start.get(other[:end], ())]

    for batch in in_batches(sorted(by_start), _RANGES_PER_STATEMENT):
        items = [item for start in batch for item in by_start[start]]
        condition = or_(*(_prefix_condition(model.name_key, start) for start in batch))
        read(rows(model.name_key, condition, items), len(items), continued)
    # Fuzzy matches, among the keys in the same city that begin with the same first characters.
    by_prefix: dict[str, dict[str | None, list[_Compared]]] = {}
    for item in compared:
        if item.is_fuzzy:
            by_prefix.setdefault(item.key[:FUZZY_PREFIX_LENGTH], {}).setdefault(item.place, []).append(item)
    for prefix, by_place in sorted(by_prefix.items()):
        items = [item for group in by_place.values() for item in group]

        def similar(
            other: str, city: str | None, by_place: dict[str | None, list[_Compared]] = by_place
        ) -> list[_Compared]:
            return [item for item in by_place.get(city, ()) if item.is_similar(other)]

        read(rows(model.name_key, _prefix_condition(model.name_key, prefix), items), len(items), similar)
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
    return find_duplicates_of_many(
        uow, actor, record_kind, [candidate], exclude_ids=[exclude_id], limit=limit
    )[0]


def find_duplicates_of_many(
    uow: UnitOfWork,
    actor: Actor,
    record_kind: str,
    candidates: Sequence[DuplicateCandidate | AccountCreate | ContactCreate],
    *,
    exclude_ids: Sequence[str | None] = (),
    limit: int = MAX_MATCHES,
) -> list[list[DuplicateMatch]]:
    """:func:`find_duplicates` for each candidate (leaving out the record at the same position
    of ``exclude_ids``), with a few statements for all of them: one per reason, and one per
    first characters of the names that are compared by prefix. An import checks a chunk's rows
    at once instead of running four or five statements for each.
    """
    if exclude_ids and len(exclude_ids) != len(candidates):
        raise ValueError("exclude_ids must give one id (or None) per candidate")
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    if not actor.can(object_type.key, Action.READ):
        return [[] for _ in candidates]
    wanted = [
        candidate if isinstance(candidate, DuplicateCandidate) else candidate_from_input(candidate)
        for candidate in candidates
    ]
    session = uow.session
    model: Any = records.MODEL_OF_KIND[record_kind]
    visible = scope_condition(
        actor, object_type.key, Action.READ, owner_column=model.owner_id, team_column=model.team_id
    )
    reasons: list[dict[str, set[str]]] = [{} for _ in wanted]

    def add(index: int, record_id: str, reason: DuplicateReason) -> None:
        reasons[index].setdefault(record_id, set()).add(reason.value)

    identifiers = [(DuplicateReason.EXTERNAL_ID, "external_id", model.external_id)]
    if model is Account:
        identifiers.insert(0, (DuplicateReason.CREDIT_CODE, "credit_code", Account.credit_code))
    for reason, name, column in identifiers:
        holders: dict[str, list[int]] = {}
        for index, candidate in enumerate(wanted):
            if getattr(candidate, name):
                holders.setdefault(getattr(candidate, name), []).append(index)
        for batch in in_batches(sorted(holders)):
            for record_id, value in session.execute(select(model.id, column).where(column.in_(batch))):
                for index in holders[value]:
                    add(index, record_id, reason)
    for reason, kind in (
        (DuplicateReason.EMAIL, ContactPointKind.EMAIL),
        (DuplicateReason.PHONE, ContactPointKind.PHONE),
    ):
        sharing: dict[str, list[int]] = {}
        for index, candidate in enumerate(wanted):
            keys = (
                {email.lower() for email in candidate.emails}
                if kind is ContactPointKind.EMAIL
                else {phone_search_key(phone) for phone in candidate.phones}
            )
            for key in keys:
                sharing.setdefault(key, []).append(index)
        for record_id, key in _points_sharing(session, record_kind, kind, sharing):
            for index in sharing[key]:
                add(index, record_id, reason)
    for index, record_id in _similar_names(session, model, wanted, visible):
        add(index, record_id, DuplicateReason.SIMILAR_NAME)
    for index, excluded in enumerate(exclude_ids):
        reasons[index].pop(excluded or "", None)
    labels: dict[str, str] = {}
    for batch in in_batches(sorted({record_id for found in reasons for record_id in found})):
        rows = session.execute(
            select(model.id, _label_column(model)).where(
                model.id.in_(batch), model.deleted_at.is_(None), visible
            )
        )
        labels.update({record_id: label for record_id, label in rows})
    results = []
    for found in reasons:
        matches = [
            DuplicateMatch(
                record_kind=record_kind,  # type: ignore[arg-type]
                id=record_id,
                label=labels[record_id],
                reasons=sorted(why, key=_STRENGTH.__getitem__),
            )
            for record_id, why in found.items()
            if record_id in labels
        ]
        matches.sort(
            key=lambda match: (_STRENGTH[match.reasons[0]], -len(match.reasons), match.label, match.id)
        )
        results.append(matches[:limit])
    return results


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
