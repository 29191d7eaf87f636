"""Seeded draws of single demo values: a person's name, a phone number, an email address, a
credit code. Each value is valid by the same rules the API applies, so a generated record never
needs the loader to "fix" it."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar

from loopcrm.modules.customers.demo.vocabulary import (
    ENGLISH_FAMILY_NAMES,
    ENGLISH_GIVEN_NAMES,
    FEMALE_GIVEN_NAMES,
    MALE_GIVEN_NAMES,
    MOBILE_PREFIXES,
    PERSONAL_EMAIL_DOMAINS,
    SURNAMES,
    City,
)
from loopcrm.modules.customers.identifiers import (
    CREDIT_CODE_CHARACTERS,
    credit_code_check_character,
    normalize_phone,
    organisation_code_check_character,
)
from loopcrm.modules.customers.models import Gender
from loopcrm.modules.customers.names import fold_for_search, pinyin_keys

T = TypeVar("T")
_CACHED_FROM = 10  # shorter lists of weights are summed on each draw


@lru_cache(maxsize=4096)
def _name_pinyin(family_name: str, given_name: str) -> tuple[str, str, str]:
    """``(family, given, given initials)`` in pinyin; names repeat, and pypinyin is slow."""
    family = pinyin_keys(family_name, family_name_length=len(family_name))[0]
    given, initials = pinyin_keys(given_name)
    return family, given, initials


class Draw:
    """One seeded source of demo values; the same seed and the same calls give the same values.

    Values that must be unique in the demo (phones, emails, credit codes, names per city) are
    remembered here, so a collision is redrawn instead of becoming an accidental duplicate.
    """

    def __init__(self, seed: int) -> None:
        # Not for security: a seeded generator is what makes the demo repeatable.
        self.random = random.Random(seed)  # noqa: S311
        self._taken: set[str] = set()
        # Cumulative weights of the long vocabularies (surnames, cities), kept with the list itself
        # so its id cannot be reused by another list while it is cached.
        self._weights: dict[int, tuple[object, list[object], list[float]]] = {}

    # ------------------------------------------------------------ basics

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def pick(self, items: Sequence[T]) -> T:
        return items[self.random.randrange(len(items))]

    def weighted(self, pairs: Sequence[tuple[T, float]]) -> T:
        """One item of ``(item, weight)`` pairs, in proportion to its weight."""
        cached = self._weights.get(id(pairs))
        if cached is None or cached[0] is not pairs:
            cached = (pairs, [item for item, _ in pairs], list(accumulate(weight for _, weight in pairs)))
            if len(pairs) > _CACHED_FROM:
                self._weights[id(pairs)] = cached
        _, items, cumulative = cached
        return self.random.choices(items, cum_weights=cumulative, k=1)[0]  # type: ignore[return-value]

    def between(self, low: int, high: int) -> int:
        return self.random.randint(low, high)

    def long_tail(self, median: float, spread: float, low: int, high: int) -> int:
        """A log-normal whole number: most values near the median, a few far above it."""
        value = round(self.random.lognormvariate(0, spread) * median)
        return max(low, min(high, value))

    def day_before(self, today: date, low_days: int, high_days: int) -> date:
        return today - timedelta(days=self.between(low_days, high_days))

    def claim(self, value: str) -> bool:
        """Take ``value`` if nobody has; False when it was already taken."""
        if value in self._taken:
            return False
        self._taken.add(value)
        return True

    def digits(self, count: int) -> str:
        return "".join(self.pick(string.digits) for _ in range(count))

    # ------------------------------------------------------------ identifiers

    def credit_code(self, registration: str, region_code: str) -> str:
        """A unified social credit code that passes every check of ``normalize_credit_code``:
        ``registration`` is the authority and organisation type (91 = enterprise, 51 = social
        organisation), ``region_code`` where it registered."""
        while True:
            # Organisation codes issued since 2015 start with MA; older ones are eight digits.
            if self.chance(0.6):
                body = "MA" + "".join(self.pick(CREDIT_CODE_CHARACTERS) for _ in range(6))
            else:
                body = self.digits(8)
            organisation_code = body + organisation_code_check_character(body)
            first17 = registration + region_code + organisation_code
            code = first17 + credit_code_check_character(first17)
            if self.claim(code):
                return code

    def mobile(self) -> tuple[str, str]:
        """``(as typed, E.164)`` of a new Chinese mobile number, typed the ways people type them."""
        while True:
            number = self.pick(MOBILE_PREFIXES) + self.digits(8)
            e164 = normalize_phone(number)
            if not self.claim(e164):
                continue
            typed = self.weighted(
                (
                    (number, 6),
                    (f"{number[:3]} {number[3:7]} {number[7:]}", 2),
                    (f"+86 {number[:3]}-{number[3:7]}-{number[7:]}", 1),
                    (f"{number[:3]}-{number[3:7]}-{number[7:]}", 1),
                )
            )
            return typed, e164

    def landline(self, city: City) -> str | None:
        """A landline of the city as typed (0571-8xxx xxxx), or None if no valid one came up."""
        for _ in range(20):
            local = self.pick("5678") + self.digits(city.local_digits - 1)
            typed = f"0{city.area_code}-{local[:4]} {local[4:]}"
            try:
                e164 = normalize_phone(typed)
            except ValueError:
                continue
            if self.claim(e164):
                return typed
        return None

    # ------------------------------------------------------------ people

    def chinese_name(self, gender: Gender | None = None) -> tuple[str, str, Gender]:
        """``(family name, given name, gender)`` with surnames as common as they are in China."""
        family = self.weighted(SURNAMES)
        gender = gender or (Gender.FEMALE if self.chance(0.48) else Gender.MALE)
        given = self.pick(FEMALE_GIVEN_NAMES if gender is Gender.FEMALE else MALE_GIVEN_NAMES)
        return family, given, gender

    def english_name(self) -> tuple[str, str, Gender]:
        given, gender = self.pick(ENGLISH_GIVEN_NAMES)
        return self.pick(ENGLISH_FAMILY_NAMES), given, Gender(gender)

    def email_local_parts(self, family_name: str, given_name: str) -> list[str]:
        """Local parts a company would give the person, the likeliest first."""
        if any("\u4e00" <= character <= "\u9fff" for character in family_name + given_name):
            family, given, initials = _name_pinyin(family_name, given_name)
            return [
                self.weighted(
                    (
                        (f"{family}{given}", 4),
                        (f"{given}.{family}", 2),
                        (f"{family}.{given}", 2),
                        (f"{family}{initials}", 1),
                        (f"{given}{family}", 1),
                    )
                ),
                f"{family}{given}",
                f"{family}.{given}",
            ]
        family = "".join(fold_for_search(family_name).split())
        given = "".join(fold_for_search(given_name).split())
        return [f"{given}.{family}", f"{given[0]}{family}", f"{given}{family}"]

    def work_email(self, family_name: str, given_name: str, domain: str) -> str:
        for local in self.email_local_parts(family_name, given_name):
            if self.claim(f"{local}@{domain}"):
                return f"{local}@{domain}"
        while True:
            address = f"{self.email_local_parts(family_name, given_name)[1]}{self.between(2, 99)}@{domain}"
            if self.claim(address):
                return address

    def personal_email(self, family_name: str, given_name: str) -> str:
        while True:
            domain = self.weighted(PERSONAL_EMAIL_DOMAINS)
            if domain in ("qq.com", "foxmail.com") and self.chance(0.7):
                local = str(self.between(1, 9)) + self.digits(self.between(5, 9))  # a QQ number
            else:
                local = self.email_local_parts(family_name, given_name)[0] + str(self.between(1, 999))
            if self.claim(f"{local}@{domain}"):
                return f"{local}@{domain}"

    def wechat_id(self, family_name: str, given_name: str) -> str:
        """A WeChat id: 6-20 letters, digits, _ or -, starting with a letter."""
        while True:
            if self.chance(0.3):
                candidate = "wxid_" + "".join(
                    self.pick(string.ascii_lowercase + string.digits) for _ in range(12)
                )
            else:
                local = self.email_local_parts(family_name, given_name)[1].replace(".", "_")
                candidate = f"{local}{self.pick(('', '_', '-'))}{self.between(1, 99)}"[:20]
            if len(candidate) >= 6 and self.claim("wechat:" + candidate):
                return candidate

    def birthday(self) -> date:
        return date(self.between(1962, 2001), self.between(1, 12), self.between(1, 28))
