"""The Fellegi–Sunter model, with Splink on an in-process DuckDB: settings, training, prediction.

Pure computation over :class:`~loopcrm.modules.cdp.matching.features.ProfileFeatures`; no
LoopCRM table is touched here. Each run trains its own model on the data it scores (ADR 0012):

1. ``u`` (how often two *different* people agree by chance) by random sampling of pairs;
2. ``m`` (how often the *same* person's records agree) by expectation maximisation on pairs
   blocked on the name, then on the birthday, so every comparison is estimated at least once;
3. the prior (how likely two random profiles are one person) from deterministic rules.

Then every pair the blocking rules produce is scored, and pairs at or above the review
threshold come back with their comparison levels, for the review queue's evidence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas  # type: ignore[import-untyped]  # (no stubs; only builds Splink's input frame)
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from loopcrm.modules.cdp.matching.features import FEATURE_COLUMNS, ProfileFeatures

# Splink logs every SQL step at INFO; a matching run reports its own progress instead.
logging.getLogger("splink").setLevel(logging.WARNING)

# Pairs sampled for u: a million gives u values stable to a few percent on 100k profiles in a
# few seconds on two cores; more only costs time.
U_SAMPLE_PAIRS = 1_000_000
# Fixed, so that two runs on the same data give the same model and the same queue.
U_SAMPLE_SEED = 5
# What share of true pairs the deterministic rules of the prior find (same phone, same email,
# or same name and birthday). Fragments the identity graph left apart rarely share an exact
# identifier, so the rules find well under half; 0.5 keeps the prior from being too low.
PRIOR_RULES_RECALL = 0.5

Progress = Callable[[str, int], None]  # stage name, percent of the scoring done


@dataclass(frozen=True)
class ComparisonLevel:
    """One level of one comparison as the trained model has it: its label and match weight."""

    label: str
    match_weight: float
    is_top: bool  # the comparison's strongest agreement level


@dataclass(frozen=True)
class ScoredPair:
    """Two profiles the model scored, with the level each comparison reached (-1: not known)."""

    left_id: str
    right_id: str
    match_probability: float
    match_weight: float
    levels: dict[str, int]


@dataclass
class ScoringResult:
    pairs: list[ScoredPair]
    # comparison name → gamma value → level, from the trained model
    levels: dict[str, dict[int, ComparisonLevel]]
    model: dict[str, Any] = field(default_factory=dict)
    compared_pairs: int = 0


def _name_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_hanzi", term_frequency_adjustments=False).configure(
                label_for_charts="Same name in Hanzi"
            ),
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=False).configure(
                label_for_charts="Same name (pinyin or Latin)"
            ),
            cll.JaroWinklerLevel("name_key", 0.92).configure(label_for_charts="Name almost the same"),
            cll.JaroWinklerLevel("name_key", 0.8).configure(label_for_charts="Name similar"),
            cll.ElseLevel(),
        ],
    )


def _email_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email").configure(label_for_charts="Same email"),
            # The same user name at another provider counts only when it is distinctive (has a run
            # of digits: a QQ number, wangwei1987): "wei.wang" at two providers is most often two
            # namesakes, and the name comparison already counts the name.
            cll.CustomLevel(
                "email_user_l = email_user_r AND regexp_matches(email_user_l, '[0-9]{3,}')",
                label_for_charts="Same distinctive email user, other provider",
            ),
            cll.ElseLevel(),
        ],
    )


def _phone_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone").configure(label_for_charts="Same phone"),
            cll.ElseLevel(),
        ],
    )


def _birthday_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="birthday",
        comparison_levels=[
            cll.NullLevel("birthday"),
            cll.ExactMatchLevel("birthday").configure(label_for_charts="Same birthday"),
            cll.DamerauLevenshteinLevel("birthday", 1).configure(label_for_charts="Birthday one digit apart"),
            cll.ElseLevel(),
        ],
    )


def _city_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="city",
        comparison_levels=[
            cll.NullLevel("city"),
            cll.ExactMatchLevel("city").configure(label_for_charts="Same city"),
            cll.ElseLevel(),
        ],
    )


COMPARISONS = ("name", "email", "phone", "birthday", "city")

# Pairs scored: those that share a phone, an email, an email user, a name key, or a birthday
# and the name's first letter. A pair that shares none of these has at most a similar name
# and city, never enough evidence for a match; leaving it out keeps 100k profiles to a few
# million comparisons instead of five billion.
BLOCKING_RULES = (
    block_on("phone"),
    block_on("email"),
    block_on("email_user"),
    block_on("name_key"),
    block_on("birthday", "substr(name_key, 1, 1)"),
)


def _settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        comparisons=[
            _name_comparison(),
            _email_comparison(),
            _phone_comparison(),
            _birthday_comparison(),
            _city_comparison(),
        ],
        blocking_rules_to_generate_predictions=list(BLOCKING_RULES),
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
    )


def _frame(profiles: Sequence[ProfileFeatures]) -> pandas.DataFrame:
    columns: dict[str, list[Any]] = {"profile_id": [profile.profile_id for profile in profiles]}
    for column in FEATURE_COLUMNS:
        columns[column] = [getattr(profile, column) for profile in profiles]
    return pandas.DataFrame(columns, dtype="string")


def _levels_of(model: dict[str, Any]) -> dict[str, dict[int, ComparisonLevel]]:
    """Each comparison's levels with their trained match weight, log2(m / u)."""
    levels: dict[str, dict[int, ComparisonLevel]] = {}
    for comparison in model["comparisons"]:
        found: dict[int, ComparisonLevel] = {}
        non_null = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for position, level in enumerate(non_null):
            gamma = len(non_null) - 1 - position
            m = level.get("m_probability")
            u = level.get("u_probability")
            weight = math.log2(m / u) if m and u else 0.0
            found[gamma] = ComparisonLevel(
                label=str(level.get("label_for_charts", "")), match_weight=weight, is_top=position == 0
            )
        levels[comparison["output_column_name"]] = found
    return levels


def score(
    profiles: Sequence[ProfileFeatures],
    *,
    threshold: float,
    progress: Progress | None = None,
) -> ScoringResult:
    """Train a model on ``profiles`` and return the pairs whose match probability reaches
    ``threshold``, best first. Fewer than two profiles: nothing to compare."""
    report = progress or (lambda stage, percent: None)
    if len(profiles) < 2:
        return ScoringResult(pairs=[], levels={})
    connection = duckdb.connect(":memory:")
    try:
        database = DuckDBAPI(connection=connection)
        linker = Linker(_frame(profiles), _settings(), database)
        report("prior", 5)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("phone"), block_on("email"), block_on("name_key", "birthday")],
            recall=PRIOR_RULES_RECALL,
        )
        report("u", 10)
        linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=U_SAMPLE_SEED)
        report("training", 30)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key"))
        report("training", 45)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("birthday"))
        report("predicting", 60)
        predictions = linker.inference.predict(threshold_match_probability=threshold)
        gamma_columns = ", ".join(f"gamma_{name}" for name in COMPARISONS)
        rows = connection.execute(
            f"SELECT profile_id_l, profile_id_r, match_probability, match_weight, {gamma_columns} "  # noqa: S608
            f"FROM {predictions.physical_name} ORDER BY match_weight DESC, profile_id_l, profile_id_r"
        ).fetchall()
        model: dict[str, Any] = linker.misc.save_model_to_json()
    finally:
        connection.close()
    pairs = [
        ScoredPair(
            left_id=str(row[0]),
            right_id=str(row[1]),
            match_probability=float(row[2]),
            match_weight=float(row[3]),
            levels={name: int(row[4 + index]) for index, name in enumerate(COMPARISONS)},
        )
        for row in rows
    ]
    report("predicted", 80)
    return ScoringResult(pairs=pairs, levels=_levels_of(model), model=model)
