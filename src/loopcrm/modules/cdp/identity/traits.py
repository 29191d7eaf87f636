"""How traits and consent change when a message arrives and when two profiles merge.

Every trait value carries the event time it was observed at (``trait_times``), so "latest" and
"oldest" mean event time, not arrival order: a late event never overwrites a newer value. Times
are kept as fixed-width UTC text, which sorts like the times themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from loopcrm.modules.cdp.identity.models import TraitStrategy

Traits = dict[str, Any]
TraitTimes = dict[str, str]

_MISSING = object()


def time_text(moment: datetime) -> str:
    """``moment`` as fixed-width UTC text (``2026-12-01T08:00:00.000000Z``): sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_empty(value: Any) -> bool:
    """Whether a trait value says nothing: null, blank text, an empty list or object."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def apply_observed(
    traits: Traits,
    times: TraitTimes,
    observed: Mapping[str, Any],
    observed_at: str,
    strategies: Mapping[str, TraitStrategy],
) -> tuple[Traits, TraitTimes] | None:
    """The profile's traits after a message reported ``observed`` at ``observed_at``; None when
    nothing changes (so an unchanged profile is not written).

    LATEST and SUM take the reported value unless a later one is already known (a counter's
    current value is what its source reports; SUM matters when profiles merge); OLDEST keeps the
    earliest value; NON_EMPTY is LATEST except that an empty value never replaces a real one.
    """
    new_traits: Traits | None = None
    new_times: TraitTimes | None = None
    for name, value in observed.items():
        strategy = strategies.get(name, TraitStrategy.LATEST)
        known_at = times.get(name)
        if name not in traits or known_at is None:
            replace = not (strategy is TraitStrategy.NON_EMPTY and is_empty(value))
        elif strategy is TraitStrategy.OLDEST:
            replace = observed_at < known_at
        elif strategy is TraitStrategy.NON_EMPTY:
            replace = not is_empty(value) and (observed_at >= known_at or is_empty(traits[name]))
        else:
            replace = observed_at >= known_at
        if not replace or (traits.get(name, _MISSING) == value and known_at == observed_at):
            continue
        if new_traits is None or new_times is None:
            new_traits, new_times = dict(traits), dict(times)
        new_traits[name] = value
        new_times[name] = observed_at
    if new_traits is None or new_times is None:
        return None
    return new_traits, new_times


def combine_on_merge(
    survivor: tuple[Traits, TraitTimes],
    merged: tuple[Traits, TraitTimes],
    strategies: Mapping[str, TraitStrategy],
) -> tuple[Traits, TraitTimes]:
    """The survivor's traits after a merge: each trait both profiles have is decided by its
    strategy (ties go to the survivor); a trait only one has is kept as it is."""
    traits, times = dict(survivor[0]), dict(survivor[1])
    merged_traits, merged_times = merged
    for name, value in merged_traits.items():
        merged_at = merged_times.get(name, "")
        if name not in traits:
            traits[name], times[name] = value, merged_at
            continue
        strategy = strategies.get(name, TraitStrategy.LATEST)
        survivor_at = times.get(name, "")
        if strategy is TraitStrategy.SUM and _is_number(value) and _is_number(traits[name]):
            traits[name], times[name] = traits[name] + value, max(survivor_at, merged_at)
            continue
        if strategy is TraitStrategy.OLDEST:
            take_merged = merged_at < survivor_at
        elif strategy is TraitStrategy.NON_EMPTY and is_empty(value) != is_empty(traits[name]):
            take_merged = is_empty(traits[name])
        else:
            take_merged = merged_at > survivor_at
        if take_merged:
            traits[name], times[name] = value, merged_at
    return traits, times


def apply_consent(
    consent: Mapping[str, Any], stated: Mapping[str, bool], stated_at: str
) -> dict[str, Any] | None:
    """The profile's consent after a message stated ``stated``; None when nothing changes.

    Per category, the latest statement (by event time) wins: a person's most recent choice. A
    repeated statement moves its time forward, so an older contrary one arriving late loses.
    """
    changed: dict[str, Any] | None = None
    for category, granted in stated.items():
        known = consent.get(category)
        if known is not None and (
            known["at"] > stated_at or (known["at"] == stated_at and known["granted"] == granted)
        ):
            continue
        if changed is None:
            changed = dict(consent)
        changed[category] = {"granted": granted, "at": stated_at}
    return changed


def combine_consent(survivor: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, Any]:
    """Consent after a merge: per category, the statement made last (ties go to the survivor)."""
    combined = dict(survivor)
    for category, statement in merged.items():
        known = combined.get(category)
        if known is None or statement["at"] > known["at"]:
            combined[category] = statement
    return combined
