"""CRUD latency of the REST API at a fixed request rate, over loopback HTTP to a real server.

Starts ``loopcrm serve`` on a fresh embedded (or the given PostgreSQL) database, seeds users
and teams, then sends an open-loop mix of GET / POST / PATCH at ``--rate`` requests per second
for ``--seconds`` and reports p50 / p95 / p99 per operation. Open loop: requests leave on
schedule whether or not earlier ones have answered, so a slow server shows up as latency
rather than as a lower rate.

    .venv/bin/python bench/api_latency.py --rate 200 --seconds 20 --scale 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from latency import p50_p95_p99
from live_server import free_port, migrate_and_create_admin_token, serving

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超"]
ENGLISH = ["Emma Wilson", "Liam Smith", "Olivia Brown", "Noah Jones", "Ava Taylor", "Lucas Martin"]


def seed(url: str, token: str, scale: int, rng: random.Random) -> list[str]:
    """Create ``scale`` users through the API (as an integrator would) and return their ids."""
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        team = client.post("/api/v1/teams", json={"name": "基准测试组"}).json()["id"]
        for number in range(scale):
            name = rng.choice(ENGLISH) if number % 5 == 0 else rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
            response = client.post(
                "/api/v1/users",
                json={
                    "email": f"user{number}@example.com",
                    "name": name,
                    "role": rng.choice(["sales_rep", "sales_rep", "sales_manager", "marketer"]),
                    "phone": f"+86138{rng.randrange(10**8):08d}",
                    "team_ids": [team],
                },
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


async def run_load(url: str, token: str, user_ids: list[str], rate: int, seconds: int, rng: random.Random):
    headers = {"Authorization": f"Bearer {token}"}
    latencies: dict[str, list[float]] = {"get": [], "create": [], "update": []}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits) as client:

        async def one(kind: str, number: int) -> None:
            started = time.perf_counter()
            if kind == "get":
                response = await client.get(f"/api/v1/users/{rng.choice(user_ids)}")
            elif kind == "create":
                response = await client.post("/api/v1/teams", json={"name": f"团队 {number}"})
            else:
                response = await client.patch(
                    f"/api/v1/users/{rng.choice(user_ids)}", json={"name": rng.choice(SURNAMES) + "总"}
                )
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code >= 400:
                errors[f"{kind} {response.status_code}"] = errors.get(f"{kind} {response.status_code}", 0) + 1
            else:
                latencies[kind].append(elapsed)

        tasks = []
        begin = time.perf_counter()
        for number in range(rate * seconds):
            due = begin + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = ("get", "get", "create", "update")[number % 4]
            tasks.append(asyncio.create_task(one(kind, number)))
        await asyncio.gather(*tasks)
        duration = time.perf_counter() - begin
    return latencies, errors, duration


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=200, help="requests per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--scale", type=int, default=1000, help="users to seed")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL; default: a fresh SQLite file")
    arguments = parser.parse_args()
    rng = random.Random(20261123)

    data_dir = Path(tempfile.mkdtemp(prefix="loopcrm-bench-"))
    port = free_port()
    environment = {**os.environ, "LOOPCRM_DATA_DIR": str(data_dir)}
    if arguments.database_url:
        environment["LOOPCRM_DATABASE_URL"] = arguments.database_url
        environment["LOOPCRM_EMBEDDED_WORKER"] = "true"
    token = migrate_and_create_admin_token(environment)
    with serving(environment, port, stderr=subprocess.DEVNULL) as url:
        seeded_at = time.perf_counter()
        user_ids = seed(url, token, arguments.scale, rng)
        print(f"seeded {len(user_ids)} users in {time.perf_counter() - seeded_at:.1f} s")
        latencies, errors, duration = asyncio.run(
            run_load(url, token, user_ids, arguments.rate, arguments.seconds, rng)
        )

    total = sum(len(values) for values in latencies.values())
    print(f"database: {'PostgreSQL' if arguments.database_url else 'SQLite'}; cores: {os.cpu_count()}")
    print(
        f"sent {arguments.rate * arguments.seconds} requests in {duration:.1f} s "
        f"({total / duration:.0f} answered/s), errors: {errors or 'none'}"
    )
    print(f"{'operation':<10}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for kind, values in latencies.items():
        if values:
            p50, p95, p99 = p50_p95_p99(values)
            print(f"{kind:<10}{len(values):>8}{p50:>10.1f}{p95:>10.1f}{p99:>10.1f}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
