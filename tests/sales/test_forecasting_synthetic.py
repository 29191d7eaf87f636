"""The naive Bayes arithmetic on a synthetic generator with known true probabilities: trained on
closed deals, it scores held-out deals better (lower Brier score) than the stage defaults do."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from loopcrm.modules.sales.forecasting import naive_bayes

STAGES = ("qualification", "needs", "proposal", "negotiation")
STAGE_DEFAULTS = {"qualification": 0.10, "needs": 0.25, "proposal": 0.50, "negotiation": 0.75}
SOURCES = {"referral": 2.0, "web": 1.0, "trade_show": 0.6, "cold_call": 0.3}  # odds multipliers
INDUSTRIES = {"manufacturing": 1.5, "retail": 1.0, "education": 0.5}
BASE_ODDS = 0.5


def _true_probability(source: str, industry: str) -> float:
    odds = BASE_ODDS * SOURCES[source] * INDUSTRIES[industry]
    return odds / (1 + odds)


def _deals(generator: random.Random, number: int) -> list[tuple[naive_bayes.DealFeatures, bool, float]]:
    """Deals with a known true win probability (from source and industry). A won deal passed every
    stage; a lost one dropped out at a uniformly chosen stage and entered the stages before it."""
    deals = []
    for _ in range(number):
        source = generator.choice(list(SOURCES))
        industry = generator.choice(list(INDUSTRIES))
        truth = _true_probability(source, industry)
        is_won = generator.random() < truth
        reached = len(STAGES) if is_won else generator.randint(1, len(STAGES))
        features = naive_bayes.DealFeatures(
            stages=STAGES[:reached], attributes={"source": source, "industry": industry}
        )
        deals.append((features, is_won, truth))
    return deals


def test_the_model_beats_the_stage_defaults_on_deals_it_has_not_seen() -> None:
    generator = random.Random(20261215)
    training = _deals(generator, 3000)
    held_out = _deals(generator, 2000)
    counts = naive_bayes.fit("stage", ((features, is_won) for features, is_won, _truth in training))

    # every held-out deal is scored as it was when it entered its first stage
    model, defaults, truth = [], [], []
    for features, is_won, true_probability in held_out:
        first = features.stages[0]
        estimate = naive_bayes.estimate(counts, "stage", first, features.attributes)
        model.append((estimate.probability, is_won))
        defaults.append((STAGE_DEFAULTS[first], is_won))
        truth.append((true_probability, is_won))

    model_score = naive_bayes.brier_score(model)
    default_score = naive_bayes.brier_score(defaults)
    truth_score = naive_bayes.brier_score(truth)
    assert model_score < default_score
    assert model_score - truth_score < 0.01  # within a hundredth of knowing the true probabilities


def test_laplace_smoothing_of_the_prior_and_of_an_unseen_stage() -> None:
    counts = naive_bayes.fit("stage", [(naive_bayes.DealFeatures(stages=("proposal",), attributes={}), True)])
    # prior (1+1)/(1+2) = 2/3; a stage no deal entered: ((0+1)/(1+2)) / ((0+1)/(0+2)) = 2/3;
    # odds 2 × 2/3 = 4/3 → 4/7
    estimate = naive_bayes.estimate(counts, "stage", "negotiation", {})
    assert estimate.prior_won == pytest.approx(2 / 3)
    assert estimate.probability == pytest.approx(4 / 7)
    assert estimate.factors[0].likelihood_ratio == pytest.approx(2 / 3)
    assert estimate.percent == 57


def test_an_open_deal_is_never_certain() -> None:
    won = [(naive_bayes.DealFeatures(stages=("proposal",), attributes={"source": "web"}), True)] * 500
    estimate = naive_bayes.estimate(naive_bayes.fit("stage", won), "stage", "proposal", {"source": "web"})
    assert estimate.probability > 0.995
    assert estimate.percent == naive_bayes.MAX_OPEN_PROBABILITY


def test_amount_bands() -> None:
    assert [
        naive_bayes.amount_band(Decimal(value)) for value in ("0", "9999.99", "10000", "250000", "1000000")
    ] == [
        "under_10k",
        "under_10k",
        "10k_50k",
        "200k_1m",
        "1m_plus",
    ]
