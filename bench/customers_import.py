"""Importing a CSV of 100,000 contacts, through the same service path and job worker as the app.

Seeds a fresh database (migrated to the newest revision) with ``--existing`` contacts and a
tenth as many accounts, users, tags and a custom field (the seeding of
``bench/customers_search.py``), writes a UTF-8 CSV of ``--rows`` contacts as a user would export
it from another system, then times each stage the way a user goes through them:

* upload (``upload_import``: the file is stored, its encoding, delimiter and header read, the
  mapping guessed from the headers), then ``start_import`` with the guessed mapping and an
  upsert key (email by default, so re-running the same file changes nothing);
* landing: a real :class:`~loopcrm.platform.jobs.worker.Worker` claims and runs the import job
  step after step (1,000 rows a step: parse, map, validate with the API's schemas, duplicate
  warnings, upsert, audit), as ``loopcrm worker`` or the embedded worker would;
* optionally (``--rerun``) the same file again, which must change nothing.

The file's rows: about 10 % update a contact that exists (found by email; requires
``--existing``), 2 % are bad (a phone, an email, a custom field option or an owner that is not
valid), the rest are new people, 60 % of them naming an existing account as their company.

    .venv/bin/python bench/customers_import.py --rows 100000
    .venv/bin/python bench/customers_import.py --rows 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_import

``--database-url`` must name a database of its own: its public schema is dropped first.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import customers_search as seeding

from loopcrm.app import freeze_startup_objects, register_tasks
from loopcrm.modules.customers.models import (
    Account,
    Contact,
    ContactPoint,
    ImportRun,
    RecordKind,
)
from loopcrm.modules.customers.names import display_name
from loopcrm.modules.customers.service import imports
from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

HEADER = [
    "姓名",
    "手机",
    "邮箱",
    "公司",
    "职位",
    "部门",
    "性别",
    "省份",
    "城市",
    "标签",
    "客户等级",
    "负责人",
]
GENDERS = ("男", "女", "", "")
DEPARTMENTS = ("采购部", "销售部", "技术部", "财务部", "市场部", "总经办", "")
LEVEL_LABELS = ("A级", "B级", "C级", "D级", "")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def write_file(
    engine: Engine, path: Path, rows: int, existing: int, rng: random.Random
) -> list[tuple[str, str]]:
    """The CSV to import; returns each row's kind (new, update or bad), email and company."""
    with engine.connect() as connection:
        account_names = list(
            connection.scalars(select(Account.name).order_by(Account.id).limit(20_000)).all()
        )
        existing_emails = list(
            connection.scalars(
                select(ContactPoint.value)
                .where(ContactPoint.record_kind == "contact", ContactPoint.kind == "email")
                .order_by(ContactPoint.id)
                .limit(max(rows // 10, 1))
            ).all()
            if existing
            else []
        )
    owners = [f"rep{team}_{rep}@example.com" for team in range(10) for rep in range(10)]
    tag_names = list(seeding.TAG_NAMES)
    pick_surname = seeding.weighted(rng, seeding.SURNAMES, 1)
    pick_city = seeding.weighted(rng, seeding.CITIES, 2)
    planned: list[tuple[str, str, str]] = []
    updates = iter(existing_emails)
    with path.open("w", encoding="utf-8", newline="") as stored:
        writer = csv.writer(stored)
        writer.writerow(HEADER)
        for number in range(rows):
            city, province, _, _ = pick_city()
            if rng.random() < 0.8:
                family = pick_surname()[0]
                given = "".join(rng.choice(seeding.GIVEN_CHARACTERS) for _ in range(rng.choice((1, 2, 2))))
            else:
                family, given = rng.choice(seeding.ENGLISH_FAMILY), rng.choice(seeding.ENGLISH_GIVEN)
            name = display_name(family, given)
            phone = f"1{rng.choice(seeding.MOBILE_PREFIXES)[1:]}{rng.randrange(10**8):08d}"
            email = f"import{number}.{rng.randrange(10**6)}@{rng.choice(seeding.FREE_MAIL)}"
            level = rng.choice(LEVEL_LABELS)
            owner = rng.choice(owners)
            kind = "new"
            draw = rng.random()
            if draw < 0.1 and existing_emails:
                found = next(updates, None)
                if found is not None:
                    email, kind = found, "update"
            elif draw < 0.12:
                kind = "bad"
                problem = rng.randrange(4)
                if problem == 0:
                    phone = phone[:6]
                elif problem == 1:
                    email = email.replace("@", "#")
                elif problem == 2:
                    level = "Z级"
                else:
                    owner = "nobody@example.com"
            company = rng.choice(account_names) if account_names and rng.random() < 0.6 else ""
            planned.append((kind, email, company))
            title = rng.choice(seeding.TITLES) or ""
            tags = "，".join(rng.sample(tag_names, rng.choice((0, 0, 1, 2))))
            writer.writerow(
                [
                    name,
                    phone,
                    email,
                    company,
                    title,
                    rng.choice(DEPARTMENTS),
                    rng.choice(GENDERS),
                    province,
                    city,
                    tags,
                    level,
                    owner,
                ]
            )
    return planned


def expected_outcome(engine: Engine, planned: list[tuple[str, str, str]]) -> Counter[str]:
    """What the import's rules decide for the file, worked out from how each row was made rather
    than by the import: a bad row (invalid phone, email, option or owner) is rejected, and so is a
    row naming a company that is not exactly one live account's name (a deleted account's, or one
    several accounts share: the import does not guess); a row with a live contact's email updates
    it (every cell but the email differs; a deleted contact's email finds nothing, so that row
    creates one); any other row creates a contact."""
    with engine.connect() as connection:
        unique_names = set(
            connection.scalars(
                select(Account.name)
                .where(Account.deleted_at.is_(None))
                .group_by(Account.name)
                .having(func.count() == 1)
            )
        )
        live_emails = set(
            connection.scalars(
                select(ContactPoint.value)
                .join(Contact, Contact.id == ContactPoint.record_id)
                .where(
                    ContactPoint.record_kind == "contact",
                    ContactPoint.kind == "email",
                    Contact.deleted_at.is_(None),
                )
            )
        )
    outcome: Counter[str] = Counter()
    for kind, email, company in planned:
        if kind == "bad" or (company and company not in unique_names):
            outcome["rejected"] += 1
        elif kind == "update" and email in live_emails:
            outcome["updated"] += 1
        else:
            outcome["created"] += 1
    return outcome


def check_outcome(label: str, run: imports.ImportRunOut, expected: Counter[str]) -> None:
    """Stop the benchmark when a run's counts differ from what the rules decide: a faster import
    that lands different rows is not an improvement."""
    found = {
        "created": run.created_count,
        "updated": run.updated_count,
        "unchanged": run.unchanged_count,
        "rejected": run.rejected_count,
    }
    wanted = {name: expected[name] for name in found}
    if run.status.value != "completed" or found != wanted:
        raise SystemExit(f"{label}: {run.status.value} with {found}, the rules decide {wanted}")
    print(f"  outcome as the rules decide: {wanted}", flush=True)


def run_import(
    engine: Engine, settings: Settings, actor: object, path: Path, upsert_key: str
) -> tuple[imports.ImportRunOut, dict[str, float], list[float]]:
    """Upload, start and land one import; the run, each stage's seconds and each step's ms."""
    session_factory = create_session_factory(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    stages: dict[str, float] = {}
    started = time.perf_counter()
    with path.open("rb") as source:
        uploaded = imports.upload_import(
            uow(),
            actor,
            settings.data_dir,
            RecordKind.CONTACT,
            path.name,
            source,  # type: ignore[arg-type]
        )
    stages["upload"] = time.perf_counter() - started
    unmapped = [
        header
        for header, target in zip(uploaded.headers, uploaded.mapping, strict=True)
        if target == "ignore"
    ]
    if unmapped:
        raise SystemExit(f"the guessed mapping left out {unmapped}: {uploaded.mapping}")
    moment = time.perf_counter()
    start = imports.ImportStart(mapping=uploaded.mapping, upsert_key=upsert_key)
    imports.start_import(uow(), actor, uploaded.id, start)  # type: ignore[arg-type]
    stages["start"] = time.perf_counter() - moment
    worker = Worker(session_factory, settings, run_scheduler=False)
    steps: list[float] = []
    moment = time.perf_counter()
    while True:
        step_started = time.perf_counter()
        if not worker.run_once():
            break
        steps.append((time.perf_counter() - step_started) * 1000)
    stages["landing"] = time.perf_counter() - moment
    stages["total"] = time.perf_counter() - started
    return imports.get_import(uow(), actor, uploaded.id), stages, steps  # type: ignore[arg-type]


def report(label: str, run: imports.ImportRunOut, stages: dict[str, float], steps: list[float]) -> None:
    rows = run.total_rows or 0
    print(
        f"{label}: {run.status.value}; {rows} rows: created {run.created_count}, updated "
        f"{run.updated_count}, unchanged {run.unchanged_count}, rejected {run.rejected_count}, "
        f"with warnings {run.warning_count}",
        flush=True,
    )
    print(
        f"  upload {stages['upload']:.2f} s, start {stages['start']:.2f} s, "
        f"landing {stages['landing']:.1f} s "
        f"({len(steps)} job steps), total {stages['total']:.1f} s = {rows / stages['total']:.0f} rows/s",
        flush=True,
    )
    if steps:
        print(
            f"  job step (≤ {imports.CHUNK_ROWS} rows): p50 {statistics.median(steps):.0f} ms, "
            f"p95 {percentile(steps, 0.95):.0f} ms, p99 {percentile(steps, 0.99):.0f} ms, "
            f"max {max(steps):.0f} ms",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the imported file")
    parser.add_argument("--existing", type=int, default=100_000, help="contacts in the database beforehand")
    parser.add_argument("--upsert-key", default="email", choices=["none", "email", "phone"])
    parser.add_argument("--rerun", action="store_true", help="import the same file a second time")
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary directory"
    )
    parser.add_argument("--profile", default="", help="write a cProfile of the landing to this file")
    arguments = parser.parse_args()
    rng = random.Random(20261124)

    directory = Path(tempfile.mkdtemp(prefix="loopcrm-import-"))
    url = arguments.database_url or f"sqlite:///{directory / 'bench.sqlite3'}"
    settings = Settings(data_dir=directory / "data", database_url=url)
    engine = create_database_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    register_tasks()
    moment = time.perf_counter()
    seeding.seed(engine, arguments.existing, rng)
    with engine.connect() as connection:
        contacts = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
    print(
        f"database: {engine.dialect.name}; {contacts} contacts seeded "
        f"in {time.perf_counter() - moment:.0f} s; "
        f"cores: {os.cpu_count()}",
        flush=True,
    )
    path = directory / "contacts.csv"
    planned = write_file(engine, path, arguments.rows, arguments.existing, rng)
    kinds = Counter(kind for kind, _, _ in planned)
    print(
        f"file: {arguments.rows} rows, {path.stat().st_size / 1e6:.1f} MB; new {kinds['new']}, "
        f"updating {kinds['update']}, bad {kinds['bad']}; upsert key: {arguments.upsert_key}",
        flush=True,
    )
    expected = expected_outcome(engine, planned) if arguments.upsert_key == "email" else None
    admin = seeding.actor_by_email(engine, "admin@example.com")
    if arguments.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    # As `loopcrm worker` does once it has started (this process runs the worker in-process).
    freeze_startup_objects()
    print(
        f"load average before measuring: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True
    )
    run, stages, steps = run_import(engine, settings, admin, path, arguments.upsert_key)
    print(f"load average after: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True)
    if arguments.profile:
        profiler.disable()
        profiler.dump_stats(arguments.profile)
    report("first import", run, stages, steps)
    with engine.connect() as connection:
        contacts_after = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
        runs = connection.execute(select(func.count()).select_from(ImportRun)).scalar_one()
    print(f"  contacts now: {contacts_after} (+{contacts_after - contacts}); import runs: {runs}", flush=True)
    if expected is not None:
        check_outcome("first import", run, expected)
    if contacts_after - contacts != run.created_count:
        raise SystemExit(f"{run.created_count} contacts created, but {contacts_after - contacts} more stored")
    if arguments.rerun:
        load_before = os.getloadavg()
        again, stages, steps = run_import(engine, settings, admin, path, arguments.upsert_key)
        print(f"load average before / after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}", flush=True)
        report("same file again", again, stages, steps)
        with engine.connect() as connection:
            after_rerun = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
        print(f"  contacts now: {after_rerun} (+{after_rerun - contacts_after})", flush=True)
        if expected is not None:
            unchanged = expected["created"] + expected["updated"]
            check_outcome(
                "same file again", again, Counter(unchanged=unchanged, rejected=expected["rejected"])
            )
        if after_rerun != contacts_after:
            raise SystemExit("re-running the same file created contacts")
    engine.dispose()


if __name__ == "__main__":
    main()
