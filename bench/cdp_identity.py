"""Identity processing throughput: events resolved to profiles per second, on SQLite or PostgreSQL.

Generates (seeded) ``--events`` Segment messages from ``--people`` people with fragmented
identities: every person browses with one to three anonymous ids (browsers, the mini program),
some use the app (a device id), 60 % log in (a user id), half give an email, 40 % a phone
(written in several notations), a third come from WeChat (unionid and per-app openid); events per
person are skewed (a few heavy users, many one-visit people); 3 % of messages carry placeholder
values (``null``, ``0``) that must identify no one. Then it measures, on a fresh database each:

* ``job``: the identity job as it runs: the messages are written to the event log (in bulk, not
  timed), then the job's periodic run is enqueued and a real
  :class:`~loopcrm.platform.jobs.worker.Worker` runs it and the runs each full run queues after
  it until the log is drained, each resolving the log after the cursor and recording every
  event's profile in its transaction (``--events-per-run``; default 10,000 events a run on
  SQLite, 50,000 on PostgreSQL);
* ``log``: the same runs called back to back in the benchmark's process, without the job's
  pauses: how fast the graph resolves the log (a worker process of its own on PostgreSQL works
  this way; on SQLite, and in the web process, the job pauses four times as long as each run
  took, so that ingestion gets the write lock and the interpreter: ADR 0018);
* ``batch``: ``resolve_many`` on batches of 1,000 observations (the same graph work without the
  event log);
* ``single``: ``resolve`` one message per transaction, the slowest way to call the graph, on the
  first ``--single`` messages only.

    .venv/bin/python bench/cdp_identity.py --events 100000 --people 20000
    .venv/bin/python bench/cdp_identity.py --events 100000 --people 20000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_identity

``--database-url`` must name a database of its own: its public schema is dropped first.
``--statements`` prints, for each job run, the time spent in each SQL statement (on PostgreSQL
the server's time and the round trip; SQLite runs a query as its rows are fetched, so its reads
show little there).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, insert, select

from loopcrm.app import register_tasks
from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.jobs import RESOLVE_IDENTITIES
from loopcrm.modules.cdp.identity.schemas import Observation
from loopcrm.modules.cdp.models import ChannelType, Event, EventAttribution
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.platform.db import create_database_engine, create_session_factory, new_id, utc_now
from loopcrm.platform.jobs.models import Job, JobStatus
from loopcrm.platform.jobs.registry import registry
from loopcrm.platform.jobs.service import JobOutcome, enqueue_periodic_slot
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_NAMES = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Coupon Applied")
PLACEHOLDERS = ("null", "0", "undefined", "anonymous")


def _person(rng: random.Random, number: int) -> dict[str, Any]:
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    notation = rng.choice((phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", f"0086-{phone}"))
    return {
        "anonymous": [f"anon-{number}-{index}" for index in range(rng.choice((1, 1, 2, 3)))],
        "device": f"device-{number}" if rng.random() < 0.3 else None,
        "user": f"user-{number}" if rng.random() < 0.6 else None,
        "email": f"person{number}@example.com" if rng.random() < 0.5 else None,
        "phone": notation if rng.random() < 0.4 else None,
        "unionid": f"oUnion{number:08d}" if rng.random() < 0.33 else None,
    }


def generate_messages(events: int, people: int, seed: int) -> list[dict[str, Any]]:
    """Messages in time order: mostly page and track calls, an identify now and then."""
    rng = random.Random(seed)
    persons = [_person(rng, number) for number in range(people)]
    weights = [1 / (rank + 1) ** 0.8 for rank in range(people)]  # a few heavy users, a long tail
    chosen = rng.choices(range(people), weights=weights, k=events)
    messages: list[dict[str, Any]] = []
    for position, index in enumerate(chosen):
        person = persons[index]
        at = START + timedelta(seconds=position * 30)
        context: dict[str, Any] = {}
        message: dict[str, Any] = {"anonymousId": rng.choice(person["anonymous"]), "timestamp": at}
        is_identify = rng.random() < 0.1
        if person["user"] and (is_identify or rng.random() < 0.5):
            message["userId"] = person["user"]
        if person["device"] and rng.random() < 0.5:
            context["device"] = {"id": person["device"]}
        if person["unionid"] and rng.random() < 0.5:
            context["externalIds"] = [
                {"id": person["unionid"], "type": "wechat_unionid", "collection": "users"},
                {"id": f"oOpen{index}", "type": "wechat_openid:wxmini", "collection": "users"},
            ]
        if rng.random() < 0.03:
            message["userId" if rng.random() < 0.5 else "anonymousId"] = rng.choice(PLACEHOLDERS)
        if is_identify:
            traits: dict[str, Any] = {"name": f"顾客{index}", "plan": rng.choice(("free", "pro", "vip"))}
            if person["email"]:
                traits["email"] = person["email"]
            if person["phone"]:
                traits["phone"] = person["phone"]
            message.update(type="identify", traits=traits)
        else:
            message.update(
                type="track", event=rng.choice(EVENT_NAMES), properties={"price": rng.randrange(10, 900)}
            )
        message["context"] = context
        messages.append(message)
    return messages


def _fresh_engine(database_url: str | None, directory: Path, name: str) -> Engine:
    """An empty database migrated to the newest revision: a new SQLite file per kind and run, or
    the PostgreSQL database's public schema dropped."""
    if database_url is None:
        engine = create_database_engine(f"sqlite:///{directory / f'identity-{name}.sqlite3'}")
    else:
        engine = create_database_engine(database_url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    return engine


def _observation(message: dict[str, Any]) -> Observation:
    traits = message.get("traits") or {}
    return Observation(tuple(identity.identifiers_of_message(message)), message["timestamp"], traits)


def _write_event_log(
    engine: Engine, uow_factory: Callable[[], UnitOfWork], messages: list[dict[str, Any]]
) -> None:
    source = cdp.create_source(
        uow_factory(), system_actor(), SourceCreate(name="Bench", channel=ChannelType.WEB)
    )
    rows = [
        {
            "id": new_id(),
            "source_id": source.id,
            "message_id": f"m-{position}",
            "type": message["type"],
            "event": message.get("event"),
            "user_id": message.get("userId"),
            "anonymous_id": message.get("anonymousId"),
            "timestamp": message["timestamp"],
            "received_at": message["timestamp"],
            "properties": message.get("traits") or message.get("properties") or {},
            "context": message["context"],
            "extra": {},
        }
        for position, message in enumerate(messages)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Event), rows[start : start + 5000])


class StatementTimings:
    """Seconds and calls per SQL statement (its first 100 characters) while open, from
    SQLAlchemy's cursor events: where a run's time goes on the database's side."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def _before(self, connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        connection.info["statement_began"] = time.perf_counter()

    def _after(self, connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        total = self.totals[" ".join(statement.split())[:100]]
        total[0] += time.perf_counter() - connection.info.pop("statement_began")
        total[1] += 1

    def __enter__(self) -> StatementTimings:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def report(self, top: int = 10) -> str:
        rows = sorted(self.totals.items(), key=lambda item: -item[1][0])[:top]
        spent = sum(seconds for seconds, _ in self.totals.values())
        lines = [f"    SQL: {spent:.2f} s in all; the slowest statements:"]
        lines += [f"    {seconds:7.3f} s {int(calls):5d}×  {text}" for text, (seconds, calls) in rows]
        return "\n".join(lines)


def _next_run_at(engine: Engine) -> datetime | None:
    """When the identity job's next queued run is due, if one is queued."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.min(Job.run_at)).where(
                Job.name == RESOLVE_IDENTITIES, Job.status == JobStatus.QUEUED.value
            )
        )


def measure(
    kind: str,
    engine: Engine,
    messages: list[dict[str, Any]],
    single: int,
    directory: Path,
    *,
    statements: bool = False,
    events_per_run: int | None = None,
) -> tuple[int, float]:
    """Events resolved and the seconds it took, for one way of calling the graph."""
    uow_factory = lambda: UnitOfWork(create_session_factory(engine))  # noqa: E731
    if kind == "job":
        _write_event_log(engine, uow_factory, messages)
        register_tasks()
        settings = Settings(
            data_dir=directory / "data",
            database_url=engine.url.render_as_string(hide_password=False),
            cdp_identity_events_per_run=events_per_run,
        )
        worker = Worker(create_session_factory(engine), settings, run_scheduler=False)
        timings = StatementTimings(engine)
        with timings if statements else contextlib.nullcontext():
            began = time.perf_counter()
            enqueue_periodic_slot(uow_factory(), registry.get(RESOLVE_IDENTITIES), utc_now())
            runs = 0
            while (due := _next_run_at(engine)) is not None:
                # As the worker does: a run that is not due yet is taken at its next poll.
                if due > utc_now():
                    time.sleep(worker.poll_seconds)
                    continue
                outcome = worker.run_next()
                if outcome is not JobOutcome.SUCCEEDED:
                    raise SystemExit(f"a run of the identity job ended {outcome}")
                runs += 1
            seconds = time.perf_counter() - began
        with engine.connect() as connection:
            done = connection.scalar(select(func.count()).select_from(EventAttribution)) or 0
            unresolved = connection.scalar(select(func.count()).select_from(Event)) - done
        print(f"    {runs} runs of the job; {unresolved} events of blocked values only (no profile)")
        if statements:
            print(timings.report())
        return len(messages), seconds
    if kind == "log":
        _write_event_log(engine, uow_factory, messages)
        began = time.perf_counter()
        done = 0
        while (count := identity.resolve_pending_events(uow_factory(), max_events=events_per_run)) > 0:
            done += count
        return done, time.perf_counter() - began
    observations = [_observation(message) for message in messages]  # parsing is timed in "job" only
    if kind == "batch":
        began = time.perf_counter()
        for start in range(0, len(observations), 1000):
            identity.resolve_many(uow_factory(), observations[start : start + 1000])
        return len(observations), time.perf_counter() - began
    sample = observations[:single]
    began = time.perf_counter()
    for observation in sample:
        identity.resolve(uow_factory(), observation.identifiers, observation.traits, observation.at)
    return len(sample), time.perf_counter() - began


def _summary(engine: Engine) -> str:
    from loopcrm.modules.cdp.identity.models import IdentityLink, Profile, ProfileMerge

    with engine.connect() as connection:
        profiles = connection.execute(
            select(func.count()).select_from(Profile).where(Profile.merged_into.is_(None))
        )
        links = connection.execute(
            select(func.count()).select_from(IdentityLink).where(IdentityLink.valid_to.is_(None))
        )
        merges = connection.execute(select(func.count()).select_from(ProfileMerge))
        counts = (profiles.scalar_one(), links.scalar_one(), merges.scalar_one())
        return "{} live profiles, {} identities, {} merges".format(*counts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=5_000, help="messages for the one-per-transaction run")
    parser.add_argument("--runs", type=int, default=3, help="runs per kind; the median is reported")
    parser.add_argument("--kinds", default="job,batch,single")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--statements", action="store_true", help="time each SQL statement of the job runs")
    parser.add_argument(
        "--events-per-run", type=int, default=None, help="the job's run size (default: the engine's)"
    )
    arguments = parser.parse_args()

    messages = generate_messages(arguments.events, arguments.people, arguments.seed)
    engine_name = "sqlite" if arguments.database_url is None else "postgresql"
    print(f"{engine_name}: {len(messages)} messages from {arguments.people} people")
    with tempfile.TemporaryDirectory() as directory:
        for kind in arguments.kinds.split(","):
            rates = []
            for run in range(arguments.runs):
                engine = _fresh_engine(arguments.database_url, Path(directory), f"{kind}-{run}")
                count, seconds = measure(
                    kind,
                    engine,
                    messages,
                    arguments.single,
                    Path(directory),
                    statements=arguments.statements,
                    events_per_run=arguments.events_per_run,
                )
                rates.append(count / seconds)
                rate = count / seconds
                print(f"  {kind} run {run + 1}: {count} events in {seconds:.2f} s = {rate:,.0f} events/s")
                if run == 0:
                    print(f"    graph: {_summary(engine)}")
                engine.dispose()
            print(f"{kind}: median {statistics.median(rates):,.0f} events/s over {len(rates)} runs")


if __name__ == "__main__":
    main()
