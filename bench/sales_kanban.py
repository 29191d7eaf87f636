"""The kanban page of a pipeline with 10,000 open opportunities (≤ 100 ms server time).

Seeds a fresh database (migrated to the newest revision) with the standard pipeline (through the
opportunities service), 5 teams of 8 reps with a manager each, ``--open`` open deals spread over
the four open stages and ``--closed`` won or lost ones, in bulk (Core executemany: seeding is not
what is measured), each on one of ``ACCOUNTS`` accounts (made through the customers service, owned
by the reps, so a rep's cards name only the accounts the rep may read). Close dates range from a
month ago (overdue) to nine months ahead.

Measured: ``GET /sales/opportunities/kanban?pipeline=…`` through the whole application in process
(FastAPI's TestClient: routing, session lookup, CSRF, the service's aggregate and card queries,
template rendering, security headers), as an admin (every deal), a manager (a team's) and a rep
(their own), signed in through the login form; and, for the profile, the service call
``opportunities.kanban`` alone. Median and worst of ``--repeat`` runs after two warm-ups.

    .venv/bin/python bench/sales_kanban.py --open 10000
    .venv/bin/python bench/sales_kanban.py --open 10000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_sales_kanban

``--database-url`` must name a database of its own: its public schema is dropped first.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from web_session import sign_in

from loopcrm.app import create_app
from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountCreate
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.models import Opportunity, StageChange
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate, UserCreate
from loopcrm.platform.db import create_database_engine, create_session_factory, new_id
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import load_settings

PASSWORD = "bench kanban password"  # noqa: S105 (a throwaway database's users)
PRODUCTS = ("云平台采购", "ERP 升级", "数据中台", "CRM 部署", "安全审计", "Annual licence", "Support renewal")
TEAMS = 5
REPS_PER_TEAM = 8
BATCH = 5_000
ACCOUNTS = 1_000


def _people(uow_factory: Callable[[], UnitOfWork]) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Reps in teams; returns rep ids, rep → team, and the emails of the measured readers."""
    system = system_actor()
    admin = auth.create_user(
        uow_factory(),
        system,
        UserCreate(email="bench-admin@example.com", name="管理员", role="admin", password=PASSWORD),
    )
    reps: list[str] = []
    team_of: dict[str, str] = {}
    readers = {"admin": admin.email}
    for team_number in range(TEAMS):
        manager = auth.create_user(
            uow_factory(),
            system,
            UserCreate(
                email=f"manager{team_number}@example.com",
                name=f"经理 {team_number}",
                role="sales_manager",
                password=PASSWORD if team_number == 0 else None,
            ),
        )
        members = []
        for number in range(REPS_PER_TEAM):
            user = auth.create_user(
                uow_factory(),
                system,
                UserCreate(
                    email=f"rep{team_number}-{number}@example.com",
                    name=f"销售 {team_number}-{number}",
                    role="sales_rep",
                    password=PASSWORD if team_number == 0 and number == 0 else None,
                ),
            )
            members.append(user.id)
        team = auth.create_team(
            uow_factory(),
            system,
            TeamCreate(name=f"销售{team_number + 1}组", manager_id=manager.id, member_ids=members),
        )
        for member in members:
            team_of[member] = team.id
        reps += members
        if team_number == 0:
            readers["manager"] = manager.email
            readers["rep"] = "rep0-0@example.com"
    return reps, team_of, readers


def seed(
    engine: Engine, open_count: int, closed_count: int, rng: random.Random
) -> tuple[str, dict[str, str]]:
    session_factory = create_session_factory(engine)

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(session_factory)

    pipeline = opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")
    reasons = [reason.id for reason in opportunities.list_lost_reasons(uow_factory(), system_actor())]
    reps, team_of, readers = _people(uow_factory)
    accounts = [
        customers.create_account(
            uow_factory(), system_actor(), AccountCreate(name=f"客户公司 {number}", owner_id=rng.choice(reps))
        ).id
        for number in range(ACCOUNTS)
    ]
    open_stages = [stage for stage in pipeline.stages if stage.kind.value == "open"]
    won = next(stage for stage in pipeline.stages if stage.kind.value == "won")
    lost = next(stage for stage in pipeline.stages if stage.kind.value == "lost")
    now = datetime.now(UTC)
    deals: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as connection:
            if deals:
                connection.execute(insert(Opportunity), deals)
            if history:
                connection.execute(insert(StageChange), history)
        deals.clear()
        history.clear()

    for number in range(open_count + closed_count):
        is_open = number < open_count
        stage = rng.choice(open_stages) if is_open else (won if rng.random() < 0.4 else lost)
        owner = rng.choice(reps)
        created = now - timedelta(days=rng.randint(1, 400))
        amount = Decimal(min(5_000_000, int(rng.lognormvariate(11, 1.1)))).quantize(Decimal("0.01"))
        deal_id = new_id()
        deals.append(
            {
                "id": deal_id,
                "name": f"{rng.choice(PRODUCTS)} {number}",
                "pipeline_id": pipeline.id,
                "stage_id": stage.id,
                "amount": amount,
                "currency": "CNY",
                "amount_company": amount,
                "expected_close_date": (now + timedelta(days=rng.randint(-30, 270))).date(),
                "probability_auto": stage.probability,
                "probability_manual": rng.choice((None, None, None, 30, 60)) if is_open else None,
                "forecast_category": stage.forecast_category.value,
                "forecast_category_is_manual": False,
                "owner_id": owner,
                "team_id": team_of[owner],
                "account_id": rng.choice(accounts),
                "competitors": [],
                "lost_reason_id": rng.choice(reasons) if stage is lost else None,
                "stage_entered_at": created,
                "closed_at": None if is_open else created,
                "attributes": {},
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
        history.append(
            {
                "id": new_id(),
                "opportunity_id": deal_id,
                "pipeline_id": pipeline.id,
                "from_stage_id": None,
                "to_stage_id": stage.id,
                "changed_at": created,
                "changed_by": owner,
                "amount_company": amount,
                "seconds_in_previous_stage": None,
            }
        )
        if len(deals) >= BATCH:
            flush()
    flush()
    return pipeline.id, readers


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    for _ in range(2):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=10_000, help="open deals in the pipeline")
    parser.add_argument("--closed", type=int, default=2_000, help="won and lost deals in the pipeline")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="print the page's top functions (admin)")
    arguments = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="loopcrm-bench-kanban-"))
    url = arguments.database_url or f"sqlite:///{directory / 'bench.sqlite3'}"
    engine = create_database_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    rng = random.Random(42)
    started = time.perf_counter()
    pipeline_id, readers = seed(engine, arguments.open, arguments.closed, rng)
    print(
        f"{engine.dialect.name}: seeded {arguments.open:,} open + {arguments.closed:,} closed deals "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")

    settings = load_settings(
        data_dir=directory / "data",
        database_url=url,
        secret_key="bench-secret-key-" + "x" * 32,
        embedded_worker=False,
    )
    session_factory = create_session_factory(engine)
    path = f"/sales/opportunities/kanban?pipeline={pipeline_id}"
    for role, email in readers.items():
        with TestClient(create_app(settings, engine=engine)) as client:
            sign_in(client, email, PASSWORD)
            first = client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"the board answered {first.status_code}: {first.text[:500]}")
            cards = first.text.count("data-version=")
            median, worst = timed(lambda client=client: client.get(path), arguments.repeat)  # type: ignore[misc]
            actor: Actor = auth.actor_for_user(UnitOfWork(session_factory), _user_id(session_factory, email))
            service_median, _ = timed(
                lambda actor=actor: opportunities.kanban(UnitOfWork(session_factory), actor, pipeline_id),  # type: ignore[misc]
                arguments.repeat,
            )
            print(
                f"  {role:8} page median {median:6.1f} ms, worst {worst:6.1f} ms "
                f"({len(first.content) / 1024:.0f} KiB, {cards} cards); "
                f"service alone {service_median:5.1f} ms"
            )
            if arguments.profile and role == "admin":
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(10):
                    client.get(path)
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    engine.dispose()


def _user_id(session_factory: Any, email: str) -> str:
    uow = UnitOfWork(session_factory)
    found = auth.find_user_id(uow, system_actor(), email)
    if found is None:
        raise SystemExit(f"no user {email}")
    return found


if __name__ == "__main__":
    main()
