"""Engine, session factory and the columns every table shares.

One code path serves the embedded SQLite default and PostgreSQL in production. SQLite is
tuned for a web server: WAL so readers never block the writer, foreign keys enforced, and a
busy timeout so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    TypeDecorator,
    create_engine,
    event,
    insert,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, sessionmaker
from sqlalchemy.orm import Session as OrmSession

# Writers on SQLite wait up to this long for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000


class _RandomBytes:
    """Bytes from the operating system's CSPRNG, drawn 4 KiB at a time.

    Event ingestion makes tens of thousands of ids a second; one ``os.urandom`` call per id is a
    system call that also gives up the GIL, and winning it back from the event writer's thread
    stalled the request handlers (a tenth of the server's samples under load). One draw per ~400
    ids keeps the same source of randomness. A forked child forgets the parent's unused bytes, so
    two processes never hand out the same ones.
    """

    DRAW_BYTES = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at the fork stays held
        self._pool = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            start = self._offset
            if start + count > len(self._pool):
                self._pool = os.urandom(self.DRAW_BYTES)
                start = 0
            self._offset = start + count
            return self._pool[start : start + count]


_random_bytes = _RandomBytes()


def new_id() -> str:
    """A UUIDv7 (RFC 9562) as a string: opaque to clients, time-ordered for index locality."""
    milliseconds = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(_random_bytes.take(10), "big")
    value = (milliseconds & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((random_bits >> 68) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= random_bits & ((1 << 62) - 1)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC; every stored time is UTC."""
    return datetime.now(UTC)


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random secret (session cookies, API tokens, reset links)."""
    return secrets.token_urlsafe(nbytes)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite keeps no time zone; without this, values read back would be naive and compare
    wrongly with aware ones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every LoopCRM table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Record:
    """Columns every business record carries: id, who and when, and an optimistic-lock version.

    ``version`` is SQLAlchemy's version counter: an UPDATE that finds another version than the
    one it read fails instead of overwriting someone else's change.
    """

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    updated_by: Mapped[str | None] = mapped_column(String(36), default=None)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class SoftDeletable:
    """A record that is hidden rather than removed, so deletes stay reversible and audited."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode across application crashes
    cursor.close()


def create_database_engine(url: str, *, echo: bool = False) -> Engine:
    """Build the engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # first start: make the data directory
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        _begin_sqlite_transactions_explicitly(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _begin_sqlite_transactions_explicitly(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.

    The sqlite3 module otherwise starts transactions lazily and commits implicitly before
    some statements, which breaks savepoints and makes transaction boundaries unclear.
    """

    @event.listens_for(engine, "connect")
    def _disable_pysqlite_transactions(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
        # waits its turn (busy timeout) instead of failing when another writer got in between.
        # Read-only units of work ask for DEFERRED and never block writers.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_session_factory(engine: Engine) -> sessionmaker[OrmSession]:
    """Sessions that keep loaded objects usable after commit (services return them as schemas)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


# A database's libc collations that compare text by code point (``pg_database.datcollate``).
_CODE_POINT_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8"})
_orders_by_code_point: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def orders_text_by_code_point(session: OrmSession) -> bool:
    """Whether the database compares text by code point, so that ``prefix <= value < next``
    (``next`` the prefix with its last character incremented) holds exactly the values that
    begin with ``prefix``: always on SQLite (binary comparison of UTF-8), on PostgreSQL when the
    database's collation is C or POSIX (not an ICU locale). Otherwise a range answered by an
    index must be checked again, and the check costs PostgreSQL its row estimate
    (docs/benchmarks.md). Asked once per engine."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return True
    engine = bind.engine
    if engine not in _orders_by_code_point:
        # The provider decides: ICU ('i') always orders by language; libc ('c') by the collation
        # named; PostgreSQL 17's builtin provider ('b') by code point.
        provider, collation = session.execute(
            text("SELECT datlocprovider, datcollate FROM pg_database WHERE datname = current_database()")
        ).one()
        _orders_by_code_point[engine] = provider == "b" or (
            provider == "c" and collation in _CODE_POINT_COLLATIONS
        )
    return _orders_by_code_point[engine]


# Values per IN list: far below SQLite's limit of bound parameters, few statements for a batch.
IN_LIST_SIZE = 500


def in_batches(values: Sequence[Any], size: int = IN_LIST_SIZE) -> list[Sequence[Any]]:
    """``values`` in consecutive slices of at most ``size``, one statement's IN list each."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def insert_rows(session: OrmSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in one statement.

    On PostgreSQL the rows go as one array per column, unpacked by ``unnest``: SQLAlchemy's
    executemany renders every row's parameters in Python and the server plans a VALUES row each,
    which made inserting tens of thousands of identity links a second of the identity job's eight
    (docs/benchmarks.md). The arrays are sent in binary, since psycopg escapes each element of a
    text array with a regular expression. Elsewhere it is SQLAlchemy's multi-row insert. The
    arrays bypass column types' bind processing and Python-side defaults, so only plain columns
    (text, numbers, aware datetimes) are accepted and every column with a default must be given,
    on either engine, so that code tested on one works on the other.
    """
    if not rows:
        return
    names = tuple(rows[0])
    # Built on every engine: building it checks the columns, so SQLite refuses what PostgreSQL would.
    statement = _unnest_insert_sql(table, names)
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    session.connection().exec_driver_sql(statement, tuple([row[name] for row in rows] for name in names))


@functools.cache
def _unnest_insert_sql(table: Table, names: tuple[str, ...]) -> str:
    """PostgreSQL's array INSERT of ``names`` into ``table``, after checking the columns suit it."""
    dialect = postgresql.dialect()
    arrays = []
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
            raise TypeError(f"insert_rows sends no JSON ({table.name}.{name})")
        arrays.append(f"%b::{column_type.compile(dialect=dialect)}[]")
    defaulted = [
        column.name for column in table.columns if column.default is not None and column.name not in names
    ]
    if defaulted:
        # Python-side defaults are SQLAlchemy's to apply; the arrays would leave them empty.
        raise ValueError(f"insert_rows needs values for {table.name}'s {', '.join(defaulted)}")
    columns = ", ".join(f'"{name}"' for name in names)
    return f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({", ".join(arrays)})'  # noqa: S608
