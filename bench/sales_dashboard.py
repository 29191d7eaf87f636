"""The sales dashboard over 100,000 opportunities with their stage history (≤ 1 s, QUALITY.md).

Seeds a fresh database (migrated to the newest revision) with the standard pipeline (through the
opportunities service), 40 reps in 5 teams with a manager each, monthly targets, and
``--scale`` opportunities spread over three years — 60 % closed (a third of them won), the rest
open with close dates ahead — each with its stage history (creation, one row per stage moved
through, the closing move): about 3.5 history rows per deal. Amounts are skewed (log-normal),
some deals typed their own probability, forecast categories follow the stages. The rows are
written in bulk (Core executemany), not through the service: seeding is not what is measured.

The measured call is ``forecasting.dashboard`` (what the page and the API call), in process, as
an admin (every deal), a manager (a team's) and a rep (their own), for the current quarter and a
whole year; median and worst of ``--repeat`` runs after one warm-up. Then the whole page,
``GET /sales/dashboard``, as the admin signed in through the login form (FastAPI's TestClient:
routing, session, the dashboard, the template with the charts' data), for both periods.

    .venv/bin/python bench/sales_dashboard.py --scale 100000
    .venv/bin/python bench/sales_dashboard.py --scale 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_sales_dashboard

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
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from web_session import sign_in

from loopcrm.app import create_app, register_tasks
from loopcrm.modules.sales.forecasting import service as forecasting
from loopcrm.modules.sales.forecasting.models import SalesTarget
from loopcrm.modules.sales.forecasting.schemas import DashboardFilters
from loopcrm.modules.sales.opportunities import service as opportunities
from loopcrm.modules.sales.opportunities.models import Opportunity, StageChange
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate, UserCreate
from loopcrm.platform.db import create_database_engine, create_session_factory, new_id
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import load_settings

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "涛", "明", "超", "秀英", "建华")
PRODUCTS = ("云平台采购", "ERP 升级", "数据中台", "CRM 部署", "安全审计", "Annual licence", "Support renewal")
SOURCES = ("web", "referral", "trade_show", "cold_call", "partner")
INDUSTRIES = ("manufacturing", "retail", "education", "finance", "healthcare")
PROVINCES = ("浙江", "江苏", "上海", "广东", "北京", "四川")
TEAMS = 5
REPS_PER_TEAM = 8
BATCH = 5_000
ADMIN_EMAIL = "bench-admin@example.com"
PASSWORD = "bench dashboard password"  # noqa: S105 (a throwaway database's user)


def _people(uow_factory: Any) -> tuple[list[str], dict[str, str], list[Actor], list[str]]:
    """Teams of reps with a manager; returns rep ids, rep → team, [admin, manager, rep] actors."""
    system = system_actor()
    rng = random.Random(7)
    admin = auth.create_user(
        uow_factory(),
        system,
        UserCreate(email=ADMIN_EMAIL, name="管理员", role="admin", password=PASSWORD),
    )
    reps: list[str] = []
    team_of: dict[str, str] = {}
    managers: list[str] = []
    for team_number in range(TEAMS):
        manager = auth.create_user(
            uow_factory(),
            system,
            UserCreate(
                email=f"manager{team_number}@example.com", name=f"经理 {team_number}", role="sales_manager"
            ),
        )
        members = []
        for number in range(REPS_PER_TEAM):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            user = auth.create_user(
                uow_factory(),
                system,
                UserCreate(email=f"rep{team_number}-{number}@example.com", name=name, role="sales_rep"),
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
        managers.append(manager.id)
    actors = [
        auth.actor_for_user(uow_factory(), admin.id),
        auth.actor_for_user(uow_factory(), managers[0]),
        auth.actor_for_user(uow_factory(), reps[0]),
    ]
    return reps, team_of, actors, managers


def seed(engine: Engine, scale: int, rng: random.Random) -> list[Actor]:
    session_factory = create_session_factory(engine)

    def uow_factory() -> UnitOfWork:
        return UnitOfWork(session_factory)

    pipeline = opportunities.create_standard_pipeline(uow_factory(), system_actor(), "zh_CN")
    reasons = [reason.id for reason in opportunities.list_lost_reasons(uow_factory(), system_actor())]
    reps, team_of, actors, _managers = _people(uow_factory)
    open_stages = [stage for stage in pipeline.stages if stage.kind.value == "open"]
    won_stage = next(stage for stage in pipeline.stages if stage.kind.value == "won")
    lost_stage = next(stage for stage in pipeline.stages if stage.kind.value == "lost")
    now = datetime.now(UTC)
    start = now - timedelta(days=3 * 365)
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

    for number in range(scale):
        owner = rng.choice(reps)
        created = start + timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
        amount = Decimal(min(5_000_000, int(rng.lognormvariate(11, 1.1)))).quantize(Decimal("0.01"))
        closing = rng.random() < 0.6 and created < now - timedelta(days=7)
        is_won = closing and rng.random() < 1 / 3
        if closing:
            reached = len(open_stages) if is_won else rng.randint(1, len(open_stages))
            final = won_stage if is_won else lost_stage
        else:
            reached = rng.randint(1, len(open_stages))
            final = open_stages[reached - 1]
        opportunity_id = new_id()
        moment = created
        previous = None
        path = open_stages[:reached] + ([final] if closing else [])
        for stage in path:
            seconds = None if previous is None else int((moment - history[-1]["changed_at"]).total_seconds())
            history.append(
                {
                    "id": new_id(),
                    "opportunity_id": opportunity_id,
                    "pipeline_id": pipeline.id,
                    "from_stage_id": previous,
                    "to_stage_id": stage.id,
                    "changed_at": moment,
                    "changed_by": owner,
                    "amount_company": amount,
                    "seconds_in_previous_stage": seconds,
                }
            )
            previous = stage.id
            moment = min(now, moment + timedelta(days=rng.expovariate(1 / 12)))
        closed_at = history[-1]["changed_at"] if closing else None
        close_date = closed_at.date() if closed_at else (now + timedelta(days=rng.randint(-20, 270))).date()
        deals.append(
            {
                "id": opportunity_id,
                "name": f"{rng.choice(PRODUCTS)} {number}",
                "pipeline_id": pipeline.id,
                "stage_id": final.id,
                "amount": amount,
                "currency": "CNY",
                "amount_company": amount,
                "expected_close_date": close_date,
                "probability_auto": final.probability,
                "probability_manual": rng.choice((None, None, None, 30, 60, 90)),
                "forecast_category": final.forecast_category.value,
                "forecast_category_is_manual": False,
                "owner_id": owner,
                "team_id": team_of[owner],
                "source": rng.choice(SOURCES),
                "competitors": [],
                "lost_reason_id": rng.choice(reasons) if closing and not is_won else None,
                "stage_entered_at": history[-1]["changed_at"],
                "closed_at": closed_at,
                "attributes": {"industry": rng.choice(INDUSTRIES), "province": rng.choice(PROVINCES)},
                "created_at": created,
                "updated_at": history[-1]["changed_at"],
                "version": 1,
            }
        )
        if len(deals) >= BATCH:
            flush()
    flush()
    targets = []
    month = date(start.year, start.month, 1)
    while month <= now.date():
        targets += [
            {
                "id": new_id(),
                "user_id": rep,
                "month": month,
                "amount": Decimal(300_000),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for rep in reps
        ]
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    with engine.begin() as connection:
        connection.execute(insert(SalesTarget), targets)
    summary = forecasting.rebuild_model(uow_factory(), system_actor())  # the daily job's work
    print(f"model rebuilt: {summary.observations} closed deals", flush=True)
    return actors


def measure(engine: Engine, actors: list[Actor], repeat: int, profile: bool) -> None:
    session_factory = create_session_factory(engine)
    today = datetime.now(UTC).date()
    quarter = DashboardFilters()
    year = DashboardFilters(period_start=date(today.year, 1, 1), period_end=date(today.year, 12, 31))
    # CPU time of this process: on SQLite (in process) all of the work, and unlike wall time not
    # inflated by waiting for a core on a busy machine; on PostgreSQL only the client's share.
    print(f"{'reader':<8} {'period':<8} {'median ms':>10} {'worst ms':>10} {'cpu ms':>8}", flush=True)
    for label, actor in zip(("admin", "manager", "rep"), actors, strict=True):
        for period_label, filters in (("quarter", quarter), ("year", year)):
            forecasting.dashboard(UnitOfWork(session_factory, read_only=True), actor, filters)  # warm-up
            timings, cpu_timings = [], []
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                forecasting.dashboard(UnitOfWork(session_factory, read_only=True), actor, filters)
                timings.append((time.perf_counter() - started) * 1000)
                cpu_timings.append((time.process_time() - cpu_started) * 1000)
            print(
                f"{label:<8} {period_label:<8} {statistics.median(timings):>10.1f} {max(timings):>10.1f}"
                f" {statistics.median(cpu_timings):>8.1f}",
                flush=True,
            )
    measure_page(engine, year, repeat)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        forecasting.dashboard(UnitOfWork(session_factory, read_only=True), actors[0], year)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def measure_page(engine: Engine, year: DashboardFilters, repeat: int) -> None:
    """The page as the admin's browser gets it, for the default period (the current quarter) and a year."""
    settings = load_settings(
        data_dir=Path(tempfile.mkdtemp(prefix="loopcrm-sales-dashboard-data-")),
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="bench-secret-key-" + "x" * 32,
        embedded_worker=False,
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        sign_in(client, ADMIN_EMAIL, PASSWORD)
        year_query = f"?period_start={year.period_start}&period_end={year.period_end}"
        for period_label, query in (("quarter", ""), ("year", year_query)):
            timings = []
            for run in range(repeat + 1):
                started = time.perf_counter()
                answer = client.get(f"/sales/dashboard{query}")
                if answer.status_code != 200:
                    raise SystemExit(f"the dashboard page answered {answer.status_code}")
                if run:  # the first is the warm-up
                    timings.append((time.perf_counter() - started) * 1000)
            print(
                f"{'page':<8} {period_label:<8} {statistics.median(timings):>10.1f} {max(timings):>10.1f}"
                f"  ({len(answer.content) // 1024} KiB, admin)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=100_000, help="opportunities")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one admin year run")
    parser.add_argument("--seed", type=int, default=20261215)
    arguments = parser.parse_args()
    register_tasks()
    url = arguments.database_url or (
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='loopcrm-sales-dashboard-')) / 'bench.sqlite3'}"
    )
    engine = create_database_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    started = time.perf_counter()
    print(f"seeding {arguments.scale} opportunities into {engine.url.render_as_string()}", flush=True)
    actors = seed(engine, arguments.scale, random.Random(arguments.seed))
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    measure(engine, actors, arguments.repeat, arguments.profile)


if __name__ == "__main__":
    main()
