"""The extension points other sales areas plug into at import time.

* outcome listeners hear every change of a deal's stage kind (and its creation) inside the open
  transaction, so forecasting learns from won and lost deals as they happen;
* one probability estimator replaces the stage's default probability with a learned one.
"""

from __future__ import annotations

from collections.abc import Callable

from loopcrm.modules.sales.opportunities.schemas import OpportunityOut
from loopcrm.platform.unit_of_work import UnitOfWork

OutcomeListener = Callable[[UnitOfWork, OpportunityOut, str, str], None]
"""``listener(uow, opportunity, previous_kind, new_kind)``: called inside the open transaction
when a deal is created (``previous_kind`` is ``""``) or its stage kind changes (open→won,
open→lost, won/lost→open, won↔lost). An exception refuses the change."""

ProbabilityEstimator = Callable[[UnitOfWork, OpportunityOut], "int | None"]
"""``estimator(uow, opportunity) -> 0..100 | None``: the computed win probability of an open deal,
or ``None`` to keep the stage's default. Called inside the open transaction."""

_outcome_listeners: list[OutcomeListener] = []
_estimators: list[ProbabilityEstimator] = []


def register_outcome_listener(listener: OutcomeListener) -> None:
    """Hear deals' outcomes; registering the same listener twice is harmless."""
    if listener not in _outcome_listeners:
        _outcome_listeners.append(listener)


def register_probability_estimator(estimator: ProbabilityEstimator) -> None:
    """Set the win-probability estimator; the last one registered is used."""
    if estimator in _estimators:
        return
    _estimators.clear()
    _estimators.append(estimator)


def outcome_listeners() -> list[OutcomeListener]:
    return list(_outcome_listeners)


def estimate_probability(uow: UnitOfWork, opportunity: OpportunityOut) -> int | None:
    """The registered estimator's answer, kept in 0..100, or ``None`` when there is none."""
    for estimator in _estimators:
        value = estimator(uow, opportunity)
        if value is not None:
            return max(0, min(100, int(value)))
    return None
