"""The naive Bayes win-probability model: pure arithmetic over won/lost counts (ADR 0014).

Variant (ANALYTICS.md "Win probability: a baseline"):

* classes won / lost, learned from closed deals; prior P(won) = (N_won + α) / (N + 2α);
* the stage is a Bernoulli feature "the deal entered stage s": P(s | c) = (n_s,c + α) / (N_c + 2α),
  so a deal open in stage s is scored with the deals that once were in s;
* every other feature is categorical (a missing value is the value ""):
  P(v | c) = (n_v,c + α) / (N_c + α·K), K = the number of distinct values the scope has seen;
  a value the scope never saw says nothing and is left out (factor 1);
* posterior odds = prior odds × Π likelihood ratios; the probability of an open deal is kept in
  1..99 percent, because an open deal is never certain.

Laplace smoothing, α = 1. The functions here know nothing of the database, so the synthetic
tests can check the model against known true probabilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# Laplace smoothing: one imaginary won and one imaginary lost deal per value.
ALPHA = 1.0
# An open deal's probability stays within these percentages, whatever the model says.
MIN_OPEN_PROBABILITY = 1
MAX_OPEN_PROBABILITY = 99

# Built-in features the admin may pick besides the keys of an opportunity's ``attributes``.
SOURCE = "source"
AMOUNT_BAND = "amount_band"
HAS_COMPETITORS = "has_competitors"
FROM_LEAD = "from_lead"
BUILT_IN_FEATURES = (SOURCE, AMOUNT_BAND, HAS_COMPETITORS, FROM_LEAD)

# Amount bands in the company currency: (lower bound inclusive, value).
AMOUNT_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(1_000_000), "1m_plus"),
    (Decimal(200_000), "200k_1m"),
    (Decimal(50_000), "50k_200k"),
    (Decimal(10_000), "10k_50k"),
    (Decimal(0), "under_10k"),
)


def amount_band(amount_company: Decimal) -> str:
    """The band of a deal's amount in the company currency (bands of AMOUNT_BANDS)."""
    for lower, name in AMOUNT_BANDS:
        if amount_company >= lower:
            return name
    return AMOUNT_BANDS[-1][1]


@dataclass(frozen=True)
class DealFeatures:
    """What the model knows of one deal: the stages it entered and its attribute values."""

    stages: tuple[str, ...]
    attributes: Mapping[str, str]


def feature_values(
    attribute_names: Sequence[str],
    *,
    source: str | None,
    amount_company: Decimal,
    competitors: Sequence[str],
    lead_id: str | None,
    attributes: Mapping[str, object],
) -> dict[str, str]:
    """The values of the configured attribute features of one deal ("" when it has none)."""
    values: dict[str, str] = {}
    for name in attribute_names:
        if name == SOURCE:
            values[name] = source or ""
        elif name == AMOUNT_BAND:
            values[name] = amount_band(amount_company)
        elif name == HAS_COMPETITORS:
            values[name] = "yes" if competitors else "no"
        elif name == FROM_LEAD:
            values[name] = "yes" if lead_id else "no"
        else:
            raw = attributes.get(name)
            values[name] = "" if raw is None else str(raw).strip()[:200]
    return values


@dataclass
class Counts:
    """The counts of one scope: class totals, (feature, value) → [won, lost], and how many
    distinct values each attribute feature has."""

    won: int = 0
    lost: int = 0
    values: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    def add(self, stage_feature: str, deal: DealFeatures, is_won: bool, sign: int = 1) -> None:
        """Count one closed deal in (``sign`` 1) or out (``sign`` -1)."""
        column = 0 if is_won else 1
        if is_won:
            self.won += sign
        else:
            self.lost += sign
        keys = [(stage_feature, stage) for stage in dict.fromkeys(deal.stages)]
        keys += [(name, value) for name, value in deal.attributes.items()]
        for key in keys:
            pair = self.values.setdefault(key, [0, 0])
            pair[column] += sign

    def count_distinct(self) -> None:
        """Set ``distinct`` from ``values``: the values each feature has seen in some deal."""
        self.distinct = {}
        for (name, _value), (won, lost) in self.values.items():
            if won + lost > 0:
                self.distinct[name] = self.distinct.get(name, 0) + 1


@dataclass(frozen=True)
class Factor:
    """One feature's evidence: its counts and likelihood ratio P(v | won) / P(v | lost)."""

    feature: str
    value: str
    won: int
    lost: int
    likelihood_ratio: float | None  # None: the scope never saw the value, so it is left out


@dataclass(frozen=True)
class Estimate:
    """A probability with the evidence behind it."""

    probability: float  # 0..1, unclamped
    percent: int  # rounded, kept in MIN/MAX_OPEN_PROBABILITY
    prior_won: float
    factors: tuple[Factor, ...]


def estimate(
    counts: Counts, stage_feature: str, stage_id: str, attributes: Mapping[str, str], *, alpha: float = ALPHA
) -> Estimate:
    """P(won | the deal is in ``stage_id`` with ``attributes``) under the scope's ``counts``."""
    won_total, lost_total = counts.won, counts.lost
    prior = (won_total + alpha) / (won_total + lost_total + 2 * alpha)
    odds = prior / (1 - prior)
    factors: list[Factor] = []
    won_stage, lost_stage = counts.values.get((stage_feature, stage_id), (0, 0))
    stage_ratio = ((won_stage + alpha) / (won_total + 2 * alpha)) / (
        (lost_stage + alpha) / (lost_total + 2 * alpha)
    )
    factors.append(Factor(stage_feature, stage_id, won_stage, lost_stage, stage_ratio))
    odds *= stage_ratio
    for name, value in attributes.items():
        pair = counts.values.get((name, value))
        if pair is None or pair[0] + pair[1] == 0:
            factors.append(Factor(name, value, 0, 0, None))
            continue
        distinct = counts.distinct.get(name, 1)
        ratio = ((pair[0] + alpha) / (won_total + alpha * distinct)) / (
            (pair[1] + alpha) / (lost_total + alpha * distinct)
        )
        factors.append(Factor(name, value, pair[0], pair[1], ratio))
        odds *= ratio
    probability = odds / (1 + odds)
    percent = min(MAX_OPEN_PROBABILITY, max(MIN_OPEN_PROBABILITY, round(probability * 100)))
    return Estimate(probability, percent, prior, tuple(factors))


def fit(stage_feature: str, deals: Iterable[tuple[DealFeatures, bool]]) -> Counts:
    """Counts of a set of closed deals (deal features, is_won)."""
    counts = Counts()
    for deal, is_won in deals:
        counts.add(stage_feature, deal, is_won)
    counts.count_distinct()
    return counts


def brier_score(pairs: Iterable[tuple[float, bool]]) -> float:
    """Mean of (forecast − outcome)²: 0 is perfect, 0.25 is a coin toss's score."""
    total = 0.0
    number = 0
    for forecast, outcome in pairs:
        total += (forecast - (1.0 if outcome else 0.0)) ** 2
        number += 1
    return total / number if number else 0.0
