"""Event ingestion through ``POST /v1/batch`` over loopback HTTP to a real server process.

Starts ``loopcrm serve`` on a fresh embedded SQLite database (or the given PostgreSQL one),
creates an event source through the REST API, then sends batches of ``--batch`` track events
(Segment's format, unique messageIds, written by analytics-python's rules) and reports events
accepted per second and the request latency p50 / p95 / p99. Every request must answer 200, and
at the end the log must hold exactly the events sent (counted through the API).

Two modes:

* open loop (default): ``--rate`` requests per second leave on schedule whether or not earlier
  ones have answered, so a slow server shows as latency, not as a lower rate (QUALITY.md's bar:
  200 requests/s × 100 events = 20,000 events/s with p99 ≤ 50 ms);
* closed loop (``--concurrency N``): N clients send as fast as answers come back, to find the
  ceiling.

    .venv/bin/python bench/cdp_ingestion.py --rate 200 --seconds 20
    .venv/bin/python bench/cdp_ingestion.py --concurrency 16 --seconds 20
    .venv/bin/python bench/cdp_ingestion.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench \
        --workers 2

It also reports the server's CPU time per event, which other load on the machine does not
distort, so a change can be judged while the machine is busy.

``--import-rows N`` measures ingestion while a CSV import of N new contacts runs in the same
server (uploaded and started through the REST API, landed by the embedded job worker, which it
turns on): what a brand sees when someone imports customers while its website sends events.

    .venv/bin/python bench/cdp_ingestion.py --rate 200 --seconds 20 --import-rows 20000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from latency import p50_p95_p99
from lean_client import LeanClient
from live_server import (
    free_port,
    migrate_and_create_admin_token,
    process_group_cpu_seconds,
    server_group_id,
    serving,
)


def import_file(rows: int) -> bytes:
    """A UTF-8 CSV of ``rows`` new contacts (name, mobile, email, city) as a shop exports them."""
    lines = ["姓名,手机,邮箱,城市"]
    families, givens, cities = (
        "王李张刘陈杨黄赵吴周",
        "伟芳娜敏静丽强磊军洋",
        ("上海", "北京", "杭州", "深圳"),
    )
    for number in range(rows):
        name = families[number % 10] + givens[(number // 10) % 10] + givens[(number // 100) % 10]
        lines.append(f"{name},139{number:08d},buyer{number}@example.com,{cities[number % 4]}")
    return ("\n".join(lines) + "\n").encode()


def start_import(api: httpx.Client, rows: int) -> str:
    """Upload and start an import of ``rows`` contacts; its id once its first step has landed."""
    uploaded = api.post(
        "/api/v1/imports",
        files={"file": ("customers.csv", import_file(rows), "text/csv")},
        data={"record_kind": "contact"},
    )
    uploaded.raise_for_status()
    run = uploaded.json()
    started = api.post(
        f"/api/v1/imports/{run['id']}/start", json={"mapping": run["mapping"], "upsert_key": "email"}
    )
    started.raise_for_status()
    while api.get(f"/api/v1/imports/{run['id']}").json()["processed_rows"] == 0:
        time.sleep(0.2)
    return str(run["id"])


EVENTS = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed", "页面浏览"]


def batch_template(write_key: str, size: int) -> bytes:
    """One batch as analytics-python sends it (writeKey and sentAt in the body, ISO times), with
    ``@@`` where each request puts its own number, so every messageId is unique."""
    now = datetime.now(UTC).isoformat()
    messages = [
        {
            "type": "track",
            "event": EVENTS[index % len(EVENTS)],
            "userId": f"user-{index * 37 % 5000}",
            "anonymousId": None,
            "messageId": f"@@-{index}-{uuid.uuid4()}",
            "timestamp": now,
            "properties": {"sku": f"SKU-{index}", "price": 19.9 + index, "currency": "CNY"},
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            "integrations": {},
        }
        for index in range(size)
    ]
    return json.dumps({"batch": messages, "sentAt": now, "writeKey": write_key}).encode()


async def run_load(
    url: str,
    bodies: list[bytes],
    *,
    rate: int,
    concurrency: int,
    seconds: int,
    client_kind: str,
    trace: list[tuple[float, float]],
) -> tuple[list[float], dict[str, int], int, float]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    lean = LeanClient(url)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers=headers) as client:

        async def post(body: bytes) -> str:
            if client_kind == "lean":
                return str(await lean.send(lean.post_request("/v1/batch", body)))
            return str((await client.post("/v1/batch", content=body)).status_code)

        async def one(body: bytes) -> None:
            started = time.perf_counter()
            try:
                status = await post(body)
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:
                status = type(error).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if status == "200":
                latencies.append(elapsed)
                trace.append((started, elapsed))
            else:
                errors[status] = errors.get(status, 0) + 1

        begin = time.perf_counter()
        if concurrency:
            position = 0

            async def client_loop() -> None:
                nonlocal position, sent
                while time.perf_counter() - begin < seconds and position < len(bodies):
                    body = bodies[position]
                    position += 1
                    sent += 1
                    await one(body)

            await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        else:
            tasks = []
            for number in range(min(rate * seconds, len(bodies))):
                delay = begin + number / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(bodies[number])))
                sent += 1
            await asyncio.gather(*tasks)
        duration = time.perf_counter() - begin
    lean.close()
    return latencies, errors, sent, duration


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=200, help="requests per second (open loop)")
    parser.add_argument("--concurrency", type=int, default=0, help="closed loop with this many clients")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL; default: a fresh SQLite file")
    parser.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL only)")
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="load generator: pre-built keep-alive requests (lean) or httpx (~2 ms CPU a request)",
    )
    parser.add_argument(
        "--import-rows", type=int, default=0, help="run an import of this many contacts meanwhile"
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="write each answered request's send time (s from the first) and latency (ms) to this file",
    )
    arguments = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="loopcrm-bench-"))
    port = free_port()
    environment = {
        **os.environ,
        "LOOPCRM_DATA_DIR": str(data_dir),
        "LOOPCRM_EMBEDDED_WORKER": (
            "true" if arguments.import_rows else os.environ.get("BENCH_EMBEDDED_WORKER", "false")
        ),
    }
    if arguments.database_url:
        environment["LOOPCRM_DATABASE_URL"] = arguments.database_url
    token = migrate_and_create_admin_token(environment)
    with serving(environment, port, workers=arguments.workers) as url:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        source = api.post("/api/v1/cdp/sources", json={"name": "bench", "channel": "server"}).json()
        requests = (
            (arguments.rate * arguments.seconds) if not arguments.concurrency else 2000 * arguments.seconds
        )
        template = batch_template(source["write_key"], arguments.batch)
        bodies = [template.replace(b"@@", str(number).encode()) for number in range(requests)]
        import_id = start_import(api, arguments.import_rows) if arguments.import_rows else None
        landed_before = api.get(f"/api/v1/imports/{import_id}").json()["processed_rows"] if import_id else 0
        cpu_before = process_group_cpu_seconds(server_group_id(url))
        trace: list[tuple[float, float]] = []
        # The load generator's own garbage collections would pause its event loop (4,000 bodies of
        # 36 KB, a task per request) and show as server latency: none while it measures.
        gc.collect()
        gc.disable()
        latencies, errors, sent, duration = asyncio.run(
            run_load(
                url,
                bodies,
                rate=arguments.rate,
                concurrency=arguments.concurrency,
                seconds=arguments.seconds,
                client_kind=arguments.client,
                trace=trace,
            )
        )
        gc.enable()
        server_cpu = process_group_cpu_seconds(server_group_id(url)) - cpu_before
        counters = api.get(f"/api/v1/cdp/sources/{source['id']}/counters").json()
        landed = (
            api.get(f"/api/v1/imports/{import_id}").json()["processed_rows"] - landed_before
            if import_id
            else 0
        )
    shutil.rmtree(data_dir, ignore_errors=True)  # a SQLite log of 400,000 events is ~300 MB

    accepted = len(latencies) * arguments.batch
    mode = f"closed loop, {arguments.concurrency} clients" if arguments.concurrency else "open loop"
    print(
        f"database: {'PostgreSQL' if arguments.database_url else 'SQLite'}; cores: {os.cpu_count()}; {mode}; "
        f"client: {arguments.client}; load before: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"sent {sent} requests of {arguments.batch} events in {duration:.1f} s: "
        f"{accepted / duration:,.0f} events/s acknowledged ({len(latencies) / duration:.0f} requests/s), "
        f"errors: {errors or 'none'}"
    )
    print(f"stored (counters): accepted {counters['accepted']:,}, deduplicated {counters['deduplicated']}")
    if accepted:
        per_event = server_cpu * 1e6 / accepted
        print(
            f"server CPU: {server_cpu:.1f} s for {accepted:,} events = {per_event:.0f} µs per event "
            f"({arguments.workers} web process(es); database server processes not counted)"
        )
    if arguments.import_rows:
        print(f"import meanwhile: {landed:,} rows landed during the load ({landed / duration:,.0f} rows/s)")
    if latencies:
        p50, p95, p99 = p50_p95_p99(latencies)
        print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(latencies):.1f}")
    if arguments.trace and trace:
        first = min(started for started, _ in trace)
        arguments.trace.write_text(
            "".join(f"{started - first:.4f} {elapsed:.1f}\n" for started, elapsed in sorted(trace))
        )
    if errors or counters["accepted"] != accepted:
        sys.exit(1)


if __name__ == "__main__":
    main()
