"""The unit of work: one transaction that rolls back unless a service commits it.

Side effects that must not happen for a rolled-back change (emails, job notifications,
webhooks) are registered with :meth:`UnitOfWork.after_commit` and run only once the commit
has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)


class UnitOfWork:
    """A transaction boundary owned by a service function.

    ``with uow: ...; uow.commit()`` — leaving the block without ``commit()`` rolls back.
    A unit of work may be entered again after it ends, for a new transaction.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, read_only: bool = False) -> None:
        self._session_factory = session_factory
        self._read_only = read_only
        self._session: Session | None = None
        self._after_commit: list[Callable[[], object]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not active; use it in a `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("the unit of work is already active")
        self._session = self._session_factory()
        self._after_commit = []
        if self._read_only and self._session.get_bind().dialect.name == "sqlite":
            self._session.connection(execution_options={"sqlite_begin": "DEFERRED"})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.rollback()
            session.close()
        self._after_commit = []

    def commit(self) -> None:
        """Commit the transaction, then run the side effects registered for after commit."""
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a failed side effect must not undo or hide the committed change
                log.exception("after-commit callback failed")

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit = []

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once this transaction commits; dropped if it rolls back."""
        self._after_commit.append(callback)


class JoinedUnitOfWork(UnitOfWork):
    """The caller's open transaction lent to a use case that opens its own: entering starts a
    savepoint, ``commit`` releases it (the caller commits for real), leaving without a commit
    rolls back to it; after-commit effects wait for the caller's commit.

    This is how one use case calls another inside one transaction (a lead's conversion creates
    an account, a contact and an opportunity, or none of them): services keep owning their unit
    of work and stay callable on their own. Convention: the joined variant of a service
    function ``f`` is offered as ``f_in(uow, ...)`` where callers need it.
    """

    def __init__(self, outer: UnitOfWork) -> None:
        self._outer = outer
        self._savepoint: SessionTransaction | None = None

    @property
    def session(self) -> Session:
        return self._outer.session

    def __enter__(self) -> JoinedUnitOfWork:
        self._savepoint = self._outer.session.begin_nested()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        savepoint, self._savepoint = self._savepoint, None
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()

    def commit(self) -> None:
        if self._savepoint is not None:
            self._savepoint.commit()
            self._savepoint = None

    def rollback(self) -> None:
        if self._savepoint is not None:
            self._savepoint.rollback()
            self._savepoint = None

    def after_commit(self, callback: Callable[[], object]) -> None:
        self._outer.after_commit(callback)


UnitOfWorkFactory = Callable[..., UnitOfWork]
