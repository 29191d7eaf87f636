"""Probabilistic matching of fragmented contacts: 100k profiles, known truth, ≤ 60 s, F1 ≥ 0.95.

The generator makes ``--people`` people (Chinese names, their pinyin, a birthday, a city, a
mobile phone, an email) and 1 to 4 fragments of each — 1.65 on average, so 100,000 fragments
are about 60,600 people — the way they reach the CDP from different channels:

- the name in Hanzi (王小明), in pinyin in either order ("Xiaoming Wang", "WANG Xiaoming"), with
  a typo in the Latin spelling, or missing;
- the phone in another notation (``138 1234 5678``, ``+86-138-1234-5678``), a changed phone, or
  none; the email in other capitals, at another provider with the same user name, or none;
- a birthday (sometimes with a typo) and a city (sometimes written 上海市), or not.

Every fragment becomes a profile through the identity graph's own service (``resolve_many``),
with its own anonymous id and the rest as traits, so no two fragments are joined by the
deterministic rules. Then one matching run (``cdp.matching.run`` job body, in process) is
timed from start to end: load the profiles, build features, train (u by sampling, m by EM),
predict, auto-merge pairs ≥ 0.99, write the review queue. Precision, recall and F1 are counted
over pairs of fragments against the truth: for the merges (pairs whose profiles became one)
and for merges plus everything queued for review.

    .venv/bin/python bench/cdp_matching.py --fragments 100000
    .venv/bin/python bench/cdp_matching.py --fragments 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_matching

``--database-url`` must name a database of its own: its public schema is dropped first.
The tests (``tests/cdp/matching``) use :func:`generate_fragments` on a few hundred fragments.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pypinyin import Style, lazy_pinyin

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
GIVEN_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉梅志平鹏辉玲宇浩凯健俊帆帅旭宁亮飞彬"
    "鑫波斌婷雪慧颖晶晨欣怡佳琪萱梓涵子轩博文思雨嘉悦昊然天翼瑞欢晓丹阳春雷海燕金凤德胜永庆福荣"
    "东升文博立新振宏少华光耀长江云峰小明红梅建军秋菊冬梅梦琳诗雨雅静心怡一诺安琪可馨若曦语桐"
)
CITIES = (
    "上海",
    "北京",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "南京",
    "武汉",
    "西安",
    "重庆",
    "苏州",
    "天津",
    "长沙",
    "郑州",
    "青岛",
    "宁波",
    "厦门",
    "合肥",
    "济南",
    "福州",
    "昆明",
    "大连",
    "沈阳",
    "无锡",
    "东莞",
)
DOMAINS = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com", "foxmail.com")
MOBILE_PREFIXES = (
    "138",
    "139",
    "135",
    "136",
    "137",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
)
# Fragments per person and how often: 1.65 on average.
FRAGMENT_COUNTS = ((1, 0.55), (2, 0.30), (3, 0.10), (4, 0.05))
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
}


@dataclass(frozen=True)
class Person:
    """One true person: what every fragment of them is a variant of."""

    number: int
    hanzi: str
    surname_pinyin: str
    given_pinyin: str
    birthday: date
    city: str
    phone: str  # 11 digits
    email_user: str
    email_domain: str


@dataclass
class Fragments:
    """Generated fragments (traits dicts) and, for each, the number of the person it belongs to."""

    traits: list[dict[str, Any]] = field(default_factory=list)
    person_of: list[int] = field(default_factory=list)

    def true_pairs(self) -> set[tuple[int, int]]:
        """Every pair of fragment indexes (smaller first) that belong to one person."""
        by_person: dict[int, list[int]] = defaultdict(list)
        for index, person in enumerate(self.person_of):
            by_person[person].append(index)
        return {pair for members in by_person.values() for pair in itertools.combinations(members, 2)}


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.NORMAL))


def _person(number: int, rng: random.Random, taken_emails: set[str]) -> Person:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN_CHARACTERS) for _ in range(1 if rng.random() < 0.3 else 2))
    # People write their surname in its surname reading (曾 Zeng, not Ceng).
    surname_pinyin, given_pinyin = SURNAME_READINGS.get(surname) or _pinyin(surname), _pinyin(given)
    style = rng.random()
    if style < 0.4:
        user = f"{given_pinyin}.{surname_pinyin}"
    elif style < 0.7:
        user = f"{surname_pinyin}{given_pinyin}{rng.randint(1, 999)}"
    else:
        user = str(rng.randint(100_000, 3_999_999_999))  # a QQ number
    domain = rng.choice(DOMAINS)
    while f"{user}@{domain}" in taken_emails:  # a mailbox belongs to one person: namesakes add digits
        user += str(rng.randint(0, 9))
    taken_emails.add(f"{user}@{domain}")
    return Person(
        number=number,
        hanzi=surname + given,
        surname_pinyin=surname_pinyin,
        given_pinyin=given_pinyin,
        birthday=date(1960, 1, 1) + timedelta(days=rng.randint(0, 16_000)),
        city=rng.choice(CITIES),
        phone=rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
        email_user=user,
        email_domain=domain,
    )


def _typo(word: str, rng: random.Random) -> str:
    """One keyboard slip: a letter dropped, doubled, swapped with the next or replaced."""
    if len(word) < 3:
        return word
    position = rng.randint(1, len(word) - 2)
    kind = rng.random()
    if kind < 0.25:
        return word[:position] + word[position + 1 :]
    if kind < 0.5:
        return word[:position] + word[position] + word[position:]
    if kind < 0.75:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + rng.choice("aeioubcdghjklmnrstwxyz") + word[position + 1 :]


def _latin_name(person: Person, rng: random.Random, *, typo: bool) -> str:
    given, surname = person.given_pinyin, person.surname_pinyin
    if typo:
        if rng.random() < 0.5:
            given = _typo(given, rng)
        else:
            surname = _typo(surname, rng)
    form = rng.random()
    if form < 0.45:
        return f"{given.capitalize()} {surname.capitalize()}"
    if form < 0.8:
        return f"{surname.capitalize()} {given.capitalize()}"
    return f"{surname.upper()} {given.capitalize()}"


def _phone_notation(digits: str, rng: random.Random) -> str:
    form = rng.randrange(5)
    if form == 0:
        return digits
    if form == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if form == 2:
        return f"+86 {digits}"
    if form == 3:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return f"86{digits}"


def _email_case(email: str, rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return email
    if form == 1:
        return email.upper()
    return email[:1].upper() + email[1:]


def _fragment(person: Person, rng: random.Random) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.45:
        traits["name"] = person.hanzi
    elif roll < 0.85:
        traits["name"] = _latin_name(person, rng, typo=False)
    elif roll < 0.97:
        traits["name"] = _latin_name(person, rng, typo=True)
    roll = rng.random()
    if roll < 0.8:
        traits["phone"] = _phone_notation(person.phone, rng)
    elif roll < 0.85:  # a changed phone
        traits["phone"] = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    roll = rng.random()
    if roll < 0.55:
        traits["email"] = _email_case(f"{person.email_user}@{person.email_domain}", rng)
    elif roll < 0.63:  # the same user name at another provider
        other = rng.choice([domain for domain in DOMAINS if domain != person.email_domain])
        traits["email"] = f"{person.email_user}@{other}"
    elif roll < 0.68:  # a work email
        traits["email"] = f"{person.given_pinyin}.{person.surname_pinyin}@corp{rng.randint(1, 5000)}.cn"
    roll = rng.random()
    if roll < 0.6:
        traits["birthday"] = person.birthday.isoformat()
    elif roll < 0.63:  # a slip of one digit
        text = person.birthday.isoformat()
        traits["birthday"] = text[:-1] + str((int(text[-1]) + 1) % 10)
    if rng.random() < 0.7:
        traits["city"] = person.city + ("市" if rng.random() < 0.2 else "")
    return traits


def generate_fragments(fragment_count: int, *, seed: int = 12) -> Fragments:
    """About ``fragment_count`` fragments of about ``fragment_count / 1.65`` people (seeded)."""
    rng = random.Random(seed)
    fragments = Fragments()
    counts, weights = zip(*FRAGMENT_COUNTS, strict=True)
    taken_emails: set[str] = set()
    for number in itertools.count():
        if len(fragments.traits) >= fragment_count:
            break
        person = _person(number, rng, taken_emails)
        for _ in range(rng.choices(counts, weights)[0]):
            if len(fragments.traits) >= fragment_count:
                break
            traits = _fragment(person, rng)
            # A contact record a source keeps says at least two of phone, email and birthday
            # besides the name; fragments that say less cannot be told apart from namesakes.
            while len(traits.keys() & {"phone", "email", "birthday"}) < 2:
                traits = _fragment(person, rng)
            fragments.traits.append(traits)
            fragments.person_of.append(number)
    return fragments


@dataclass(frozen=True)
class Accuracy:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def pairs_of_clusters(clusters: Iterable[Iterable[int]]) -> set[tuple[int, int]]:
    """Every pair (smaller first) inside each cluster of fragment indexes."""
    return {
        (left, right) if left < right else (right, left)
        for members in clusters
        for left, right in itertools.combinations(sorted(members), 2)
    }


def accuracy(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> Accuracy:
    return Accuracy(
        true_positives=len(found & truth),
        false_positives=len(found - truth),
        false_negatives=len(truth - found),
    )


def _clusters(count: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components of ``count`` fragments joined by ``pairs`` (what merging them makes)."""
    parent = list(range(count))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for left, right in pairs:
        parent[root(left)] = root(right)
    members: dict[int, list[int]] = defaultdict(list)
    for index in range(count):
        members[root(index)].append(index)
    return list(members.values())


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fragments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--auto-merge",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="merge pairs ≥ 0.99 through the identity graph (--no-auto-merge: queue everything)",
    )
    arguments = parser.parse_args()

    from datetime import UTC, datetime

    from sqlalchemy import select

    from loopcrm.app import register_tasks
    from loopcrm.modules.cdp.identity import service as identity
    from loopcrm.modules.cdp.identity.schemas import Identifier, Observation
    from loopcrm.modules.cdp.matching import service as matching
    from loopcrm.modules.cdp.matching.models import MatchCandidate
    from loopcrm.modules.cdp.matching.schemas import RunIn
    from loopcrm.platform.db import create_database_engine, create_session_factory
    from loopcrm.platform.migrations import upgrade
    from loopcrm.platform.permissions import system_actor
    from loopcrm.platform.unit_of_work import UnitOfWork

    register_tasks()
    with tempfile.TemporaryDirectory() as directory:
        url = arguments.database_url or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        engine = create_database_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        upgrade(engine)
        uow = UnitOfWork(create_session_factory(engine))

        started = time.perf_counter()
        fragments = generate_fragments(arguments.fragments, seed=arguments.seed)
        people = len(set(fragments.person_of))
        at = datetime(2026, 12, 1, tzinfo=UTC)
        profile_of: list[str] = []
        for chunk_start, chunk in zip(
            itertools.count(0, 5000), _chunks(fragments.traits, 5000), strict=False
        ):
            observations = [
                Observation((Identifier("anonymous_id", f"bench-{chunk_start + offset}"),), at, traits)
                for offset, traits in enumerate(chunk)
            ]
            resolutions = identity.resolve_many(uow, observations)
            profile_of.extend(resolution.profile_id for resolution in resolutions if resolution is not None)
        print(
            f"seeded {len(fragments.traits)} fragments of {people} people as profiles "
            f"in {time.perf_counter() - started:.1f} s ({engine.dialect.name})"
        )

        actor = system_actor("bench")
        run = matching.start_run(uow, actor, RunIn(auto_merge=arguments.auto_merge))
        started = time.perf_counter()
        matching.run_matching(uow, run.id)
        elapsed = time.perf_counter() - started
        finished = matching.get_run(uow, actor, run.id)
        matching_seconds = sum(seconds for stage, seconds in finished.timings.items() if stage != "merge")
        print(f"matching run: {elapsed:.1f} s in all; stages (s): {finished.timings}")
        print(
            f"  profiles {finished.profile_count}, pairs ≥ review threshold {finished.compared_pairs}, "
            f"auto-merged {finished.merged_count}, queued {finished.queued_count}, "
            f"refused by rules {finished.refused_count}"
        )

        index_of = {profile_id: index for index, profile_id in enumerate(profile_of)}
        with uow:
            scored = [
                (index_of[left], index_of[right], probability)
                for left, right, probability in uow.session.execute(
                    select(
                        MatchCandidate.left_profile_id,
                        MatchCandidate.right_profile_id,
                        MatchCandidate.match_probability,
                    )
                )
            ]
        truth = fragments.true_pairs()
        print(f"  true pairs {len(truth)}")
        results = {}
        for label, threshold in (("auto-merge (p ≥ 0.99)", 0.99), ("review queue too (p ≥ 0.5)", 0.5)):
            chosen = [(left, right) for left, right, probability in scored if probability >= threshold]
            results[label] = accuracy(pairs_of_clusters(_clusters(len(profile_of), chosen)), truth)
            result = results[label]
            print(
                f"  {label}: precision {result.precision:.4f}, recall {result.recall:.4f}, "
                f"F1 {result.f1:.4f} (tp {result.true_positives}, fp {result.false_positives}, "
                f"fn {result.false_negatives})"
            )
        f1 = results["auto-merge (p ≥ 0.99)"].f1
        verdict = "PASS" if matching_seconds <= 60 and f1 >= 0.95 else "FAIL"
        print(
            f"bar: matching (load + train + predict + write queue) {matching_seconds:.1f} s ≤ 60 s, "
            f"F1 {f1:.4f} ≥ 0.95 on the auto-merge decisions: {verdict}"
        )
        if finished.merged_count:
            print(f"  merging: {finished.merged_count / finished.timings['merge']:.0f} merges/s")
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
