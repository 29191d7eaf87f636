"""What the matcher compares: one row of normalised features per live profile.

Pure text processing, no database. The same person arrives as 王小明 from a mini program, as
"Xiaoming Wang" from an English web form and as "WANG Xiao-ming" from a trade-show list; as
``138 1234 5678`` and ``+86-138-1234-5678``; as ``Li.Lei@QQ.com`` and ``li.lei@qq.com``. The
features bring those to one form so Splink's comparisons only have to deal with real
differences (typos, a changed phone, a missing field):

- ``name_hanzi``: the name's Chinese characters, when it has any;
- ``name_key``: the name as lower-case Latin tokens (Hanzi read as pinyin: surname, then the
  given name as one word, the way pinyin names are written), sorted, joined. Sorting makes
  "Xiaoming Wang" and "Wang Xiaoming" and 王小明 one key;
- ``phone``: E.164 (+86 by default); ``email`` lower-cased and its ``email_user`` (before the @);
- ``birthday``: ``YYYY-MM-DD``; ``city``: lower-case, Hanzi city names without 市.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pypinyin import Style, lazy_pinyin

from loopcrm.modules.customers.schemas import PhoneNumber

_HANZI = "\u3400-\u4dbf\u4e00-\u9fff"
_HANZI_RUN = re.compile(f"[{_HANZI}]+")
# Latin words: letters only; apostrophes and hyphens inside a word join its parts (Xiao-ming, Xi'an).
_JOINERS = re.compile(r"['’\-‐]")
_NOT_LETTER = re.compile(r"[^a-z]+")
_DIGITS = re.compile(r"\d+")

# Two-character surnames: read together as the family name (欧阳娜娜 → ouyang nana).
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
    }
)
# Surname characters whose surname reading differs from the everyday one pypinyin picks alone.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
}

_phone_adapter: TypeAdapter[str] = TypeAdapter(PhoneNumber)


@dataclass(frozen=True)
class ProfileFeatures:
    """One profile as the matcher sees it; ``None`` where the profile does not say."""

    profile_id: str
    name_hanzi: str | None
    name_key: str | None
    email: str | None
    email_user: str | None
    phone: str | None
    birthday: str | None
    city: str | None
    has_user_id: bool  # two profiles with user ids are never merged automatically (ADR 0010)


FEATURE_COLUMNS = ("name_hanzi", "name_key", "email", "email_user", "phone", "birthday", "city")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


@lru_cache(maxsize=200_000)
def _pinyin(hanzi: str) -> str:
    return "".join(lazy_pinyin(hanzi, style=Style.NORMAL))


def _hanzi_tokens(hanzi: str) -> list[str]:
    """Surname and given name of a Chinese name in pinyin: 王小明 → [wang, xiaoming]."""
    surname_length = 2 if hanzi[:2] in COMPOUND_SURNAMES and len(hanzi) > 2 else 1
    surname, given = hanzi[:surname_length], hanzi[surname_length:]
    surname_reading = SURNAME_READINGS.get(surname) or _pinyin(surname)
    return [surname_reading, _pinyin(given)] if given else [surname_reading]


@lru_cache(maxsize=200_000)
def name_features(name: str) -> tuple[str | None, str | None]:
    """``(name_hanzi, name_key)`` of a written name (either may be None)."""
    folded = unicodedata.normalize("NFKC", name).lower()
    hanzi = "".join(_HANZI_RUN.findall(folded)) or None
    tokens: list[str] = []
    if hanzi is not None:
        tokens.extend(_hanzi_tokens(hanzi))
    latin = _HANZI_RUN.sub(" ", folded)
    decomposed = unicodedata.normalize("NFD", _JOINERS.sub("", latin))
    ascii_only = "".join(character for character in decomposed if not unicodedata.combining(character))
    if hanzi is None:  # a Latin name next to Hanzi is usually an English nickname: keep the Hanzi
        tokens.extend(word for word in _NOT_LETTER.split(ascii_only) if word)
    key = "".join(sorted(tokens)) or None
    return hanzi, key


def written_name(traits: Mapping[str, Any]) -> str | None:
    """The name a profile's traits give: ``name``, else first and last name in writing order."""
    name = _text(traits.get("name"))
    if name is not None:
        return name
    first = _text(traits.get("firstName") or traits.get("first_name")) or ""
    last = _text(traits.get("lastName") or traits.get("last_name")) or ""
    if _HANZI_RUN.search(first + last):
        return (last + first) or None
    return " ".join(part for part in (first, last) if part) or None


@lru_cache(maxsize=200_000)
def normalized_phone(value: str) -> str | None:
    """E.164, or None when the text is not a phone number."""
    try:
        return _phone_adapter.validate_python(value)
    except ValidationError:
        return None


def normalized_email(value: str) -> str | None:
    email = value.strip().lower()
    return email if "@" in email and not email.startswith("@") and not email.endswith("@") else None


def normalized_birthday(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a date, a datetime or text such as 1990-3-7, 1990/03/07, 19900307."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value)
    if text is None:
        return None
    numbers = _DIGITS.findall(text)
    if len(numbers) == 1 and len(numbers[0]) == 8:
        numbers = [numbers[0][:4], numbers[0][4:6], numbers[0][6:]]
    if len(numbers) < 3 or len(numbers[0]) != 4:
        return None
    try:
        return date(int(numbers[0]), int(numbers[1]), int(numbers[2])).isoformat()
    except ValueError:
        return None


def normalized_city(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    city = text.lower()
    if _HANZI_RUN.fullmatch(city) and len(city) > 2 and city.endswith("市"):
        city = city[:-1]
    return city


def _first(values: Iterable[str | None]) -> str | None:
    found = sorted({value for value in values if value})
    return found[0] if found else None


def features_of(
    profile_id: str,
    traits: Mapping[str, Any],
    identities: Iterable[tuple[str, str]],
    *,
    has_user_id: bool = False,
) -> ProfileFeatures:
    """The features of one profile from its traits and its current identities (type, value).

    A profile may hold several emails or phones (the graph allows five); the matcher compares
    one of each — the identity graph's first in sorted order, else the trait — which keeps the
    comparison one column wide. Profiles sharing an identifier were merged by the rules already.
    """
    emails: list[str | None] = []
    phones: list[str | None] = []
    for kind, value in identities:
        if kind == "email":
            emails.append(value)
        elif kind == "phone":
            phones.append(value)
    address = traits.get("address")
    address_city = address.get("city") if isinstance(address, Mapping) else None
    trait_email = _text(traits.get("email"))
    trait_phone = _text(traits.get("phone"))
    email = _first(emails) or (normalized_email(trait_email) if trait_email else None)
    phone = _first(phones) or (normalized_phone(trait_phone) if trait_phone else None)
    name = written_name(traits)
    hanzi, key = name_features(name) if name is not None else (None, None)
    return ProfileFeatures(
        profile_id=profile_id,
        name_hanzi=hanzi,
        name_key=key,
        email=email,
        email_user=email.split("@", 1)[0] if email else None,
        phone=phone,
        birthday=normalized_birthday(traits.get("birthday")),
        city=normalized_city(traits.get("city") or address_city),
        has_user_id=has_user_id,
    )
