"""Finding accounts and contacts by what a person types: names in Hanzi, pinyin or initials,
Latin names, credit codes and other identifiers, email addresses, the last digits of a phone.

Names and public identifiers live in each record's ``search_text``: space-separated terms built
by :func:`loopcrm.modules.customers.service.records.build_search_text`, among them every suffix
of a Hanzi name and its pinyin, so "any part of the name" becomes "the beginning of a term". A
full-text index answers prefix queries over these terms: an FTS5 table per record table on
SQLite (``accounts_search``, ``contacts_search``), a GIN index over the stored column
``search_vector`` (``to_tsvector('simple', search_text)``) on PostgreSQL (migrations
``20261123_customers_search``, ``20261202_customers_search_speed``).

A query is split into words at spaces; every word must match (AND). A word matches a record when
each of its letter, digit and Hanzi runs begins a term of the record (``wang.fang`` → ``wang*``
and ``fang*``), or — for readers cleared to see them — when the word is the end of one of the
record's phone numbers or the beginning of one of its email addresses. Phones and emails are
looked up in ``contact_points`` (phones by their reversed digits, so an ending is a prefix) and
never in the full-text index, which cannot tell who is asking: a reader who cannot see a
contact's phones cannot find the contact by phone either.

Typo tolerance stays where it is free: pinyin makes homophones (王/汪 → wang) and forgotten tones
find each other, and initials find names half remembered. Edit-distance matching was left out:
it would need a scan of the term vocabulary per query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.orm import Session

from loopcrm.modules.customers.identifiers import (
    normalize_credit_code,
    normalize_phone,
    phone_search_key,
    phone_suffix_key,
)
from loopcrm.modules.customers.models import (
    Account,
    Contact,
    ContactPoint,
    ContactPointKind,
    Employment,
    RecordKind,
)
from loopcrm.modules.customers.names import fold_for_search, is_chinese
from loopcrm.modules.customers.schemas import SearchHit, SearchMatch
from loopcrm.modules.customers.service import records
from loopcrm.modules.customers.service.object_types import CONTACT, OBJECT_TYPE_OF_KIND
from loopcrm.platform.db import orders_text_by_code_point
from loopcrm.platform.listing import Operator
from loopcrm.platform.pagination import check_limit
from loopcrm.platform.permissions import (
    Action,
    Actor,
    ObjectType,
    Scope,
    SecurityLevel,
    require,
)
from loopcrm.platform.unit_of_work import UnitOfWork

MIN_PHONE_DIGITS = 3
MAX_QUERY_WORDS = 6
# How many records each source of the global search (exact identifiers, name beginnings, other
# matches) contributes per record kind before ranking: enough to fill a page with the best kind
# of match, few enough that a query matching 100,000 records costs as much as one matching 100.
CANDIDATES_PER_SOURCE = 100

_RUN_PATTERN = re.compile(r"[^\W_]+")
_PHONE_WORD_PATTERN = re.compile(r"\+?[0-9][0-9\-]*")


# ---------------------------------------------------------------- reading the query


@dataclass(frozen=True)
class QueryWord:
    """One word of a query, in the forms the indexes are searched with.

    ``terms`` are the word's runs of Hanzi and of other letters or digits, folded as the index
    terms are; ``phone_key`` is set when the word can be the end of a phone number (its digits
    reversed); ``email_prefix`` when it can be the beginning of an email address.
    """

    text: str
    terms: tuple[str, ...]
    phone_key: str | None
    email_prefix: str | None


def _runs(word: str) -> list[str]:
    """Split a folded word as :func:`~loopcrm.modules.customers.names.search_terms` splits names:
    into runs of Hanzi and runs of other letters and digits."""
    runs: list[str] = []
    for match in _RUN_PATTERN.finditer(word):
        current, current_is_hanzi = "", False
        for character in match.group():
            character_is_hanzi = is_chinese(character)
            if current and character_is_hanzi != current_is_hanzi:
                runs.append(current)
                current = ""
            current += character
            current_is_hanzi = character_is_hanzi
        if current:
            runs.append(current)
    return runs


def parse_query(q: str) -> list[QueryWord]:
    """The words of ``q`` (at most :data:`MAX_QUERY_WORDS`); words without letters or digits are
    dropped."""
    words: list[QueryWord] = []
    for raw in q.split():
        folded = fold_for_search(raw)
        phone_key = None
        if _PHONE_WORD_PATTERN.fullmatch(folded):
            digits = phone_suffix_key(folded)
            phone_key = digits if len(digits) >= MIN_PHONE_DIGITS else None
        email_prefix = folded if "@" in folded or "." in folded else None
        # An address is matched as an address: its parts ("com") would match unrelated names.
        terms = () if "@" in folded else tuple(_runs(folded))
        if terms or phone_key or email_prefix:
            words.append(QueryWord(folded, terms, phone_key, email_prefix))
        if len(words) == MAX_QUERY_WORDS:
            break
    return words


# ---------------------------------------------------------------- conditions


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string beginning with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _begins_with(session: Session, expression: Any, prefix: str) -> ColumnElement[bool]:
    """``expression`` begins with ``prefix``, as a range an ordinary index answers on SQLite and
    PostgreSQL alike (``LIKE`` ignores case on SQLite and needs a special operator class on
    PostgreSQL), checked again with ``LIKE`` only where the collation orders by more than code
    points. The check is left out where the range is exact: PostgreSQL multiplies its estimate
    into the range's (7 rows instead of 6,029 for the initials ``hj`` at a million contacts), then
    sorts every match instead of reading the first ones from ``(name_initials, id)``."""
    condition = and_(expression >= prefix, expression < _next_prefix(prefix))
    if orders_text_by_code_point(session):
        return condition
    return and_(condition, expression.startswith(prefix, autoescape=True))


def contact_point_condition(
    session: Session, kind: ContactPointKind, value: str, operator: Operator
) -> ColumnElement[bool]:
    """The condition on ``contact_points`` for a list filter on phones or emails.

    A phone matches by its last digits (``eq``: the whole number; ``contains`` and
    ``starts_with``: its end), an email by the lower-cased address (``eq``, ``starts_with``,
    ``contains``). All but an email's ``contains`` are ranges of the ``(kind, search_key)`` index.
    """
    if kind is ContactPointKind.PHONE:
        key = phone_suffix_key(value)
        if operator is Operator.EQ:
            try:
                return ContactPoint.search_key == phone_search_key(normalize_phone(value))
            except ValueError:
                return ContactPoint.search_key == key
        return _begins_with(session, ContactPoint.search_key, key) if key else false()
    address = value.strip().lower()
    if operator is Operator.EQ:
        return ContactPoint.search_key == address
    if operator is Operator.STARTS_WITH:
        return _begins_with(session, ContactPoint.search_key, address) if address else false()
    return ContactPoint.search_key.contains(address, autoescape=True)


def _points_matching(record_kind: str, kind: ContactPointKind, condition: ColumnElement[bool]) -> Select[Any]:
    return select(ContactPoint.record_id).where(
        ContactPoint.kind == kind.value, condition, ContactPoint.record_kind == record_kind
    )


def _records_with_points(
    session: Session, model: type[Account] | type[Contact], points: Select[Any]
) -> ColumnElement[bool]:
    """The record is one of those ``points`` (a select of record ids) belong to.

    On SQLite it is written as a rowid list, like the full-text match: alone or in an OR with
    it, it is then checked against a rep's records one seek each (``ix_*_owner`` ends in the
    rowid), newest first without sorting. Written ``id IN (…)``, it made SQLite read every
    record of a rep's scope to compare ids (2 s at a million contacts for a phone ending).
    """
    if session.get_bind().dialect.name != "sqlite":
        return model.id.in_(points)
    other = model.__table__.alias("matched")
    rowids: Select[Any] = (
        select(literal_column("matched.rowid")).select_from(other).where(other.c.id.in_(points))
    )
    return literal_column(f"{model.__tablename__}.rowid").in_(rowids)


def _stored_vector(model: type[Account] | type[Contact]) -> ColumnElement[Any]:
    """PostgreSQL's stored ``to_tsvector('simple', search_text)`` of the record (migration
    20261202_customers_search_speed): a walk of the records newest first tests a stored value
    instead of computing each record's vector (which cost 200–450 ms per search at a million)."""
    return literal_column(f"{model.__tablename__}.search_vector")


def _vector_match(vector: ColumnElement[Any], terms: Sequence[str]) -> ColumnElement[bool]:
    query = " & ".join(f"'{term}':*" for term in terms)
    return vector.op("@@")(func.to_tsquery(literal_column("'simple'"), query))


def _text_match(
    session: Session, model: type[Account] | type[Contact], terms: Sequence[str]
) -> ColumnElement[bool]:
    """Every term begins a term of the record's ``search_text``, through the full-text index."""
    if session.get_bind().dialect.name == "postgresql":
        return _vector_match(_stored_vector(model), terms)
    name = f"{model.__tablename__}_search"
    index = table(name, column("rowid"), column(name))
    expression = " AND ".join(f'"{term}"*' for term in terms)
    matching = select(index.c.rowid).where(index.c[name].op("MATCH")(expression))
    return literal_column(f"{model.__tablename__}.rowid").in_(matching)


def can_see_field(actor: Actor, object_type: ObjectType, field: str) -> bool:
    """Whether the actor's clearance reaches ``field`` of ``object_type`` (so may search by it)."""
    return object_type.field_levels.get(field, SecurityLevel.PUBLIC) <= actor.clearance


def _point_prefixes(actor: Actor, record_kind: str, word: QueryWord) -> list[tuple[ContactPointKind, str]]:
    """The phone and email search keys ``word`` may begin, for a reader who may see them."""
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    prefixes = []
    if word.phone_key and can_see_field(actor, object_type, "phones"):
        prefixes.append((ContactPointKind.PHONE, word.phone_key))
    if word.email_prefix and can_see_field(actor, object_type, "emails"):
        prefixes.append((ContactPointKind.EMAIL, word.email_prefix))
    return prefixes


def matches(
    session: Session, actor: Actor, record_kind: str, model: type[Account] | type[Contact], q: str
) -> ColumnElement[bool]:
    """The condition "the record matches the search text ``q``" for the reader ``actor``.

    Words that can only match names and identifiers are answered by one full-text lookup; a
    word that may also be a phone's end or an email's beginning adds a lookup in
    ``contact_points``, but only for a reader who may see phones or emails of this kind.
    """
    text_only: list[str] = []
    conditions: list[ColumnElement[bool]] = []
    is_postgresql = session.get_bind().dialect.name == "postgresql"
    for word in parse_query(q):
        found_by: list[Select[Any]] = []  # record ids of the phones or emails the word may begin
        for kind, prefix in _point_prefixes(actor, record_kind, word):
            key = _begins_with(session, ContactPoint.search_key, prefix)
            found_by.append(_points_matching(record_kind, kind, key))
        if not found_by:
            if not word.terms:
                return false()
            text_only.extend(word.terms)
            continue
        if is_postgresql:
            # One IN over the union of the ids each way finds: each from its own index. As an
            # OR of an IN and a full-text match, PostgreSQL walked the records newest first and
            # computed every record's text vector until it had a page (seconds at a million).
            if word.terms:
                found_by.append(select(model.id).where(_text_match(session, model, word.terms)))
            conditions.append(model.id.in_(union(*found_by) if len(found_by) > 1 else found_by[0]))
            continue
        options = [_records_with_points(session, model, points) for points in found_by]
        if word.terms:
            options.append(_text_match(session, model, word.terms))
        conditions.append(or_(*options))
    if text_only:
        conditions.insert(0, _text_match(session, model, list(dict.fromkeys(text_only))))
    return and_(*conditions) if conditions else false()


# ---------------------------------------------------------------- global search


def _exact_matches(
    session: Session, actor: Actor, record_kind: str, q: str, scoped: Select[Any]
) -> dict[str, SearchMatch]:
    """Records of one kind whose phone, email or credit code is exactly the query."""
    text = q.strip()
    object_type = OBJECT_TYPE_OF_KIND[record_kind]
    model = records.MODEL_OF_KIND[record_kind]
    found: dict[str, SearchMatch] = {}
    lookups: list[tuple[SearchMatch, ColumnElement[bool]]] = []
    if record_kind == "account":
        with suppress(ValueError):
            lookups.append((SearchMatch.CREDIT_CODE, Account.credit_code == normalize_credit_code(text)))
    if can_see_field(actor, object_type, "emails") and "@" in text:
        points = _points_matching(
            record_kind, ContactPointKind.EMAIL, ContactPoint.search_key == text.lower()
        )
        lookups.append((SearchMatch.EMAIL, model.id.in_(points)))
    if can_see_field(actor, object_type, "phones") and _PHONE_WORD_PATTERN.fullmatch(text.replace(" ", "")):
        try:
            key = phone_search_key(normalize_phone(text))
        except ValueError:
            key = None
        if key is not None:
            points = _points_matching(record_kind, ContactPointKind.PHONE, ContactPoint.search_key == key)
            lookups.append((SearchMatch.PHONE, model.id.in_(points)))
    for match, condition in lookups:
        statement = scoped.with_only_columns(model.id).where(condition).limit(CANDIDATES_PER_SOURCE)
        for record_id in session.scalars(statement):
            found.setdefault(record_id, match)
    return found


def _name_beginnings(
    session: Session,
    record_kind: str,
    words: list[QueryWord],
    scoped: Select[Any],
    text_condition: Any,
    *,
    sees_all: bool,
) -> list[str]:
    """Records whose name, pinyin or initials begin with the query, closest names first.

    A reader who sees every record is served from the names' own indexes. For a reader limited
    to their own or their team's records, the full-text condition (which every such record
    meets: a name's beginning is a prefix of one of its terms) is added so the query starts
    from the few records matching the text rather than the reader's whole scope: SQLite's
    planner otherwise reads all of a rep's records through the owner index (75 ms at a million
    contacts, bench/customers_search.py).
    """
    compact = "".join(term for word in words for term in word.terms)
    if not compact:
        return []
    if record_kind == "contact":
        columns = [Contact.full_name] if is_chinese(compact) else [Contact.name_pinyin, Contact.name_initials]
    else:
        columns = [Account.name] if is_chinese(compact) else []
    found: list[str] = []
    model = records.MODEL_OF_KIND[record_kind]
    for name_column in columns:
        statement = scoped.with_only_columns(model.id).where(_begins_with(session, name_column, compact))
        if len(words) > 1 or not sees_all:
            statement = statement.where(text_condition)
        statement = statement.order_by(name_column, model.id).limit(CANDIDATES_PER_SOURCE)
        found.extend(session.scalars(statement))
    return found


def _newest_first(session: Session, model: type[Account] | type[Contact]) -> Any:
    """Newest records first, in the order the full-text index yields them.

    On SQLite the rowid follows insertion, so ``rowid DESC`` streams matches straight from the
    index and stops after the limit; ordering by id would sort every match first. PostgreSQL
    orders by the time-ordered id.
    """
    if session.get_bind().dialect.name == "sqlite":
        return literal_column(f"{model.__tablename__}.rowid").desc()
    return model.id.desc()


# How many of the newest records in the reader's scope PostgreSQL reads for the newest matches
# of a text-only search before it asks the full-text index for every match instead.
NEWEST_WINDOW = 5_000


def _newest_matches(
    session: Session,
    actor: Actor,
    record_kind: str,
    words: list[QueryWord],
    scoped: Select[Any],
    condition: ColumnElement[bool],
    *,
    sees_all: bool,
) -> list[str]:
    """The newest :data:`CANDIDATES_PER_SOURCE` records in scope matching ``condition``.

    SQLite streams them from the full-text index newest first. PostgreSQL's planner cannot
    estimate a prefix (``wang:*`` matches 70,000 full names of a million, each of them rare, so
    it expects a few hundred): it either walked every record newest first for a rare prefix or
    fetched all 70,000 matches through the GIN index for a common one (1–2 s). For a reader who
    sees every record and a search by text alone, the newest :data:`NEWEST_WINDOW` records are
    tested first — when they hold the candidates, these are exactly the newest matches, found in
    a bounded walk — and only otherwise (a prefix rarer than one record in fifty) are all matches
    read from the index and sorted. A rep's or a team's records are spread over the table:
    reading their newest records costs a page each, more than the index's matches, so their
    searches are left to the planner (within the bar, bench/customers_search.py).
    """
    model = records.MODEL_OF_KIND[record_kind]
    text_only = all(word.terms and not _point_prefixes(actor, record_kind, word) for word in words)
    if session.get_bind().dialect.name != "postgresql" or not text_only or not sees_all:
        statement = scoped.with_only_columns(model.id).where(condition)
        statement = statement.order_by(_newest_first(session, model)).limit(CANDIDATES_PER_SOURCE)
        return list(session.scalars(statement))
    terms = list(dict.fromkeys(term for word in words for term in word.terms))
    newest = (
        scoped.with_only_columns(model.id.label("id"), _stored_vector(model).label("search_vector"))
        .order_by(model.id.desc())
        .limit(NEWEST_WINDOW)
        .subquery("newest")
    )
    in_window = (
        select(newest.c.id)
        .where(_vector_match(newest.c.search_vector, terms))
        .order_by(newest.c.id.desc())
        .limit(CANDIDATES_PER_SOURCE)
    )
    found = list(session.scalars(in_window))
    if len(found) == CANDIDATES_PER_SOURCE:
        return found
    # MATERIALIZED: every match from the GIN index, then sorted; never a walk of the records.
    matched = scoped.with_only_columns(model.id.label("id")).where(condition).cte("matched")
    matched = matched.prefix_with("MATERIALIZED")
    every = select(matched.c.id).order_by(matched.c.id.desc()).limit(CANDIDATES_PER_SOURCE)
    return list(session.scalars(every))


def _name_forms(record: Account | Contact) -> list[str]:
    """The forms of a record's name a query may begin: folded, without spaces or punctuation, and
    for contacts the pinyin and initials; and each word of the name on its own."""
    names = [record.name, record.name_en] if isinstance(record, Account) else [record.full_name]
    forms: list[str] = []
    for name in names:
        if not name:
            continue
        runs = _runs(fold_for_search(name))
        forms.append("".join(runs))
        forms.extend(runs)
    if isinstance(record, Contact):
        forms.extend([record.name_pinyin, record.name_initials])
    return [form for form in forms if form]


def _rank(record: Account | Contact, exact: SearchMatch | None, compact: str) -> SearchMatch:
    if exact is not None:
        return exact
    if compact and any(form.startswith(compact) for form in _name_forms(record)):
        return SearchMatch.NAME
    return SearchMatch.PARTIAL


_MATCH_ORDER = {match: position for position, match in enumerate(SearchMatch)}


def _hits(
    session: Session, records_found: Iterable[tuple[Account | Contact, SearchMatch]]
) -> list[SearchHit]:
    rows = list(records_found)
    contact_ids = [record.id for record, _ in rows if isinstance(record, Contact)]
    employers: dict[str, str] = {}
    if contact_ids:
        current = session.execute(
            select(Employment.contact_id, Account.name)
            .join(Account, Account.id == Employment.account_id)
            .where(Employment.contact_id.in_(contact_ids), Employment.ended_on.is_(None))
            .order_by(Employment.is_primary, Employment.started_on)
        )
        employers = {contact_id: account_name for contact_id, account_name in current}
    owners = records.user_names(session, [record.owner_id for record, _ in rows])
    hits = []
    for record, match in rows:
        owner_name = owners.get(record.owner_id or "")
        if isinstance(record, Account):
            hits.append(
                SearchHit(
                    record_kind=RecordKind.ACCOUNT,
                    id=record.id,
                    name=record.name,
                    name_en=record.name_en,
                    city=record.city,
                    owner_name=owner_name,
                    match=match,
                )
            )
        else:
            hits.append(
                SearchHit(
                    record_kind=RecordKind.CONTACT,
                    id=record.id,
                    name=record.full_name,
                    title=record.title,
                    account_name=employers.get(record.id),
                    city=record.city,
                    owner_name=owner_name,
                    match=match,
                )
            )
    return hits


def search_customers(uow: UnitOfWork, actor: Actor, q: str, *, limit: int) -> list[SearchHit]:
    """The accounts and contacts the reader may see that match ``q``, best first.

    Ranked: the record whose whole phone number, email address or credit code was typed; then
    records whose name (or its pinyin or initials) begins with the query; then the other
    matches (see :func:`matches`). Within a rank, shorter names first — the closer match —
    then by name. Deleted records are not found. Raises ``PermissionDenied`` when the reader may
    read neither accounts nor contacts.
    """
    check_limit(limit)
    kinds = [
        kind for kind, object_type in OBJECT_TYPE_OF_KIND.items() if actor.can(object_type.key, Action.READ)
    ]
    if not kinds:
        require(actor, CONTACT.key, Action.READ)
    words = parse_query(q)
    if not words:
        return []
    compact = "".join(term for word in words for term in word.terms)
    with uow:
        session = uow.session
        found: list[tuple[Account | Contact, SearchMatch]] = []
        for kind in kinds:
            model = records.MODEL_OF_KIND[kind]
            object_type = OBJECT_TYPE_OF_KIND[kind]
            scoped = records.readable(actor, kind)
            exact = _exact_matches(session, actor, kind, q, scoped)
            condition = matches(session, actor, kind, model, q)
            ids = list(exact)
            sees_all = actor.scope(object_type.key, Action.READ) is Scope.ALL
            ids.extend(_name_beginnings(session, kind, words, scoped, condition, sees_all=sees_all))
            ids.extend(_newest_matches(session, actor, kind, words, scoped, condition, sees_all=sees_all))
            wanted = list(dict.fromkeys(ids))
            rows = cast(
                Sequence[Account | Contact],
                session.scalars(select(model).where(model.id.in_(wanted))).all() if wanted else [],
            )
            found.extend((row, _rank(row, exact.get(row.id), compact)) for row in rows)
        found.sort(
            key=lambda pair: (
                _MATCH_ORDER[pair[1]],
                len(_display_name(pair[0])),
                _display_name(pair[0]),
                pair[0].id,
            )
        )
        return _hits(session, found[:limit])


def _display_name(record: Account | Contact) -> str:
    return record.name if isinstance(record, Account) else record.full_name
