"""Global search and filtered, sorted lists over a million contacts, on SQLite or PostgreSQL.

Seeds a fresh database (migrated to the newest revision) with ``--scale`` contacts and a tenth as
many accounts — Chinese and English names in realistic proportions, phones, emails, valid credit
codes, employments, tags and a custom field, owned by 100 reps in 10 teams — loaded with bulk
inserts (COPY on PostgreSQL). Then calls the service functions in process, as the API and pages
do, and reports p50 / p95 / p99 per kind of query:

* global search (``search_customers``, 20 hits) by Hanzi, full pinyin, pinyin initials, Latin
  name, email, phone ending and credit code, as an admin (every record) and as a rep (own);
* list pages (``list_contacts``, 50 rows) filtered and sorted: ``city:eq:上海`` by name, a tag,
  a custom field, and search + filter + sort together.

    .venv/bin/python bench/customers_search.py --scale 1000000
    .venv/bin/python bench/customers_search.py --scale 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/loopcrm_bench_search

``--database-url`` must name a database of its own: its public schema is dropped first. A
SQLite file that already holds the data is reused with ``--reuse`` (seeding 1M takes minutes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.identifiers import (
    credit_code_check_character,
    domain_of,
    organisation_code_check_character,
    phone_search_key,
)
from loopcrm.modules.customers.models import Account, Contact, ContactPoint
from loopcrm.modules.customers.names import display_name, normalize_name_for_matching, pinyin_keys
from loopcrm.modules.customers.schemas import CustomFieldCreate, ListQuery, TagCreate
from loopcrm.modules.customers.service.records import build_search_text
from loopcrm.platform.auth import service as auth
from loopcrm.platform.auth.schemas import TeamCreate, TeamUpdate, UserCreate
from loopcrm.platform.db import create_database_engine, create_session_factory
from loopcrm.platform.migrations import upgrade
from loopcrm.platform.permissions import Actor, system_actor
from loopcrm.platform.unit_of_work import UnitOfWork
from loopcrm.tables import metadata

# Surnames with their share of the population (per mille, 2020 census order), then a long tail.
SURNAMES = (
    ("王", 73), ("李", 72), ("张", 69), ("刘", 54), ("陈", 45), ("杨", 32), ("黄", 22), ("赵", 21),
    ("吴", 20), ("周", 19), ("徐", 17), ("孙", 15), ("马", 15), ("朱", 14), ("胡", 13), ("郭", 12),
    ("何", 12), ("林", 11), ("高", 11), ("罗", 10), ("郑", 10), ("梁", 9), ("谢", 8), ("宋", 8),
    ("唐", 8), ("许", 7), ("韩", 7), ("冯", 7), ("邓", 7), ("曹", 7), ("彭", 6), ("曾", 6),
    ("肖", 6), ("田", 6), ("董", 5), ("袁", 5), ("潘", 5), ("于", 5), ("蒋", 5), ("蔡", 5),
    ("余", 5), ("杜", 5), ("叶", 4), ("程", 4), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("沈", 4), ("姚", 3), ("卢", 3), ("姜", 3), ("崔", 3), ("钟", 3), ("谭", 3),
    ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3),
    ("韦", 2), ("付", 2), ("方", 2), ("白", 2), ("邹", 2), ("孟", 2), ("熊", 2), ("秦", 2),
    ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2),
    ("龙", 2), ("史", 2), ("陶", 1), ("黎", 1), ("贺", 1), ("顾", 1), ("毛", 1), ("郝", 1),
    ("龚", 1), ("邵", 1), ("万", 1), ("钱", 1), ("严", 1), ("覃", 1), ("武", 1), ("戴", 1),
    ("莫", 1), ("孔", 1), ("向", 1), ("汤", 1), ("单", 1), ("欧阳", 1), ("司马", 1), ("上官", 1),
)  # fmt: skip
GIVEN_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪"
    "荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪"
    "荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫"
    "芸菲寒伊亚宜可姬舒影荔枝思丽峰斌波辉鹏华飞鑫宇浩凯健俊帆帅旭宁龙林阳杰文博彬晨轩然哲睿"
)
ENGLISH_GIVEN = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn",
    "Liam", "Noah", "William", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason", "Logan",
    "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson", "Sebastian", "Aiden",
    "Matthew", "David", "Joseph", "Carter", "Owen", "Wyatt", "John", "Jack", "Luke", "Grace", "Chloe",
    "Victoria", "Riley", "Aria", "Lily", "Aubrey", "Zoey", "Penelope", "Lillian", "Addison", "Layla",
    "Natalie", "Camila", "Hannah", "Brooklyn", "Zoe", "Nora", "Leah", "Savannah", "Audrey", "Claire",
    "Eleanor", "Skylar", "Ellie", "Samantha", "Stella", "Paisley", "Violet", "Mila", "Allison",
    "Alexa", "Anna", "Hazel", "Aaliyah", "Peter", "Paul", "Mark", "Thomas", "George", "Edward",
    "Richard", "Robert", "Charles", "Kevin", "Brian", "Steven", "Andrew", "Jason",
)  # fmt: skip
ENGLISH_FAMILY = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
    "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards",
    "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez",
    "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim",
    "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray",
    "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long",
    "Ross", "Foster", "Müller",
)  # fmt: skip
# City, province, share (per mille of contacts), six-digit region code for credit codes.
CITIES = (
    ("上海", "上海", 120, "310000"), ("北京", "北京", 110, "110000"), ("深圳", "广东", 90, "440300"),
    ("广州", "广东", 80, "440100"), ("杭州", "浙江", 60, "330100"), ("成都", "四川", 50, "510100"),
    ("南京", "江苏", 45, "320100"), ("苏州", "江苏", 45, "320500"), ("武汉", "湖北", 40, "420100"),
    ("西安", "陕西", 35, "610100"), ("重庆", "重庆", 35, "500000"), ("天津", "天津", 30, "120000"),
    ("长沙", "湖南", 25, "430100"), ("郑州", "河南", 25, "410100"), ("青岛", "山东", 25, "370200"),
    ("宁波", "浙江", 20, "330200"), ("厦门", "福建", 20, "350200"), ("福州", "福建", 20, "350100"),
    ("合肥", "安徽", 20, "340100"), ("济南", "山东", 20, "370100"), ("大连", "辽宁", 15, "210200"),
    ("沈阳", "辽宁", 15, "210100"), ("昆明", "云南", 15, "530100"), ("东莞", "广东", 15, "441900"),
    ("佛山", "广东", 15, "440600"), ("无锡", "江苏", 15, "320200"), ("南昌", "江西", 10, "360100"),
    ("哈尔滨", "黑龙江", 10, "230100"), ("石家庄", "河北", 10, "130100"), ("南宁", "广西", 10, "450100"),
)  # fmt: skip
BRAND_CHARACTERS = (
    "晨光华为腾讯阿里京东美的格力海尔联想小米恒瑞百度网易新浪中兴长虹康佳创维大华宏图天正星辰远航金桥银河"
)
TRADES = (
    "科技", "贸易", "文具", "电子", "制造", "物流", "软件", "信息技术", "医药", "食品", "服装", "建材",
    "机械", "化工", "咨询", "教育科技", "网络科技", "智能装备", "新能源", "生物科技",
)  # fmt: skip
LEGAL_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")
ENGLISH_COMPANY_WORDS = (
    "Acme", "Global", "Pacific", "Summit", "Harbor", "Pioneer", "Vertex", "Horizon", "Silver",
    "Golden", "Atlas", "Nova", "Orion", "Apex", "Blue", "River", "Northern", "Eastern", "Western",
    "Union", "Bright", "Future", "Prime", "Delta", "Sigma", "Zenith", "Crown", "Royal", "Star",
)  # fmt: skip
ENGLISH_COMPANY_KINDS = ("Trading", "Technology", "Logistics", "Consulting", "Industries", "Foods", "Medical")
TITLES = (
    "总经理",
    "采购经理",
    "销售总监",
    "工程师",
    "财务经理",
    "行政主管",
    "技术总监",
    "市场经理",
    "CEO",
    "CTO",
    None,
)
MOBILE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "182", "186", "187", "188",
    "199",
)  # fmt: skip
FREE_MAIL = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com")
LEVELS = ("a", "b", "c", "d")
TAG_NAMES = (
    "重点客户", "潜在客户", "老客户", "VIP", "渠道伙伴", "展会", "华东区", "华南区", "华北区", "西南区",
    "续约中", "流失风险", "已签约", "待跟进", "高意向", "低意向", "政府", "教育", "医疗", "制造业",
)  # fmt: skip
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 3 * 365 * 24 * 3600


def weighted(
    rng: random.Random, choices: tuple[tuple[Any, ...], ...], weight_index: int
) -> Callable[[], Any]:
    values = list(choices)
    weights = [row[weight_index] for row in choices]
    cumulative = []
    total = 0
    for weight in weights:
        total += weight
        cumulative.append(total)

    def pick() -> Any:
        return rng.choices(values, cum_weights=cumulative)[0]

    return pick


def time_ordered_id(moment: datetime, rng: random.Random) -> str:
    """A UUIDv7 of ``moment`` (as ``loopcrm.platform.db.new_id`` makes them), from the seeded rng."""
    milliseconds = int(moment.timestamp() * 1000)
    random_bits = rng.getrandbits(80)
    value = (milliseconds & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((random_bits >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= random_bits & ((1 << 62) - 1)
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def credit_code(region: str, rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    organisation = "".join(rng.choice(alphabet) for _ in range(8))
    body = "91" + region + organisation + organisation_code_check_character(organisation)
    return body + credit_code_check_character(body)


@lru_cache(maxsize=500_000)
def contact_name_keys(family: str, given: str) -> tuple[str, str, str, str, str]:
    """Display name, pinyin, initials, matching key and search text, as the service derives them."""
    full = display_name(family, given)
    pinyin, initials = pinyin_keys(full, family_name_length=len(family))
    return full, pinyin, initials, normalize_name_for_matching(full), build_search_text([full], [])


class Seeder:
    """Generates the rows of every table, in creation order, from one seeded random source."""

    def __init__(
        self, scale: int, rng: random.Random, owners: list[tuple[str, str]], tag_ids: list[str]
    ) -> None:
        self.scale = scale
        self.rng = rng
        self.owners = owners  # (user id, team id)
        self.tag_ids = tag_ids
        self.pick_surname = weighted(rng, SURNAMES, 1)
        self.pick_city = weighted(rng, CITIES, 2)
        self.account_ids: list[str] = []
        self.account_domains: list[str | None] = []
        self.point_id = 0
        self.tagging_id = 0
        self.employment_id = 0
        self.used_codes: set[str] = set()
        # A few rep owns much, most own a little: owners drawn with a Zipf-like skew.
        self.owner_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(owners))]

    def moment(self, index: int, count: int) -> datetime:
        return EPOCH + timedelta(seconds=SPAN_SECONDS * index / count + self.rng.random())

    def owner(self) -> tuple[str, str]:
        return self.rng.choices(self.owners, weights=self.owner_weights)[0]

    def point(
        self, kind: str, record_kind: str, record_id: str, value: str, position: int
    ) -> tuple[Any, ...]:
        self.point_id += 1
        key = phone_search_key(value) if kind == "phone" else value.lower()
        label = ("mobile" if value.startswith("+861") else "work") if kind == "phone" else "work"
        return (self.point_id, record_kind, record_id, kind, value, key, label, position == 0, position)

    def mobile(self) -> str:
        return f"+86{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"

    def accounts(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        count = max(1, self.scale // 10)
        for index in range(count):
            rng = self.rng
            city, province, _, region = self.pick_city()
            moment = self.moment(index, count)
            record_id = time_ordered_id(moment, rng)
            if rng.random() < 0.85:
                brand = "".join(rng.sample(BRAND_CHARACTERS, 2))
                name = f"{city}{brand}{rng.choice(TRADES)}{rng.choice(LEGAL_FORMS)}"
                name_en = None if rng.random() < 0.7 else f"{city} {brand} Co., Ltd."
                domain = None
            else:
                words = rng.sample(ENGLISH_COMPANY_WORDS, 2)
                name = f"{words[0]} {words[1]} {rng.choice(ENGLISH_COMPANY_KINDS)} Ltd."
                name_en = None
                domain = f"{words[0].lower()}{words[1].lower()}{index}.example.com"
            if name_en is None and domain is None and rng.random() < 0.5:
                domain = f"company{index}.example.cn"
            code = None
            if rng.random() < 0.8:
                code = credit_code(region, rng)
                while code in self.used_codes:
                    code = credit_code(region, rng)
                self.used_codes.add(code)
            owner_id, team_id = self.owner()
            stamp = moment
            website = f"https://www.{domain}" if domain else None
            row = (
                name, name_en, code, None, rng.choice((10, 50, 200, 1000, 5000)), None, province, city,
                None, website, domain_of(website) if website else None, None, "active", None, "referral",
                owner_id, team_id, None, None, "{}", normalize_name_for_matching(name),
                build_search_text([name, name_en], [code, None]), record_id, stamp, stamp, None, None, 1,
                stamp if rng.random() < 0.02 else None,
            )  # fmt: skip
            self.account_ids.append(record_id)
            self.account_domains.append(domain)
            points = [self.point("phone", "account", record_id, f"+8621{rng.randrange(10**8):08d}", 0)]
            if domain:
                points.append(self.point("email", "account", record_id, f"info@{domain}", 0))
            yield {"accounts": [row], "contact_points": points}

    def contacts(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        for index in range(self.scale):
            rng = self.rng
            moment = self.moment(index, self.scale)
            record_id = time_ordered_id(moment, rng)
            city, province, _, _ = self.pick_city()
            is_chinese = rng.random() < 0.8
            if is_chinese:
                family = self.pick_surname()[0]
                given = "".join(rng.choice(GIVEN_CHARACTERS) for _ in range(rng.choice((1, 2, 2, 2))))
            else:
                family, given = rng.choice(ENGLISH_FAMILY), rng.choice(ENGLISH_GIVEN)
            full, pinyin, initials, name_key, search = contact_name_keys(family, given)
            owner_id, team_id = self.owner()
            account_at = rng.randrange(len(self.account_ids)) if rng.random() < 0.8 else None
            level = rng.choice(LEVELS) if rng.random() < 0.6 else None
            row = (
                family, given, full, pinyin, initials, rng.choice(("female", "male", "unknown")),
                rng.choice(TITLES), None, None, province, city, None, None, "website", owner_id, team_id,
                None, None, rng.random() < 0.3, rng.random() < 0.2, False, None,
                json.dumps({"level": level} if level else {}), name_key, search, record_id, moment, moment,
                None, None, 1, moment if rng.random() < 0.02 else None,
            )  # fmt: skip
            points = [self.point("phone", "contact", record_id, self.mobile(), 0)]
            if rng.random() < 0.3:
                points.append(self.point("phone", "contact", record_id, self.mobile(), 1))
            local = (pinyin or "user")[:12] + str(rng.randrange(1000))
            if rng.random() < 0.9:
                domain = self.account_domains[account_at] if account_at is not None else None
                points.append(
                    self.point("email", "contact", record_id, f"{local}@{domain or rng.choice(FREE_MAIL)}", 0)
                )
            employments = []
            if account_at is not None:
                self.employment_id += 1
                employments.append(
                    (self.employment_id, record_id, self.account_ids[account_at], None,
                     date(2020, 1, 1) + timedelta(days=rng.randrange(1500)), None, True)
                )  # fmt: skip
            taggings = []
            for tag_id in rng.sample(self.tag_ids, rng.choice((0, 0, 1, 1, 2, 3))):
                self.tagging_id += 1
                taggings.append((self.tagging_id, tag_id, "contact", record_id))
            yield {
                "contacts": [row],
                "contact_points": points,
                "employments": employments,
                "taggings": taggings,
            }


COLUMNS = {
    name: [column.name for column in metadata.tables[name].columns]
    for name in ("accounts", "contacts", "contact_points", "employments", "taggings")
}


def sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load(engine: Engine, batches: Iterator[dict[str, list[tuple[Any, ...]]]], chunk: int = 20_000) -> None:
    """Write the rows in chunks: executemany on SQLite, COPY on PostgreSQL."""
    pending: dict[str, list[tuple[Any, ...]]] = {}

    def flush() -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN")
                for table, rows in pending.items():
                    columns = COLUMNS[table]
                    marks = ", ".join("?" for _ in columns)
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 (own tables)
                        [tuple(sqlite_value(value) for value in row) for row in rows],
                    )
                cursor.execute("COMMIT")
            else:
                for table, rows in pending.items():
                    buffer = io.StringIO()
                    for row in rows:
                        buffer.write("\t".join(copy_value(value) for value in row) + "\n")
                    with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                        copy.write(buffer.getvalue())
                connection.commit()
        finally:
            connection.close()
        pending.clear()

    for count, batch in enumerate(batches, start=1):
        for table, rows in batch.items():
            pending.setdefault(table, []).extend(rows)
        if count % chunk == 0:
            flush()
    flush()


def seed(engine: Engine, scale: int, rng: random.Random) -> None:
    uow_factory = _uow_factory(engine)
    system = system_actor()
    owners: list[tuple[str, str]] = []
    for team_number in range(10):
        team = auth.create_team(uow_factory(), system, TeamCreate(name=f"销售{team_number + 1}组"))
        manager = auth.create_user(
            uow_factory(),
            system,
            UserCreate(
                email=f"manager{team_number}@example.com",
                name=f"经理{team_number}",
                role="sales_manager",
                team_ids=[team.id],
            ),
        )
        auth.update_team(uow_factory(), system, team.id, TeamUpdate(manager_id=manager.id))
        for rep_number in range(10):
            rep = auth.create_user(
                uow_factory(),
                system,
                UserCreate(
                    email=f"rep{team_number}_{rep_number}@example.com",
                    name=f"销售{team_number}-{rep_number}",
                    role="sales_rep",
                    team_ids=[team.id],
                ),
            )
            owners.append((rep.id, team.id))
    auth.create_user(
        uow_factory(), system, UserCreate(email="admin@example.com", name="管理员", role="admin")
    )
    auth.create_user(
        uow_factory(), system, UserCreate(email="viewer@example.com", name="只读", role="read_only")
    )
    tag_ids = [customers.create_tag(uow_factory(), system, TagCreate(name=name)).id for name in TAG_NAMES]
    customers.create_custom_field(
        uow_factory(), system,
        CustomFieldCreate.model_validate({
            "record_kind": "contact", "key": "level", "label": "客户等级", "kind": "select",
            "options": [{"value": level, "label": f"{level.upper()}级"} for level in LEVELS],
        }),
    )  # fmt: skip
    seeder = Seeder(scale, rng, owners, tag_ids)
    started = time.perf_counter()
    load(engine, seeder.accounts())
    print(f"  {len(seeder.account_ids)} accounts in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    load(engine, seeder.contacts())
    print(f"  {scale} contacts in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("contact_points", "employments", "taggings"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                )
            connection.exec_driver_sql("ANALYZE")


def _uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    session_factory = create_session_factory(engine)
    return lambda: UnitOfWork(session_factory)


# ---------------------------------------------------------------- measuring


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sample_queries(engine: Engine, rng: random.Random, count: int) -> dict[str, list[str]]:
    """Queries people type, drawn from the stored data so most of them find something.

    Records are sampled by seeking to a random time-ordered id, one index lookup each.
    """

    def at_random(model: Any, columns: list[Any], *conditions: Any) -> Any:
        moment = EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        statement = select(*columns).where(model.id >= time_ordered_id(moment, rng), *conditions)
        return connection.execute(statement.order_by(model.id).limit(1)).first()

    with engine.connect() as connection:
        chinese: list[Any] = []
        english: list[Any] = []
        while len(chinese) < count or len(english) < count // 2:
            row = at_random(
                Contact, [Contact.full_name, Contact.name_initials, Contact.name_pinyin, Contact.family_name]
            )
            if row is None:
                continue
            (chinese if not row.family_name.isascii() else english).append(row)
        last_point = connection.execute(select(func.max(ContactPoint.id))).scalar_one()

        def point_at_random(kind: str) -> str | None:
            statement = select(ContactPoint.value).where(
                ContactPoint.id >= rng.randint(1, last_point),
                ContactPoint.record_kind == "contact",
                ContactPoint.kind == kind,
            )
            return connection.scalars(statement.order_by(ContactPoint.id).limit(1)).first()

        emails = [value for value in (point_at_random("email") for _ in range(count)) if value]
        phones = [value for value in (point_at_random("phone") for _ in range(count)) if value]
        codes = [
            row.credit_code
            for row in (
                at_random(Account, [Account.credit_code], Account.credit_code.is_not(None))
                for _ in range(count)
            )
            if row is not None
        ]
    return {
        "Hanzi (full name)": [row.full_name for row in chinese[:count]],
        "Hanzi (given name)": [row.full_name[len(row.family_name) :] for row in chinese[:count]],
        "full pinyin": [row.name_pinyin for row in chinese[:count]],
        "pinyin initials": [row.name_initials for row in chinese[:count] if len(row.name_initials) >= 2],
        "Latin name": [row.full_name.split()[0] for row in english[: count // 2]],
        "Latin prefix (3 letters)": [row.full_name.split()[-1][:3] for row in english[: count // 2]],
        "email": list(emails),
        "phone ending (4 digits)": [phone[-4:] for phone in phones],
        "credit code": codes,
    }


def measure(call: Callable[[], Any], repeats: int) -> list[float]:
    call()  # warm the caches
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(label: str, timings: list[float], results: list[int] | None = None) -> None:
    found = f"{statistics.mean(results):>8.1f}" if results else f"{'':>8}"
    print(
        f"{label:<64}{len(timings):>6}{statistics.median(timings):>9.1f}"
        f"{percentile(timings, 0.95):>9.1f}{percentile(timings, 0.99):>9.1f}{found}",
        flush=True,
    )


def actor_by_email(engine: Engine, email: str) -> Actor:
    from loopcrm.platform.auth.models import User

    uow_factory = _uow_factory(engine)
    with uow_factory() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.email == email))
    return auth.actor_for_user(uow_factory(), str(user_id))


def run(engine: Engine, rng: random.Random, count: int) -> None:
    uow_factory = _uow_factory(engine)
    admin = actor_by_email(engine, "admin@example.com")
    rep = actor_by_email(engine, "rep0_0@example.com")
    manager = actor_by_email(engine, "manager0@example.com")
    queries = sample_queries(engine, rng, count)
    print(f"{'measurement':<64}{'count':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'hits':>8}")
    for who, actor in (("admin", admin), ("rep", rep)):
        for kind, texts in queries.items():
            pending = iter(texts * 2)
            results: list[int] = []

            def search(
                actor: Actor = actor, pending: Iterator[str] = pending, results: list[int] = results
            ) -> None:
                results.append(len(customers.search_customers(uow_factory(), actor, next(pending), limit=20)))

            report(f"search by {kind} ({who})", measure(search, len(texts) - 1), results[1:])
    tag_ids = [tag.id for tag in customers.list_tags(uow_factory(), system_actor())][:10]
    surnames = [name for name, _ in SURNAMES[:20]]
    lists: dict[str, Callable[[], ListQuery]] = {
        "city:eq:上海 sorted by full_name": lambda: ListQuery(filters=["city:eq:上海"], sort="full_name"),
        "city:eq:<random> sorted by -created_at": lambda: ListQuery(
            filters=[f"city:eq:{rng.choice(CITIES)[0]}"], sort="-created_at"
        ),
        "tag:eq:<random> (newest first)": lambda: ListQuery(filters=[f"tag:eq:{rng.choice(tag_ids)}"]),
        "custom_fields.level:eq:a sorted by full_name": lambda: ListQuery(
            filters=["custom_fields.level:eq:a"], sort="full_name"
        ),
        "q=<surname> + city:eq:上海 sorted by full_name": lambda: ListQuery(
            q=rng.choice(surnames), filters=["city:eq:上海"], sort="full_name"
        ),
        "q=<initials> (newest first)": lambda: ListQuery(q=rng.choice(queries["pinyin initials"])),
        "q=<full name> + tag sorted by -updated_at": lambda: ListQuery(
            q=rng.choice(queries["Hanzi (full name)"]),
            filters=[f"tag:eq:{rng.choice(tag_ids)}"],
            sort="-updated_at",
        ),
        "phones:contains:<4 digits>": lambda: ListQuery(
            filters=[f"phones:contains:{rng.choice(queries['phone ending (4 digits)'])}"]
        ),
        "sorted by -updated_at": lambda: ListQuery(sort="-updated_at"),
    }
    for who, actor in (("admin", admin), ("manager", manager), ("rep", rep)):
        for label, make in lists.items():

            def page(actor: Actor = actor, make: Callable[[], ListQuery] = make) -> None:
                customers.list_contacts(uow_factory(), actor, make(), limit=50, cursor=None)

            report(f"list {label} ({who})", measure(page, max(20, count // 4)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1_000_000, help="contacts to seed (accounts: a tenth)")
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary directory"
    )
    parser.add_argument("--reuse", action="store_true", help="measure the data already in --database-url")
    parser.add_argument("--seed-only", action="store_true", help="seed, then stop without measuring")
    parser.add_argument("--queries", type=int, default=200, help="queries per measurement")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE on SQLite before measuring")
    arguments = parser.parse_args()
    rng = random.Random(20261123)

    url = (
        arguments.database_url
        or f"sqlite:///{Path(tempfile.mkdtemp(prefix='loopcrm-search-')) / 'bench.sqlite3'}"
    )
    engine = create_database_engine(url)
    if not arguments.reuse:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        upgrade(engine)
        started = time.perf_counter()
        print(f"seeding {arguments.scale} contacts into {engine.url.render_as_string()}", flush=True)
        seed(engine, arguments.scale, rng)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        upgrade(engine)  # migrations added since the data was seeded (new indexes)
    if arguments.seed_only:
        return
    if arguments.analyze and engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    with engine.connect() as connection:
        contacts = connection.execute(select(func.count()).select_from(Contact)).scalar_one()
        accounts = connection.execute(select(func.count()).select_from(Account)).scalar_one()
    print(
        f"database: {engine.dialect.name}; contacts: {contacts}; accounts: {accounts}; "
        f"cores: {os.cpu_count()}"
    )
    print(
        f"load average before measuring: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True
    )
    run(engine, rng, arguments.queries)
    print(f"load average after: {' / '.join(f'{load:.1f}' for load in os.getloadavg())}", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
