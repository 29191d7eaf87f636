"""A real ``loopcrm worker`` process for the job queue's crash and shutdown tests.

It registers one task, ``tests.jobs.slow_effect``, whose handler writes a row to the test's
``test_job_effects`` table, touches a marker file (so the test knows the write happened and is
not yet committed), then sleeps before returning. Then it runs :func:`run_worker_process`, the
same entry point as ``loopcrm worker``, until it is signalled or killed.

    python jobs_worker_process.py DATABASE_URL --data-dir DIR --lease-seconds 1 --handler-sleep 30
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from loopcrm.platform.jobs.registry import JobContext, task
from loopcrm.platform.jobs.worker import run_worker_process
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import load_settings

SLOW_EFFECT_TASK = "tests.jobs.slow_effect"

handler_sleep_seconds = 0.0


@task(SLOW_EFFECT_TASK, max_attempts=3)
def slow_effect(uow: UnitOfWork, payload: dict[str, Any], context: JobContext) -> None:
    uow.session.execute(
        text("INSERT INTO test_job_effects (label) VALUES (:label)"), {"label": payload["label"]}
    )
    Path(payload["marker"]).touch()
    time.sleep(handler_sleep_seconds)


def main() -> int:
    global handler_sleep_seconds
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--lease-seconds", type=float, required=True)
    parser.add_argument("--handler-sleep", type=float, default=0.0)
    arguments = parser.parse_args()
    handler_sleep_seconds = arguments.handler_sleep
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(
        database_url=arguments.database_url,
        data_dir=arguments.data_dir,
        secret_key="test-secret-key-" + "x" * 32,
        worker_poll_seconds=0.05,
    )
    return run_worker_process(settings, lease=timedelta(seconds=arguments.lease_seconds))


if __name__ == "__main__":
    sys.exit(main())
