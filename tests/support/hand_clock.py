"""A clock for tests of scheduled work (jobs, reminders, retries), moved by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from loopcrm.platform.db import utc_now


class HandClock:
    """A clock the test moves by hand. It starts at the real time, so jobs enqueued before it are due."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
