"""Landing a chunk of rows: each valid row creates or updates one account or contact, inside the
caller's unit of work, by the same rules as the API.

A row goes through the input schema (``AccountCreate``/``ContactCreate`` for a new record,
``…Update`` with only the filled-in cells for an existing one), ``custom_fields.clean_values``,
the owner and team check, and for updates the record's scope and field clearance, exactly as
``create_*``/``update_*`` do; derived keys (pinyin, search text, domain) come from the same
functions and every write is audited. What differs is the batching: lookups (users, tags,
accounts, the records the upsert key finds, taken credit codes and external ids) are made once
per chunk, and rows are written with one flush per chunk instead of one transaction per record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
from pydantic import ValidationError
from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loopcrm.modules.customers.identifiers import normalize_credit_code, phone_search_key
from loopcrm.modules.customers.models import (
    Account,
    Contact,
    ContactPoint,
    ContactPointKind,
    ContactPointLabel,
    CustomFieldDefinition,
    ImportRowOutcome,
    RecordKind,
    Tag,
    UpsertKey,
)
from loopcrm.modules.customers.names import display_name
from loopcrm.modules.customers.schemas import (
    AccountCreate,
    AccountUpdate,
    ContactCreate,
    ContactPointOut,
    ContactUpdate,
    DuplicateMatch,
    EmailIn,
    EmploymentOut,
    PhoneIn,
    TagRef,
)
from loopcrm.modules.customers.service import accounts, contacts, duplicates, records
from loopcrm.modules.customers.service.custom_fields import clean_values, definitions
from loopcrm.modules.customers.service.imports.fields import UPSERT_KEY_NAMES, UPSERT_KEY_TARGETS
from loopcrm.modules.customers.service.imports.rows import (
    Note,
    ParsedRow,
    has_key_cell,
    key_values,
    parse_row,
    schema_notes,
    schema_points,
    stored_points,
)
from loopcrm.modules.customers.service.imports.writing import ChunkWriter, NewRecord
from loopcrm.modules.customers.service.object_types import OBJECT_TYPE_OF_KIND, TAG
from loopcrm.platform.audit.models import AuditAction
from loopcrm.platform.audit.service import diff, json_value, record_change
from loopcrm.platform.auth.models import Team, User
from loopcrm.platform.db import new_id, utc_now
from loopcrm.platform.errors import FieldError, ValidationFailed
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, can_reach_record
from loopcrm.platform.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Plan:
    """How a run reads its rows: the kind of record, each column's target, the upsert key."""

    record_kind: str
    mapping: Sequence[str]
    upsert_key: UpsertKey


@dataclass
class LandedRow:
    """What became of one row. ``previous`` is what an update overwrote (for undo).

    The row keeps the record's state rather than the record: a record created and then updated
    by a later row of the chunk is read back as an ORM object, and both rows report its version
    at the end of the chunk.
    """

    number: int
    cells: list[str]
    outcome: ImportRowOutcome
    state: _State | None = None
    problems: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    previous: dict[str, Any] | None = None

    @property
    def record(self) -> Any:
        return self.state.record if self.state is not None else None

    @property
    def record_id(self) -> str | None:
        return self.record.id if self.state is not None else None


class RowRefused(Exception):
    """Ends the handling of one row; nothing of it is written."""

    def __init__(self, notes: list[Note]) -> None:
        self.notes = notes
        super().__init__(notes[0].message if notes else "refused")


@dataclass
class _State:
    """A matched or created record as the chunk has left it (several rows may touch one record)."""

    record: Any
    phones: list[ContactPointOut]
    emails: list[ContactPointOut]
    tags: list[TagRef]
    employments: list[EmploymentOut]


@dataclass(frozen=True)
class _Probe:
    """What the duplicate screen compares of one record, in the forms ``find_duplicates`` queries:
    email and phone search keys, the name's matching key and (people) its pinyin, the city."""

    city: str | None
    name_key: str
    pinyin: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    external_id: str | None
    credit_code: str | None
    # Whether names are compared at all (not without a name, nor for a person without a city),
    # and where a similar name counts: the city, or ``None`` for any city (an account without one).
    compares_names: bool
    place: str | None

    @property
    def compares_prefixes(self) -> bool:
        return len(self.name_key) >= min(duplicates.MIN_PREFIX_KEY_LENGTH, duplicates.MIN_FUZZY_KEY_LENGTH)

    @property
    def prefix(self) -> str:
        return self.name_key[:_NAME_PREFIX_LENGTH]


# Every name a prefix or fuzzy comparison can match begins with the same characters as the
# candidate's: the fuzzy search's prefix, or the shortest prefix compared.
_NAME_PREFIX_LENGTH = min(duplicates.FUZZY_PREFIX_LENGTH, duplicates.MIN_PREFIX_KEY_LENGTH)


class DuplicateScreen:
    """The records a chunk created or changed (an updated one as it was and as it is), kept in
    memory to tell whether a row's duplicate search could find one of them.

    The chunk's rows are searched for stored duplicates all at once before they land
    (``find_duplicates_of_many``); that answer holds for a row unless something the chunk wrote
    since could change it. :meth:`may_match` answers "no" only when none of the remembered records
    could match by ``find_duplicates``' own rules: it may send a row to a search of its own
    needlessly, never skip a warning. Scope and deletion are left to ``find_duplicates``.
    """

    def __init__(self, record_kind: str) -> None:
        self.is_account = record_kind == RecordKind.ACCOUNT.value
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.external_ids: set[str] = set()
        self.credit_codes: set[str] = set()
        self.names: set[tuple[str | None, str]] = set()  # (city, name key)
        self.any_city_names: set[str] = set()
        self.pinyin: set[tuple[str | None, str]] = set()
        self.by_prefix: dict[tuple[str | None, str], set[str]] = {}
        self.any_city_by_prefix: dict[str, set[str]] = {}

    @property
    def is_empty(self) -> bool:
        return not (self.names or self.emails or self.phones or self.external_ids or self.credit_codes)

    def probe(self, candidate: duplicates.DuplicateCandidate) -> _Probe:
        """The probe of a candidate, computed as ``find_duplicates`` computes its lookups."""
        key = candidate.name_key
        pinyin = "" if self.is_account else candidate.pinyin_key
        return _Probe(
            city=candidate.city,
            name_key=key,
            pinyin=pinyin,
            emails=tuple(sorted({email.lower() for email in candidate.emails})),
            phones=tuple(sorted({phone_search_key(phone) for phone in candidate.phones})),
            external_id=candidate.external_id,
            credit_code=candidate.credit_code if self.is_account else None,
            compares_names=bool(key) and (bool(candidate.city) or self.is_account),
            place=candidate.city or None,
        )

    def remember(self, record: Any, phones: Sequence[str], emails: Sequence[str]) -> None:
        """A record the chunk created or changed, as it now is (phones in E.164)."""
        self.emails.update(email.lower() for email in emails)
        self.phones.update(phone_search_key(phone) for phone in phones)
        if record.external_id:
            self.external_ids.add(record.external_id)
        if self.is_account and record.credit_code:
            self.credit_codes.add(record.credit_code)
        if record.name_key:
            key, city = record.name_key, record.city
            self.names.add((city, key))
            self.any_city_names.add(key)
            pinyin = None if self.is_account else record.name_pinyin
            if pinyin:
                self.pinyin.add((city, pinyin))
            prefix = key[:_NAME_PREFIX_LENGTH]
            self.by_prefix.setdefault((city, prefix), set()).add(key)
            self.any_city_by_prefix.setdefault(prefix, set()).add(key)

    def may_match(self, probe: _Probe) -> bool:
        """Whether ``find_duplicates`` could find a remembered record for the probe."""
        if not self.emails.isdisjoint(probe.emails) or not self.phones.isdisjoint(probe.phones):
            return True
        if probe.external_id in self.external_ids or probe.credit_code in self.credit_codes:
            return True
        if not probe.compares_names:
            return False
        place, key = probe.place, probe.name_key
        if (key in self.any_city_names) if place is None else ((place, key) in self.names):
            return True
        if probe.pinyin and (place, probe.pinyin) in self.pinyin:
            return True
        if not probe.compares_prefixes:
            return False
        others = (
            self.any_city_by_prefix.get(probe.prefix, set())
            if place is None
            else self.by_prefix.get((place, probe.prefix), set())
        )
        for other in others:
            if len(key) >= duplicates.MIN_PREFIX_KEY_LENGTH and (
                other.startswith(key)
                or (len(other) >= duplicates.MIN_PREFIX_KEY_LENGTH and key.startswith(other))
            ):
                return True
            if (
                place is not None
                and len(key) >= duplicates.MIN_FUZZY_KEY_LENGTH
                and fuzz.ratio(key, other) >= duplicates.SIMILAR_NAME_RATIO
            ):
                return True
        return False


class ChunkLanding:
    """Lands the rows of one chunk for one actor; build it, then call :meth:`land`."""

    def __init__(
        self,
        uow: UnitOfWork,
        actor: Actor,
        plan: Plan,
    ) -> None:
        self.uow = uow
        self.session: Session = uow.session
        self.actor = actor
        self.plan = plan
        self.kind = plan.record_kind
        self.is_account = plan.record_kind == RecordKind.ACCOUNT.value
        self.model: Any = Account if self.is_account else Contact
        self.object_type = OBJECT_TYPE_OF_KIND[plan.record_kind]
        self.service: Any = accounts if self.is_account else contacts
        self.custom_fields: dict[str, CustomFieldDefinition] = {
            definition.key: definition for definition in definitions(self.session, self.kind)
        }
        self.needs_custom_check = any(
            definition.is_active and definition.is_required for definition in self.custom_fields.values()
        )
        self.levels = records.custom_levels(self.session, self.kind)
        self.now = utc_now()
        self.owner_checks: dict[tuple[Action, str | None, str | None], FieldError | None] = {}
        self.users: dict[str, str | None] = {}  # email or name → active user id (None: ambiguous)
        self.active_user_ids: set[str] = set()
        self.team_ids: set[str] = set()
        self.tags: dict[str, Tag] = {}
        self.accounts_by_name: dict[str, list[str]] = {}
        self.account_names: dict[str, str] = {}
        self.states: dict[str, _State] = {}
        self.key_owners: dict[str, set[str]] = {}  # upsert key value → ids of live records with it
        self.taken: dict[tuple[str, str], str] = {}  # (credit_code | external_id, value) → record id
        # The stored duplicates of each row that will likely create a record, found for the whole
        # chunk before it lands (by the row's cells as the schema will read them).
        self.stored_duplicates: dict[duplicates.DuplicateCandidate, list[DuplicateMatch]] = {}
        # The records the chunk created or changed, an updated one as it was and as it is: a row
        # that could match one of them has a duplicate search of its own.
        self.landed = DuplicateScreen(self.kind)
        # Those of them not written yet: that search writes them first only when one of them
        # could be found (or found wrongly, by what an update changed).
        self.unwritten = DuplicateScreen(self.kind)
        self.writer = ChunkWriter(self.session, actor, self.model, self.kind)

    # ------------------------------------------------------------ the chunk

    def land(self, numbered_rows: Sequence[tuple[int, list[str]]]) -> list[LandedRow]:
        rows = [
            parse_row(number, cells, self.plan.mapping, self.custom_fields) for number, cells in numbered_rows
        ]
        rows = [row for row in rows if not row.is_blank]
        self._prefetch(rows)
        landed = []
        for row in rows:
            try:
                landed.append(self._land_row(row))
            except RowRefused as refused:
                landed.append(
                    LandedRow(row.number, row.cells, ImportRowOutcome.REJECTED, problems=refused.notes)
                )
        records.flush(self.session)
        self.writer.write()
        return landed

    def _prefetch(self, rows: list[ParsedRow]) -> None:
        """One query per kind of lookup for the whole chunk."""
        session = self.session
        names = {row.owner for row in rows if row.owner} | {
            text for row in rows for text in row.custom_users.values()
        }
        self._load_users(names)
        self.team_ids.update(session.scalars(select(Team.id)))  # an organisation has few teams
        tag_names = {name.casefold() for row in rows for name in row.tag_names}
        if tag_names:
            for tag in session.scalars(select(Tag).where(func.lower(Tag.name).in_(sorted(tag_names)))):
                self.tags[tag.name.casefold()] = tag
        companies = sorted({row.company for row in rows if row.company})
        if companies:
            visible = self._visible_accounts(Account.name.in_(companies))
            for account_id, name in visible:
                self.accounts_by_name.setdefault(name, []).append(account_id)
                self.account_names[account_id] = name
        self._load_taken(rows)
        if self.plan.upsert_key is not UpsertKey.NONE:
            self._load_matches(rows)
        candidates = list(dict.fromkeys(c for row in rows if (c := self._raw_candidate(row)) is not None))
        found = duplicates.find_duplicates_of_many(self.uow, self.actor, self.kind, candidates)
        self.stored_duplicates = dict(zip(candidates, found, strict=True))

    def _raw_candidate(self, row: ParsedRow) -> duplicates.DuplicateCandidate | None:
        """The duplicate candidate of a row that will likely create a record, from its cells as
        the schema will read them (``_create`` searches again for a validated input that differs)."""
        key = self.plan.upsert_key
        if key is not UpsertKey.NONE and any(value in self.key_owners for value in key_values(row, key)):
            return None  # an update: no duplicate warning
        values = row.values
        credit_code = None
        if self.is_account and values.get("credit_code"):
            with contextlib.suppress(ValueError):
                credit_code = normalize_credit_code(values["credit_code"])
        if self.is_account:
            name = str(values.get("name") or "").strip()
            family_length = 0
        else:
            family = str(values.get("family_name") or "").strip()
            name = display_name(family, str(values.get("given_name") or "").strip())
            family_length = len(family)
        return duplicates.DuplicateCandidate(
            name=name,
            city=values.get("city"),
            emails=tuple(email.lower() for email in stored_points(row, "emails")),
            phones=tuple(stored_points(row, "phones")),
            credit_code=credit_code,
            external_id=values.get("external_id"),
            family_name_length=family_length,
        )

    def _visible_accounts(self, condition: Any) -> list[tuple[str, str]]:
        found = self.session.execute(
            select(Account.id, Account.name, Account.owner_id, Account.team_id).where(
                condition, Account.deleted_at.is_(None)
            )
        )
        return [
            (row.id, row.name)
            for row in found
            if can_reach_record(
                self.actor, "account", Action.READ, owner_id=row.owner_id, team_id=row.team_id
            )
        ]

    def _load_users(self, names: set[str]) -> None:
        """Active users by email (case-folded) or by name; a name two users share finds none."""
        if not names:
            return
        folded = sorted({name.casefold() for name in names})
        found = self.session.execute(
            select(User.id, User.email, User.name).where(
                User.is_active.is_(True),
                or_(func.lower(User.email).in_(folded), User.name.in_(sorted(names))),
            )
        )
        by_name: dict[str, list[str]] = {}
        for user_id, email, name in found:
            self.active_user_ids.add(user_id)
            self.users[email.casefold()] = user_id
            by_name.setdefault(name, []).append(user_id)
        for name, ids in by_name.items():
            self.users.setdefault(name, ids[0] if len(ids) == 1 else None)

    def _load_taken(self, rows: list[ParsedRow]) -> None:
        """Live records already holding the rows' credit codes and external ids (both unique)."""
        codes: set[str] = set()
        external_ids: set[str] = set()
        for row in rows:
            if self.is_account and row.values.get("credit_code"):
                with contextlib.suppress(ValueError):  # the schema refuses it with its reason
                    codes.add(normalize_credit_code(row.values["credit_code"]))
            if row.values.get("external_id"):
                external_ids.add(row.values["external_id"])
        live = self.model.deleted_at.is_(None)
        if codes:
            for record_id, code in self.session.execute(
                select(Account.id, Account.credit_code).where(Account.credit_code.in_(sorted(codes)), live)
            ):
                if code is not None:
                    self.taken[("credit_code", code)] = record_id
        if external_ids:
            for record_id, value in self.session.execute(
                select(self.model.id, self.model.external_id).where(
                    self.model.external_id.in_(sorted(external_ids)), live
                )
            ):
                self.taken[("external_id", value)] = record_id

    def _load_matches(self, rows: list[ParsedRow]) -> None:
        """Which live records hold each upsert key value of the chunk, and their current state."""
        key = self.plan.upsert_key
        values = sorted({value for row in rows for value in key_values(row, key)})
        if not values:
            return
        model = self.model
        live = model.deleted_at.is_(None)
        if key in (UpsertKey.EMAIL, UpsertKey.PHONE):
            point_kind = ContactPointKind.EMAIL if key is UpsertKey.EMAIL else ContactPointKind.PHONE
            search_keys = {
                (value.lower() if key is UpsertKey.EMAIL else phone_search_key(value)): value
                for value in values
            }
            found = self.session.execute(
                select(ContactPoint.search_key, ContactPoint.record_id)
                .join(model, model.id == ContactPoint.record_id)
                .where(
                    ContactPoint.record_kind == self.kind,
                    ContactPoint.kind == point_kind.value,
                    ContactPoint.search_key.in_(sorted(search_keys)),
                    live,
                )
            )
            pairs = [(search_keys[search_key], record_id) for search_key, record_id in found]
        else:
            column = Account.credit_code if key is UpsertKey.CREDIT_CODE else model.external_id
            pairs = [
                (value, record_id)
                for record_id, value in self.session.execute(
                    select(model.id, column).where(column.in_(values), live)
                )
            ]
        for value, record_id in pairs:
            self.key_owners.setdefault(value, set()).add(record_id)
        self._load_states(sorted({record_id for _, record_id in pairs}))

    def _load_states(self, record_ids: list[str]) -> None:
        if not record_ids:
            return
        found = list(self.session.scalars(select(self.model).where(self.model.id.in_(record_ids))))
        points = records.contact_points_of(self.session, self.kind, record_ids)
        tags = records.tags_of(self.session, self.kind, record_ids)
        jobs = {} if self.is_account else contacts.employments_of(self.session, record_ids)
        for record in found:
            self.states[record.id] = _State(
                record,
                points[record.id]["phones"],
                points[record.id]["emails"],
                tags[record.id],
                jobs.get(record.id, []),
            )

    # ------------------------------------------------------------ one row

    def _land_row(self, row: ParsedRow) -> LandedRow:
        key = self.plan.upsert_key
        found_keys: list[str] = []
        if key is not UpsertKey.NONE:
            found_keys = key_values(row, key)
            if not found_keys and not has_key_cell(row, key):
                # Creating it would make a re-run of the same file create it again.
                raise self._key_refusal(row, N_("The row has no {field} to find its record by"), "no_key")
        matched = sorted({record_id for value in found_keys for record_id in self.key_owners.get(value, ())})
        if len(matched) > 1:
            raise self._key_refusal(
                row,
                N_("Several records have this {field}; the row cannot tell which one to update"),
                "ambiguous",
            )
        result = self._update(row, self.states[matched[0]]) if matched else self._create(row)
        for value in found_keys:
            self.key_owners.setdefault(value, set()).add(result.record.id)
        return result

    def _key_refusal(self, row: ParsedRow, message: str, code: str) -> RowRefused:
        """A refusal about the upsert key, at the key's column, naming the key's field."""
        key = self.plan.upsert_key
        target = UPSERT_KEY_TARGETS[key]
        column = row.column_of({"phone": "phones", "email": "emails"}.get(target, target) + ".0")
        if column is None and target in self.plan.mapping:
            column = list(self.plan.mapping).index(target)
        return RowRefused([Note(target, message, code, {"field": UPSERT_KEY_NAMES[key.value]}, column)])

    def _resolved_input(self, row: ParsedRow) -> dict[str, Any]:
        """The row's values with owner, tags, company and custom users resolved to ids."""
        data = dict(row.values)
        for kind in ("phones", "emails"):
            if kind in data:
                data[kind] = schema_points(row, kind)
        notes: list[Note] = []
        if row.owner is not None:
            owner_id = self.users.get(row.owner.casefold()) or self.users.get(row.owner)
            if owner_id is None:
                notes.append(
                    Note(
                        "owner_id",
                        N_("No active user is called {name}"),
                        "unknown_user",
                        {"name": row.owner},
                        row.column_of("owner_id"),
                    )
                )
            else:
                data["owner_id"] = owner_id
        custom = dict(row.custom)
        for key, text in row.custom_users.items():
            user_id = self.users.get(text.casefold()) or self.users.get(text)
            custom[key] = user_id if user_id is not None else text
        if custom:
            data["custom_fields"] = custom
        if row.company is not None:
            account_ids = self.accounts_by_name.get(row.company, [])
            if len(account_ids) != 1:
                message = (
                    N_("No account is called {name}")
                    if not account_ids
                    else N_("Several accounts are called {name}; link the contact by hand")
                )
                notes.append(
                    Note(
                        "employments",
                        message,
                        "unknown_account",
                        {"name": row.company},
                        row.column_of("employments"),
                    )
                )
            else:
                data["employments"] = [{"account_id": account_ids[0], "is_primary": True}]
        if notes:
            raise RowRefused(notes)
        return data

    def _validated(self, row: ParsedRow, data: dict[str, Any], schema: Any) -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as error:
            raise RowRefused(schema_notes(row, error)) from None

    def _tag_ids(self, row: ParsedRow) -> list[str]:
        """Ids of the row's tags; a tag nobody made yet is made when the importer may make tags."""
        ids = []
        for name in row.tag_names:
            tag = self.tags.get(name.casefold())
            if tag is None:
                if not self.actor.can(TAG.key, Action.CREATE) or len(name) > 50:
                    raise RowRefused(
                        [
                            Note(
                                "tag_ids",
                                N_("No tag is called {name}"),
                                "unknown_tag",
                                {"name": name},
                                row.column_of("tag_ids"),
                            )
                        ]
                    )
                tag = Tag(
                    id=new_id(),
                    name=name,
                    colour="#4b6bfb",
                    created_by=self.actor.user_id,
                    updated_by=self.actor.user_id,
                )
                self.session.add(tag)
                record_change(
                    self.uow, self.actor, AuditAction.CREATE, TAG.key, tag.id, {"name": [None, name]}
                )
                self.tags[name.casefold()] = tag
            ids.append(tag.id)
        return list(dict.fromkeys(ids))

    def _check_owner(self, row: ParsedRow, action: Action, owner_id: str | None, team_id: str | None) -> None:
        cache_key = (action, owner_id, team_id)
        if cache_key not in self.owner_checks:
            try:
                records.check_owner_and_team(
                    self.session,
                    self.actor,
                    self.object_type.key,
                    action,
                    owner_id,
                    team_id,
                    active_user_ids=self.active_user_ids,
                    team_ids=self.team_ids,
                )
                self.owner_checks[cache_key] = None
            except ValidationFailed as refused:
                self.owner_checks[cache_key] = refused.errors[0]
        error = self.owner_checks[cache_key]
        if error is not None:
            raise RowRefused([row.note(error)])

    def _clean_custom(
        self, row: ParsedRow, submitted: dict[str, Any], stored: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not submitted and not (stored is None and self.needs_custom_check):
            return dict(stored or {})
        try:
            return clean_values(
                self.session, self.kind, submitted, stored, known=list(self.custom_fields.values())
            )
        except ValidationFailed as refused:
            raise RowRefused([row.note(error) for error in refused.errors]) from None

    def _check_unique(self, row: ParsedRow, record_id: str | None, model: Any) -> None:
        """A credit code or external id another live record holds would break the unique index."""
        notes = []
        for name in ("credit_code", "external_id") if self.is_account else ("external_id",):
            value = getattr(model, name, None)
            if value is None or name not in model.model_fields_set:
                continue
            holder = self.taken.get((name, value))
            if holder is not None and holder != record_id:
                notes.append(
                    Note(
                        name,
                        N_("Another record already has {value}"),
                        "duplicate",
                        {"value": value},
                        row.column_of(name),
                    )
                )
        if notes:
            raise RowRefused(notes)

    def _claim_unique(self, record: Any) -> None:
        for name in ("credit_code", "external_id") if self.is_account else ("external_id",):
            value = getattr(record, name)
            if value is not None:
                self.taken[(name, value)] = record.id

    # ------------------------------------------------------------ create

    def _create(self, row: ParsedRow) -> LandedRow:
        data = self._resolved_input(row)
        model = self._validated(row, data, AccountCreate if self.is_account else ContactCreate)
        owner_id = model.owner_id if "owner_id" in model.model_fields_set else self.actor.user_id
        self._check_owner(row, Action.CREATE, owner_id, model.team_id)
        self._check_unique(row, None, model)
        custom = self._clean_custom(row, model.custom_fields, None)
        tag_ids = self._tag_ids(row)
        warnings = self._duplicate_warnings(model)
        columns = self.service._COLUMNS
        record: Any = NewRecord(
            id=new_id(),
            **{name: records.plain(getattr(model, name)) for name in columns if name != "owner_id"},
            owner_id=owner_id,
            custom_fields=custom,
            created_by=self.actor.user_id,
            updated_by=self.actor.user_id,
            created_at=None,
            updated_at=None,
            deleted_at=None,
            version=1,
        )
        if not self.is_account:
            consents = any(getattr(model, name) for name in contacts._CONSENTS)
            record.consent_updated_at = self.now if consents else None
        self.service.apply_derived(record)
        self.writer.add_record(record)
        phones, emails = self._add_points(record.id, _labelled(model.phones, row), model.emails)
        tags = self._add_tags(record.id, tag_ids)
        employments = self._add_employments(record.id, model) if not self.is_account else []
        state = _State(record, phones, emails, tags, employments)
        self.states[record.id] = state
        self._claim_unique(record)
        self._remember(state)
        values = self._values(state)
        self.writer.add_audit_entry(
            AuditAction.CREATE,
            self.object_type.key,
            record.id,
            {
                name: [None, value]
                for name, value in records.audit_snapshot(values).items()
                if value not in (None, [], "", False)
            },
        )
        return LandedRow(row.number, row.cells, ImportRowOutcome.CREATED, state, warnings=warnings)

    def _remember(self, state: _State) -> None:
        for screen in (self.landed, self.unwritten):
            screen.remember(
                state.record, [point.value for point in state.phones], [point.value for point in state.emails]
            )

    def _duplicate_warnings(self, model: AccountCreate | ContactCreate) -> list[Note]:
        candidate = duplicates.candidate_from_input(model)
        probe = None if self.landed.is_empty else self.landed.probe(candidate)
        if candidate in self.stored_duplicates and (probe is None or not self.landed.may_match(probe)):
            matches = self.stored_duplicates[candidate]
        else:
            # Records the chunk created or changed count as they now are: written before the
            # search when one of them could be found; otherwise it runs without writing anything.
            written = probe is not None and self.unwritten.may_match(probe)
            if written:
                self.writer.write_records()
                self.unwritten = DuplicateScreen(self.kind)
            with contextlib.nullcontext() if written else self.session.no_autoflush:
                matches = duplicates.find_duplicates(self.uow, self.actor, self.kind, model)
        return [
            Note(
                "duplicates",
                N_("Possible duplicate of {label}"),
                "possible_duplicate",
                {"label": match.label, "id": match.id, "reasons": ", ".join(match.reasons)},
            )
            for match in matches
        ]

    def _add_points(
        self, record_id: str, phones: Sequence[PhoneIn], emails: Sequence[EmailIn]
    ) -> tuple[list[ContactPointOut], list[ContactPointOut]]:
        """A new record's phones and emails, the rows ``records.new_contact_points`` builds (as
        ``records.set_contact_points`` stores them, without its delete of old rows)."""
        shown: dict[str, list[ContactPointOut]] = {
            ContactPointKind.PHONE.value: [],
            ContactPointKind.EMAIL.value: [],
        }
        rows = records.contact_point_values(self.kind, record_id, phones, emails)
        self.writer.add_points(rows)
        for row in rows:
            shown[row["kind"]].append(
                ContactPointOut(value=row["value"], label=row["label"], is_primary=row["is_primary"])
            )
        for kind in shown:
            shown[kind].sort(key=lambda point: not point.is_primary)
        return shown[ContactPointKind.PHONE.value], shown[ContactPointKind.EMAIL.value]

    def _add_tags(self, record_id: str, tag_ids: Sequence[str]) -> list[TagRef]:
        by_id = {tag.id: tag for tag in self.tags.values()}
        for tag_id in tag_ids:
            self.writer.add_tagging(tag_id, record_id)
        return sorted(
            (TagRef(id=t, name=by_id[t].name, colour=by_id[t].colour) for t in tag_ids),
            key=lambda tag: tag.name,
        )

    def _add_employments(self, contact_id: str, model: ContactCreate | ContactUpdate) -> list[EmploymentOut]:
        added = []
        for employment in model.employments:
            self.writer.add_employment(
                {
                    "contact_id": contact_id,
                    "account_id": employment.account_id,
                    "title": employment.title,
                    "started_on": employment.started_on,
                    "ended_on": employment.ended_on,
                    "is_primary": employment.is_primary,
                }
            )
            added.append(
                EmploymentOut(
                    account_id=employment.account_id,
                    account_name=self.account_names.get(employment.account_id, ""),
                    title=employment.title,
                    started_on=employment.started_on,
                    ended_on=employment.ended_on,
                    is_primary=employment.is_primary,
                )
            )
        return added

    def _values(self, state: _State) -> dict[str, Any]:
        points = {"phones": state.phones, "emails": state.emails}
        if self.is_account:
            return accounts.row_values(state.record, points, state.tags)
        return contacts.row_values(state.record, points, state.tags, state.employments)

    # ------------------------------------------------------------ update

    def _update(self, row: ParsedRow, state: _State) -> LandedRow:
        if isinstance(state.record, NewRecord):
            # Created earlier in the chunk: written now and read back, so the ORM updates it
            # (one version step, as for any other record).
            self.writer.write()
            state.record = self.session.get(self.model, state.record.id)
        record = state.record
        if not can_reach_record(
            self.actor, self.object_type.key, Action.UPDATE, owner_id=record.owner_id, team_id=record.team_id
        ):
            raise self._key_refusal(
                row, N_("A record with this {field} exists, but you may not change it"), "not_allowed"
            )
        data = self._resolved_input(row)
        model = self._validated(row, data, AccountUpdate if self.is_account else ContactUpdate)
        given = set(model.model_fields_set)
        if row.tag_names:
            given.add("tag_ids")
        try:
            records.refuse_hidden_fields(
                self.actor, self.object_type.key, given, model.custom_fields, self.levels
            )
        except ValidationFailed as refused:
            raise RowRefused([row.note(error) for error in refused.errors]) from None
        self._check_unique(row, record.id, model)
        before = self._values(state)
        columns = [name for name in self.service._COLUMNS if name in given]
        changed_columns = {
            name: records.plain(getattr(model, name))
            for name in columns
            if records.plain(getattr(model, name)) != getattr(record, name)
        }
        if "owner_id" in changed_columns or "team_id" in changed_columns:
            self._check_owner(
                row,
                Action.UPDATE,
                changed_columns.get("owner_id", record.owner_id),
                changed_columns.get("team_id", record.team_id),
            )
        custom = (
            self._clean_custom(row, model.custom_fields, dict(record.custom_fields or {}))
            if model.custom_fields
            else None
        )
        new_phones = [
            p for p in _labelled(model.phones, row) if p.number not in {x.value for x in state.phones}
        ]
        new_emails = [e for e in model.emails if e.address not in {x.value for x in state.emails}]
        tag_ids = (
            [t for t in self._tag_ids(row) if t not in {tag.id for tag in state.tags}]
            if row.tag_names
            else []
        )
        employments = [
            job
            for job in (model.employments if not self.is_account else [])
            if job.account_id
            not in {current.account_id for current in state.employments if current.ended_on is None}
        ]
        custom_changed = custom is not None and json_value(custom) != json_value(record.custom_fields or {})
        if not (changed_columns or custom_changed or new_phones or new_emails or tag_ids or employments):
            return LandedRow(row.number, row.cells, ImportRowOutcome.UNCHANGED, state)
        for screen in (self.landed, self.unwritten):  # as it was
            screen.remember(record, [p.value for p in state.phones], [e.value for e in state.emails])
        if not self.is_account and not (
            changed_columns.get("family_name", record.family_name)
            or changed_columns.get("given_name", record.given_name)
        ):
            raise RowRefused(
                [
                    Note(
                        "family_name",
                        N_("A contact needs a name"),
                        "required",
                        {},
                        row.column_of("family_name"),
                    )
                ]
            )
        # The record's own row changes all at once (derived keys and the stamp too), so it is
        # written as one UPDATE at the next flush: one version step, which undo later checks.
        previous: dict[str, Any] = {
            "columns": {name: json_value(getattr(record, name)) for name in changed_columns}
        }
        for name, value in changed_columns.items():
            setattr(record, name, value)
        if custom_changed:
            previous["custom_fields"] = json_value(record.custom_fields or {})
            record.custom_fields = custom
        if not self.is_account and any(name in changed_columns for name in contacts._CONSENTS):
            record.consent_updated_at = self.now
        phones, emails = records.points_as_input({"phones": state.phones, "emails": state.emails})
        self.service.apply_derived(record)
        record.updated_by = self.actor.user_id
        record.updated_at = self.now
        if new_phones or new_emails:
            previous["phones"] = [point.model_dump(mode="json") for point in state.phones]
            previous["emails"] = [point.model_dump(mode="json") for point in state.emails]
            phones += new_phones
            emails += new_emails
            self.writer.replace_points(
                record.id, records.contact_point_values(self.kind, record.id, phones, emails)
            )
            state.phones, state.emails = _points_out(phones), _points_out(emails)
        if tag_ids:
            previous["tag_ids"] = [tag.id for tag in state.tags]
            all_ids = [tag.id for tag in state.tags] + tag_ids
            self.writer.replace_tags(record.id, all_ids)
            names = {tag.id: (tag.name, tag.colour) for tag in self.tags.values()}
            names.update({tag.id: (tag.name, tag.colour) for tag in state.tags})
            state.tags = sorted(
                (TagRef(id=t, name=names[t][0], colour=names[t][1]) for t in all_ids),
                key=lambda tag: tag.name,
            )
        if employments:
            previous["employments"] = [job.model_dump(mode="json") for job in state.employments]
            if any(job.ended_on is None for job in state.employments):
                for job in employments:
                    job.is_primary = False
            added = self._add_employments(record.id, model.model_copy(update={"employments": employments}))
            state.employments = [*state.employments, *added]
        change_log = diff(records.audit_snapshot(before), records.audit_snapshot(self._values(state)))
        self._claim_unique(record)
        self._remember(state)
        self.writer.add_audit_entry(AuditAction.UPDATE, self.object_type.key, record.id, change_log)
        return LandedRow(row.number, row.cells, ImportRowOutcome.UPDATED, state, previous=previous)


def _labelled(phones: Sequence[PhoneIn], row: ParsedRow) -> list[PhoneIn]:
    """Phones labelled mobile or work by what the number is (a file rarely says which), as the
    row reader's parse found it."""
    labelled = []
    for phone in phones:
        is_mobile = row.phone_is_mobile.get(phone.number)
        if is_mobile is None:
            try:
                number_type = phonenumbers.number_type(phonenumbers.parse(phone.number))
            except phonenumbers.NumberParseException:
                number_type = None
            is_mobile = number_type == phonenumbers.PhoneNumberType.MOBILE
        label = ContactPointLabel.MOBILE if is_mobile else ContactPointLabel.WORK
        labelled.append(phone.model_copy(update={"label": label}))
    return labelled


def _points_out(points: Sequence[PhoneIn] | Sequence[EmailIn]) -> list[ContactPointOut]:
    """Points as ``contact_points_of`` would read them back after ``set_contact_points``."""
    values = [(p.number if isinstance(p, PhoneIn) else p.address, p.label, p.is_primary) for p in points]
    marked = [index for index, (_, _, is_primary) in enumerate(values) if is_primary]
    primary = (marked or [0])[0]
    seen: set[str] = set()
    shown = []
    for position, (value, label, _) in enumerate(values):
        if value in seen:
            continue
        seen.add(value)
        shown.append(ContactPointOut(value=value, label=label, is_primary=position == primary))
    return sorted(shown, key=lambda point: not point.is_primary)


_DATE_FIELDS = frozenset({"birthday", "started_on", "ended_on"})


def restore_value(name: str, value: Any) -> Any:
    """A column value back from its JSON form in ``previous`` (dates and amounts were text)."""
    if value is None:
        return None
    if name in _DATE_FIELDS:
        return date.fromisoformat(value)
    if name == "annual_revenue":
        return Decimal(value)
    return value
