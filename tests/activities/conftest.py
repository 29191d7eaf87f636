"""Fixtures of the activities tests: records to link activities to, and a worker with a hand clock.

Until the customers module registers its resolvers, the tests link activities to a record type
of their own, ``"user"``, backed by the platform's users: an actor may read a user record when
the ``user`` grants reach it or when it is the actor's own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

import loopcrm.modules.activities.jobs  # noqa: F401 -- registers the module's tasks
from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.schemas import TimelineEntry, TimelinePosition
from loopcrm.platform.auth.models import User
from loopcrm.platform.db import create_session_factory
from loopcrm.platform.errors import NotFound
from loopcrm.platform.jobs.worker import Worker
from loopcrm.platform.permissions import Action, Actor, can_reach_record
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.settings import Settings

from ..support.hand_clock import HandClock


def resolve_user(uow: UnitOfWork, actor: Actor, user_id: str) -> activities.SubjectRef:
    user = uow.session.get(User, user_id)
    if user is None or not (
        user.id == actor.user_id or can_reach_record(actor, "user", Action.READ, owner_id=user.id)
    ):
        raise NotFound("Record not found")
    return activities.SubjectRef("user", user.id, user.name, f"/admin/users/{user.id}")


if "user" not in activities.subject_types():  # the browser tests may have registered theirs first
    activities.register_subject_type("user", resolve_user)


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Any]:
    return create_session_factory(engine)


@pytest.fixture
def worker(session_factory: sessionmaker[Any], settings: Settings, clock: HandClock) -> Worker:
    return Worker(session_factory, settings, clock=clock, run_scheduler=False)


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: Any) -> Settings:
    """The test's settings pointing at the real local SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "base_url": "https://crm.example.com",
        }
    )


@pytest.fixture
def mail_worker(session_factory: sessionmaker[Any], mail_settings: Settings, clock: HandClock) -> Worker:
    return Worker(session_factory, mail_settings, clock=clock, run_scheduler=False)


def run_due_jobs(worker: Worker) -> int:
    """Run every job due at the worker's clock; how many ran."""
    count = 0
    while worker.run_next() is not None:
        count += 1
    return count


def count_rows(engine: Engine, model: Any, *conditions: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


class FixedSource:
    """A timeline source of another module, with entries given by the test."""

    def __init__(self, entries: Sequence[TimelineEntry], subjects: Collection[tuple[str, str]]) -> None:
        self.entries = sorted(entries, key=lambda entry: (entry.occurred_at, entry.id), reverse=True)
        self.subjects = set(subjects)
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        uow: UnitOfWork,
        actor: Actor,
        subjects: Sequence[tuple[str, str]],
        *,
        kinds: Collection[str] | None,
        before: TimelinePosition | None,
        limit: int,
    ) -> list[TimelineEntry]:
        self.calls.append({"subjects": list(subjects), "kinds": kinds, "before": before, "limit": limit})
        if not self.subjects & set(subjects):
            return []
        found = [
            entry
            for entry in self.entries
            if (kinds is None or entry.kind in kinds)
            and (before is None or (entry.occurred_at, entry.id) < (before.occurred_at, before.id))
        ]
        return found[:limit]


MakeLink = Callable[..., dict[str, str]]
