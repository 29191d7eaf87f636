"""The identity graph's deterministic rules: which values identify someone, in which normal form,
how many of each type one person may have, and which identifier gives way first.

Pure functions and constants, no database: the resolver, the identity job and the tests read
the same rules (CDP_CONTRACT.md, "Messages" rule 6 and "Identity graph rules").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from loopcrm.modules.cdp.identity.models import IdentityType
from loopcrm.modules.cdp.identity.schemas import Identifier
from loopcrm.modules.customers.schemas import PhoneNumber

# Longest identifier value kept; the event log refuses longer user and anonymous ids as well.
MAX_IDENTITY_VALUE_LENGTH = 255
MAX_IDENTITY_TYPE_LENGTH = 64

# Values that SDKs, forms and buggy integrations send when they have no real identifier. Matching
# on them would merge everyone who ever sent them into one giant profile (CDP_CONTRACT.md lists
# them; the extra spellings are the ones the same bugs produce in other languages).
BLOCKED_VALUES = frozenset(
    {
        "-1",
        "null",
        "(null)",
        "<null>",
        "nil",
        "<nil>",
        "none",
        "undefined",
        "anonymous",
        "guest",
        "[object object]",
        "nan",
        "true",
        "false",
        "unknown",
        "n/a",
        "{}",
        "[]",
    }
)
# Empty, zeros and dashes: "0", "000000", "-", "--", "0-0" (placeholder phones and ids).
_ZEROS_AND_DASHES = re.compile(r"[0-]*")
_TYPE_PATTERN = re.compile(r"[a-z0-9_.:-]+")

# How many distinct values of a type one profile may hold. A user id and a WeChat unionid name
# exactly one account; five emails and phones cover work, private and old ones; a person uses
# any number of browsers and devices, so anonymous and device ids have no limit.
IDENTITY_LIMITS: Mapping[str, int] = {
    IdentityType.CRM_CONTACT: 1,
    IdentityType.USER_ID: 1,
    IdentityType.WECHAT_UNIONID: 1,
    IdentityType.EMAIL: 5,
    IdentityType.PHONE: 5,
}
# An openid names one WeChat account inside one app (``wechat_openid:<appid>``): one per app.
PER_APP_LIMITED_PREFIXES: Mapping[str, int] = {"wechat_openid:": 1}

# Which identifier of a message gives way first when a limit would be exceeded: the lowest
# number is dropped first. Typed external ids the contract does not rank (e-commerce buyer ids
# and the like) sit between phones and devices: stronger than a cookie, weaker than a contact
# point a person confirmed.
IDENTITY_PRIORITIES: Mapping[str, int] = {
    # A CRM contact is the strongest: two contacts are two people to the CRM, so a shared email
    # gives way (two profiles), never the contact link.
    IdentityType.CRM_CONTACT: 110,
    IdentityType.USER_ID: 100,
    IdentityType.WECHAT_UNIONID: 90,
    IdentityType.WECHAT_OPENID: 80,
    IdentityType.EMAIL: 70,
    IdentityType.PHONE: 60,
    IdentityType.DEVICE_ID: 20,
    IdentityType.ANONYMOUS_ID: 10,
}
EXTERNAL_ID_PRIORITY = 40
# Types only LoopCRM itself writes: a message naming them (``context.externalIds``) is ignored, so
# no sender can attach a profile to a CRM contact of its choosing.
RESERVED_TYPES = frozenset({IdentityType.CRM_CONTACT.value})

_phone_adapter: TypeAdapter[str] = TypeAdapter(PhoneNumber)


def is_blocked(value: str) -> bool:
    """Whether ``value`` is a placeholder that must never identify anyone."""
    text = value.strip().lower()
    return _ZEROS_AND_DASHES.fullmatch(text) is not None or text in BLOCKED_VALUES


@lru_cache(maxsize=1024)
def limit_of(identity_type: str) -> int | None:
    """How many values of ``identity_type`` one profile may hold; None for no limit."""
    limit = IDENTITY_LIMITS.get(identity_type)
    if limit is not None:
        return limit
    for prefix, per_app_limit in PER_APP_LIMITED_PREFIXES.items():
        if identity_type.startswith(prefix):
            return per_app_limit
    return None


@lru_cache(maxsize=1024)
def priority_of(identity_type: str) -> int:
    """The rank of ``identity_type`` when identifiers compete (higher is kept longer)."""
    priority = IDENTITY_PRIORITIES.get(identity_type)
    if priority is not None:
        return priority
    base_type = identity_type.split(":", 1)[0]
    return IDENTITY_PRIORITIES.get(base_type, EXTERNAL_ID_PRIORITY)


def is_limited(identity_type: str) -> bool:
    return limit_of(identity_type) is not None


@lru_cache(maxsize=65_536)
def _normalized_phone(text: str) -> str | None:
    # Cached: a busy site sends the same few thousand phones over and over, and parsing with
    # libphonenumber is the slowest step of normalising a message.
    try:
        return _phone_adapter.validate_python(text)
    except ValidationError:
        return None


def normalize_identifier(identity_type: str, value: Any) -> Identifier | None:
    """The identifier in its stored form, or None when the value identifies no one.

    Numbers are stringified (SDKs send numeric user ids), whitespace is trimmed, emails are
    lower-cased and must contain an ``@``, phones become E.164 through the customers module's
    phone contract (an invalid phone is no identifier), and blocked or overlong values (or ones with a
    NUL character, which PostgreSQL cannot store) are refused.
    """
    if isinstance(value, str):
        return _normalized(identity_type, value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _normalized(identity_type, str(value))
    return None


# Cached: the same anonymous ids, user ids and emails arrive over and over, and normalising is a
# fifth of the identity job's work. Identifiers are immutable tuples, safe to share.
@lru_cache(maxsize=65_536)
def _normalized(identity_type: str, value: str) -> Identifier | None:
    text = value.strip()
    if not text or len(text) > MAX_IDENTITY_VALUE_LENGTH or "\x00" in text or is_blocked(text):
        return None
    kind = identity_type.strip().lower()
    if not kind or len(kind) > MAX_IDENTITY_TYPE_LENGTH or not _TYPE_PATTERN.fullmatch(kind):
        return None
    if kind == IdentityType.EMAIL:
        text = text.lower()
        local, _, domain = text.partition("@")
        if not local or "." not in domain or is_blocked(local):
            return None
    elif kind == IdentityType.PHONE:
        phone = _normalized_phone(text)
        if phone is None:
            return None
        text = phone
    return Identifier(kind, text)


def ranked(identifiers: Iterable[Identifier]) -> list[Identifier]:
    """Distinct identifiers, strongest first; among equals, in the order given."""
    unique = list(dict.fromkeys(identifiers))
    if len(unique) > 1:
        unique.sort(key=_rank_key)
    return unique


def _rank_key(identifier: Identifier) -> int:
    return -priority_of(identifier.type)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def identifiers_of_message(message: Mapping[str, Any]) -> list[Identifier]:
    """The identifiers a Segment message promotes to the graph (CDP_CONTRACT.md rule 6), strongest
    first, blocked and invalid values left out.

    ``userId`` → user_id; ``traits.email`` and ``context.traits.email`` → email; ``traits.phone``
    (and ``context.traits.phone``) → phone; ``anonymousId`` → anonymous_id; ``context.device.id``
    → device_id; ``context.externalIds[{id, type, collection}]`` → an identifier of that type, so
    ``wechat_unionid`` and per-app ``wechat_openid:<appid>`` ids join the graph.
    """
    context = _mapping(message.get("context"))
    traits = _mapping(message.get("traits"))
    context_traits = _mapping(context.get("traits"))
    candidates: list[tuple[str, Any]] = [
        (IdentityType.USER_ID, message.get("userId")),
        (IdentityType.EMAIL, traits.get("email")),
        (IdentityType.EMAIL, context_traits.get("email")),
        (IdentityType.PHONE, traits.get("phone")),
        (IdentityType.PHONE, context_traits.get("phone")),
        (IdentityType.ANONYMOUS_ID, message.get("anonymousId")),
        (IdentityType.DEVICE_ID, _mapping(context.get("device")).get("id")),
    ]
    external_ids = context.get("externalIds")
    if isinstance(external_ids, list):
        for external_id in external_ids:
            entry = _mapping(external_id)
            if isinstance(entry.get("type"), str):
                candidates.append((entry["type"], entry.get("id")))
    found = (normalize_identifier(kind, value) for kind, value in candidates if value is not None)
    return ranked(
        identifier for identifier in found if identifier is not None and identifier.type not in RESERVED_TYPES
    )


def normalize_group_id(value: Any) -> str | None:
    """A ``group`` call's ``groupId`` as stored (numbers stringified, trimmed), or None when it is
    a placeholder; the same blocked values as identifiers."""
    identifier = normalize_identifier("group_id", value)
    return None if identifier is None else identifier.value


def consent_of_message(message: Mapping[str, Any]) -> dict[str, bool]:
    """The consent a message states: ``context.consent.categoryPreferences`` as category → granted.

    Only true and false count; anything else (a string, null) states nothing about that category.
    """
    consent = _mapping(_mapping(message.get("context")).get("consent"))
    preferences = _mapping(consent.get("categoryPreferences"))
    return {
        str(category): granted
        for category, granted in preferences.items()
        if isinstance(granted, bool) and str(category).strip()
    }
