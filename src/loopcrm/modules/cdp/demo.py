"""Demo data of the CDP: six event sources and a year of events from about 20,000 people, as their
fragments arrive in real life, then identity resolution so that the profiles exist.

Who is in it (seeded, deterministic):

* known people, Chinese and English, some of them the CRM demo's contacts (same emails and
  phones), each seen through several channels as separate fragments: an anonymous website
  visitor who later signs in (``identify`` with a user id, email and phone), an app with a device
  id, a WeChat mini program (``openid`` per app and ``unionid`` in ``context.externalIds``), an
  online shop's buyer id, an email service's and an SMS gateway's events addressed by email or
  phone. Every identify carries the person's email and phone, so the resolver unifies the
  fragments into one profile per person;
* anonymous website visitors who never sign in: one profile each.

Events are read by the ingestion's own message reader (``service.messages.read_batch``: the same
validation, normal forms and columns as a ``/v1/batch`` request) and written in timestamp order
with multi-row inserts in one transaction; the event writer of the ingestion is not used since it
groups a transaction's rows by source, which would reorder the year. Then
``identity.resolve_pending_events`` runs until the log is drained, as the identity job would.

Running it again changes nothing: the demo web source having events is the marker.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select

from loopcrm.modules.cdp import service as cdp
from loopcrm.modules.cdp.identity import service as identity
from loopcrm.modules.cdp.identity.models import Profile
from loopcrm.modules.cdp.models import ChannelType, Event, EventSource
from loopcrm.modules.cdp.schemas import SourceCreate
from loopcrm.modules.cdp.service.messages import RequestFacts, read_batch
from loopcrm.platform.db import utc_now
from loopcrm.platform.permissions import system_actor
from loopcrm.platform.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DEMO_PROFILES = 20_000
DEMO_EVENTS = 500_000
DEMO_SEED = 20_260_501
# Share of the demo's people who only ever browse the website anonymously.
ANONYMOUS_SHARE = 0.15
# Events inserted per statement (multi-row insert), and per resolver run.
_INSERT_CHUNK = 5_000
_RESOLVE_CHUNK = 10_000
# Resolution of the full demo takes minutes: say how far it is this often (events).
_PROGRESS_EVERY = 100_000
# The mini program's WeChat app id: openids are per app (``wechat_openid:<appid>``).
MINI_PROGRAM_APP_ID = "wx5f1a2b3c4d5e6f70"
OPENID_TYPE = f"wechat_openid:{MINI_PROGRAM_APP_ID}"
BUYER_ID_TYPE = "tmall_buyer_id"

EVENTS = cast(Table, Event.__table__)


@dataclass(frozen=True)
class DemoSourceSpec:
    name: str
    channel: ChannelType
    allowed_origins: tuple[str, ...] = ()


# The marker source comes first.
DEMO_SOURCES: tuple[DemoSourceSpec, ...] = (
    DemoSourceSpec("官网 www.example.com", ChannelType.WEB, ("https://www.example.com",)),
    DemoSourceSpec("LoopShop App (iOS / Android)", ChannelType.APP),
    DemoSourceSpec("微信小程序 LoopShop", ChannelType.MINI_PROGRAM),
    DemoSourceSpec("天猫旗舰店", ChannelType.ECOMMERCE),
    DemoSourceSpec("Email service", ChannelType.EMAIL),
    DemoSourceSpec("短信网关", ChannelType.SMS),
)

_FAMILY = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
)  # fmt: skip
_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"),
    ("霞", "xia"), ("平", "ping"), ("晓东", "xiaodong"), ("雪", "xue"), ("婷", "ting"), ("子涵", "zihan"),
    ("浩然", "haoran"), ("欣怡", "xinyi"), ("宇轩", "yuxuan"), ("梓萱", "zixuan"), ("俊杰", "junjie"),
)  # fmt: skip
_ENGLISH_GIVEN = (
    "James", "Emma", "Oliver", "Sophia", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan",
    "Chloe", "Daniel", "Grace", "Henry", "Lily", "Jack", "Emily", "Ryan", "Hannah",
)  # fmt: skip
_ENGLISH_FAMILY = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Walker", "White",
    "Green", "Hall", "Wood", "Clarke", "Turner", "Hill", "Moore", "Baker", "Carter", "Young",
)  # fmt: skip
# Reserved example domains only: demo addresses must never reach a real mailbox.
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
_MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "157", "158", "159", "166", "176", "177", "180", "181", "186", "187", "188",
)  # fmt: skip
_PRODUCTS = (
    ("SKU-1001", "保温杯 Thermos 500ml", 129.0), ("SKU-1002", "无线耳机 Buds Pro", 899.0),
    ("SKU-1003", "运动水壶 Sport Bottle", 59.0), ("SKU-1004", "真丝围巾 Silk Scarf", 359.0),
    ("SKU-1005", "咖啡豆 Yunnan Arabica 1kg", 168.0), ("SKU-1006", "瑜伽垫 Yoga Mat", 199.0),
    ("SKU-1007", "智能手环 Band 8", 249.0), ("SKU-1008", "双肩包 Commuter Backpack", 459.0),
    ("SKU-1009", "茶具套装 Tea Set", 688.0), ("SKU-1010", "香薰蜡烛 Candle", 89.0),
)  # fmt: skip
_PAGES = (("首页", "/"), ("新品", "/new"), ("商品详情", "/products"), ("会员中心", "/account"),
          ("促销活动", "/sale"), ("门店查询", "/stores"), ("帮助中心", "/help"))  # fmt: skip
_SCREENS = ("Home", "Product Detail", "Cart", "Profile", "Search")
_CAMPAIGNS = ("618 年中大促", "双十一预热", "新品上市 Spring", "会员日 Member Day", "Black Friday")


@dataclass(frozen=True)
class CrmPerson:
    """A CRM demo contact the CDP demo's people may be: the same name, email and phone."""

    name: str
    email: str | None
    phone: str | None


@dataclass
class DemoPerson:
    """One planned person and the identifiers of their fragments (None: not on that channel)."""

    index: int
    name: str
    email: str | None
    phone: str | None
    user_id: str | None
    web_anonymous_ids: list[str] = field(default_factory=list)
    device_id: str | None = None
    openid: str | None = None
    unionid: str | None = None
    buyer_id: str | None = None
    on_email: bool = False
    on_sms: bool = False
    from_crm: bool = False

    @property
    def traits(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name}
        if self.email:
            found["email"] = self.email
        if self.phone:
            found["phone"] = self.phone
        return found


@dataclass(frozen=True)
class DemoCdp:
    """What the loader did, and how long each part took."""

    created: bool
    events: int = 0
    profiles: int = 0
    write_seconds: float = 0.0
    resolve_seconds: float = 0.0


def _mobile(rng: random.Random) -> str:
    return f"+86{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def plan_people(
    rng: random.Random, count: int, crm_people: Sequence[CrmPerson] = ()
) -> tuple[list[DemoPerson], int]:
    """The known people (first) and how many anonymous-only visitors follow them.

    Person 0 is always fragmented across every channel, so a test can follow one person."""
    anonymous = round(count * ANONYMOUS_SHARE)
    known = max(1, count - anonymous)
    crm = list(crm_people)[: known // 5]
    people: list[DemoPerson] = []
    for index in range(known):
        if index < len(crm):
            name, email, phone = crm[index].name, crm[index].email, crm[index].phone
        elif rng.random() < 0.78:
            family, family_pinyin = rng.choice(_FAMILY)
            given, given_pinyin = rng.choice(_GIVEN)
            name = family + given
            email = f"{given_pinyin}.{family_pinyin}{index}@{rng.choice(_EMAIL_DOMAINS)}"
            phone = _mobile(rng) if rng.random() < 0.9 else None
        else:
            given_name, family_name = rng.choice(_ENGLISH_GIVEN), rng.choice(_ENGLISH_FAMILY)
            name = f"{given_name} {family_name}"
            email = f"{given_name.lower()}.{family_name.lower()}{index}@{rng.choice(_EMAIL_DOMAINS)}"
            phone = _mobile(rng) if rng.random() < 0.5 else None
        everywhere = index == 0
        person = DemoPerson(
            index=index,
            name=name,
            email=email,
            phone=phone,
            user_id=f"u{100_000 + index}" if everywhere or rng.random() < 0.7 else None,
            from_crm=index < len(crm),
        )
        if everywhere or rng.random() < 0.75:
            person.web_anonymous_ids = [f"web-{index}-{n}" for n in range(1 if rng.random() < 0.7 else 2)]
        if person.user_id and (everywhere or rng.random() < 0.4):
            person.device_id = f"dev-{index:06d}"
        if phone and (everywhere or rng.random() < 0.45):
            person.openid = f"oMp{index:07d}{rng.randrange(16**8):08x}"
            person.unionid = f"oUn{index:07d}{rng.randrange(16**8):08x}"
        if phone and (everywhere or rng.random() < 0.5):
            person.buyer_id = f"tb{rng.randrange(10**10):010d}"
        person.on_email = bool(email) and (everywhere or rng.random() < 0.6)
        person.on_sms = bool(phone) and (everywhere or rng.random() < 0.35)
        if not (person.web_anonymous_ids or person.device_id or person.buyer_id):
            # Everyone signs in somewhere that learns both their email and phone (website, app or
            # shop): that identify is what joins their other fragments.
            person.web_anonymous_ids = [f"web-{index}-0"]
        people.append(person)
    return people, anonymous


class _Messages:
    """Builds one person's messages over the year, as each channel's SDK would send them."""

    def __init__(self, rng: random.Random, start: datetime, days: int, sources: dict[ChannelType, str]):
        self.rng = rng
        self.start = start
        self.seconds = days * 86_400
        self.sources = sources
        self.out: list[tuple[datetime, str, dict[str, Any]]] = []
        self.count = 0

    def when(self, after: datetime | None = None, before: datetime | None = None) -> datetime:
        low = after or self.start
        high = before or self.start + timedelta(seconds=self.seconds)
        span = max(1.0, (high - low).total_seconds())
        return low + timedelta(seconds=self.rng.random() * span)

    def add(self, channel: ChannelType, at: datetime, message: dict[str, Any]) -> None:
        message["timestamp"] = at.isoformat()
        message["messageId"] = f"demo-{channel.value}-{self.count}"
        self.count += 1
        self.out.append((at, self.sources[channel], message))

    def page(self, at: datetime, anonymous_id: str, user_id: str | None) -> None:
        title, path = self.rng.choice(_PAGES)
        url = f"https://www.example.com{path}"
        self.add(
            ChannelType.WEB,
            at,
            {
                "type": "page",
                "name": title,
                "anonymousId": anonymous_id,
                "userId": user_id,
                "properties": {"title": title, "path": path, "url": url},
                "context": {"library": {"name": "analytics.js", "version": "npm:next-1.84.3"}},
            },
        )

    def product_viewed(self, channel: ChannelType, at: datetime, base: dict[str, Any]) -> None:
        sku, name, price = self.rng.choice(_PRODUCTS)
        properties = {"product_id": sku, "name": name, "price": price, "currency": "CNY"}
        self.add(channel, at, {**base, "type": "track", "event": "Product Viewed", "properties": properties})

    def order(self, channel: ChannelType, at: datetime, base: dict[str, Any]) -> None:
        lines = self.rng.sample(_PRODUCTS, self.rng.randint(1, 3))
        quantities = [self.rng.randint(1, 2) for _ in lines]
        products = [
            {"product_id": sku, "name": name, "price": price, "quantity": quantity}
            for (sku, name, price), quantity in zip(lines, quantities, strict=True)
        ]
        revenue = round(
            sum(price * quantity for (_, _, price), quantity in zip(lines, quantities, strict=True)), 2
        )
        properties = {
            "order_id": f"SO{at:%y%m%d}{self.count:07d}",
            "revenue": revenue,
            "currency": "CNY",
            "products": products,
        }
        self.add(channel, at, {**base, "type": "track", "event": "Order Completed", "properties": properties})


def _person_messages(messages: _Messages, person: DemoPerson, budget: int) -> None:
    """The person's fragments first (each channel's first contact), then sessions up to ``budget``."""
    rng = messages.rng
    signed_in_at = messages.when()
    web_user = person.user_id
    channels: list[tuple[ChannelType, dict[str, Any]]] = []
    base: dict[str, Any]
    for anonymous_id in person.web_anonymous_ids:
        channels.append((ChannelType.WEB, {"anonymousId": anonymous_id}))
        # Browsing before signing in, then the sign-in (or newsletter sign-up) that ties it to them.
        messages.page(messages.when(before=signed_in_at), anonymous_id, None)
        identify = {"type": "identify", "anonymousId": anonymous_id, "traits": person.traits}
        if web_user:
            identify["userId"] = web_user
        messages.add(ChannelType.WEB, signed_in_at + timedelta(seconds=rng.randint(1, 600)), identify)
    if person.device_id:
        base = {
            "userId": person.user_id,
            "context": {"device": {"id": person.device_id, "type": "ios"}},
        }
        channels.append((ChannelType.APP, base))
        messages.add(ChannelType.APP, messages.when(), {**base, "type": "identify", "traits": person.traits})
    if person.openid:
        external_ids: list[dict[str, Any]] = [
            {"id": person.unionid, "type": "wechat_unionid", "collection": "users", "encoding": "none"},
            {"id": person.openid, "type": OPENID_TYPE, "collection": "users", "encoding": "none"},
        ]
        base = {"anonymousId": person.openid, "context": {"externalIds": external_ids}}
        channels.append((ChannelType.MINI_PROGRAM, base))
        at = messages.when()
        messages.add(ChannelType.MINI_PROGRAM, at, {**base, "type": "track", "event": "Mini Program Opened"})
        # The buyer allows the mini program their phone number (getPhoneNumber).
        phone_traits: dict[str, Any] = {"phone": person.phone, "name": person.name}
        identify = {**base, "type": "identify", "traits": phone_traits}
        messages.add(ChannelType.MINI_PROGRAM, at + timedelta(minutes=2), identify)
    if person.buyer_id:
        base = {
            "anonymousId": f"buyer-{person.buyer_id}",
            "context": {
                "externalIds": [{"id": person.buyer_id, "type": BUYER_ID_TYPE, "collection": "users"}]
            },
        }
        channels.append((ChannelType.ECOMMERCE, base))
        at = messages.when()
        messages.add(ChannelType.ECOMMERCE, at, {**base, "type": "identify", "traits": person.traits})
        messages.order(ChannelType.ECOMMERCE, at + timedelta(seconds=30), base)
    if person.on_email:
        base = {
            "userId": person.user_id,
            "anonymousId": None if person.user_id else f"esp-{person.index}",
            "context": {"traits": {"email": person.email}},
        }
        channels.append((ChannelType.EMAIL, base))
        _session(messages, ChannelType.EMAIL, base, messages.when(), None)
    if person.on_sms:
        base = {
            "anonymousId": f"sms-{person.index}",
            "context": {"traits": {"phone": person.phone}},
        }
        channels.append((ChannelType.SMS, base))
        _session(messages, ChannelType.SMS, base, messages.when(), None)
    while messages.count < budget and channels:
        channel, base = rng.choice(channels)
        at = messages.when()
        _session(messages, channel, base, at, web_user if at > signed_in_at else None)


def _session(
    messages: _Messages, channel: ChannelType, base: dict[str, Any], at: datetime, web_user: str | None
) -> None:
    """One visit, app session, campaign message… a few events a few seconds to minutes apart."""
    rng = messages.rng
    step = timedelta(seconds=rng.randint(5, 120))
    if channel is ChannelType.WEB:
        for number in range(rng.randint(1, 4)):
            messages.page(at + step * number, base["anonymousId"], web_user)
        if rng.random() < 0.5:
            messages.product_viewed(channel, at + step * 4, {**base, "userId": web_user})
        if web_user and rng.random() < 0.08:
            messages.order(channel, at + step * 6, {**base, "userId": web_user})
    elif channel is ChannelType.APP:
        for number in range(rng.randint(1, 3)):
            screen = {**base, "type": "screen", "name": rng.choice(_SCREENS)}
            messages.add(channel, at + step * number, screen)
        if rng.random() < 0.4:
            messages.add(channel, at + step * 3, {**base, "type": "track", "event": "Product Added"})
        if rng.random() < 0.1:
            messages.order(channel, at + step * 5, base)
    elif channel is ChannelType.MINI_PROGRAM:
        messages.add(channel, at, {**base, "type": "track", "event": "Mini Program Opened"})
        messages.product_viewed(channel, at + step, base)
        if rng.random() < 0.12:
            messages.order(channel, at + step * 3, base)
    elif channel is ChannelType.ECOMMERCE:
        if rng.random() < 0.5:
            messages.add(channel, at, {**base, "type": "track", "event": "Product Added"})
        messages.order(channel, at + step, base)
    elif channel is ChannelType.EMAIL:
        campaign = {"campaign_name": rng.choice(_CAMPAIGNS)}
        messages.add(
            channel, at, {**base, "type": "track", "event": "Email Delivered", "properties": campaign}
        )
        if rng.random() < 0.45:
            opened = {**base, "type": "track", "event": "Email Opened", "properties": campaign}
            messages.add(channel, at + timedelta(hours=rng.randint(1, 30)), opened)
            if rng.random() < 0.3:
                clicked = {**base, "type": "track", "event": "Email Link Clicked", "properties": campaign}
                messages.add(channel, at + timedelta(hours=31), clicked)
    elif channel is ChannelType.SMS:
        campaign = {"campaign_name": rng.choice(_CAMPAIGNS)}
        messages.add(channel, at, {**base, "type": "track", "event": "SMS Delivered", "properties": campaign})
        if rng.random() < 0.15:
            clicked = {**base, "type": "track", "event": "SMS Link Clicked", "properties": campaign}
            messages.add(channel, at + timedelta(minutes=rng.randint(1, 90)), clicked)


def plan_messages(
    *,
    seed: int = DEMO_SEED,
    profiles: int = DEMO_PROFILES,
    events: int = DEMO_EVENTS,
    today: date,
    sources: dict[ChannelType, str],
    crm_people: Sequence[CrmPerson] = (),
) -> tuple[list[DemoPerson], list[tuple[datetime, str, dict[str, Any]]]]:
    """The demo's people and their messages ``(timestamp, source id, message)`` in time order."""
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    people, anonymous = plan_people(rng, profiles, crm_people)
    start = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=365)
    messages = _Messages(rng, start, 365, sources)
    anonymous_events = anonymous * 3
    # Activity is skewed as in life: a few people account for many events (log-normal weights).
    weights = [rng.lognormvariate(0, 0.9) for _ in people]
    scale = max(0, events - anonymous_events) / sum(weights)
    for person, weight in zip(people, weights, strict=True):
        _person_messages(messages, person, messages.count + max(2, math.floor(weight * scale)))
    for visitor in range(anonymous):
        anonymous_id = f"visitor-{visitor}"
        at = messages.when()
        for number in range(rng.randint(1, 5)):
            messages.page(at + timedelta(seconds=40 * number), anonymous_id, None)
    messages.out.sort(key=lambda item: item[0])
    return people, messages.out


def _demo_sources(new_uow: Callable[[], UnitOfWork]) -> tuple[dict[ChannelType, str], bool]:
    """The demo sources' ids by channel (created when missing), and whether they already have events."""
    with new_uow() as uow:
        existing = {
            name: source_id
            for name, source_id in uow.session.execute(
                select(EventSource.name, EventSource.id).where(
                    EventSource.name.in_([spec.name for spec in DEMO_SOURCES])
                )
            )
        }
        marker = existing.get(DEMO_SOURCES[0].name)
        has_events = marker is not None and (
            uow.session.scalar(select(Event.sequence).where(Event.source_id == marker).limit(1)) is not None
        )
    actor = system_actor("demo")
    ids: dict[ChannelType, str] = {}
    for spec in DEMO_SOURCES:
        source_id = existing.get(spec.name)
        if source_id is None:
            # The write key is not kept: an admin rotates it to send to a demo source.
            request = SourceCreate(
                name=spec.name, channel=spec.channel, allowed_origins=list(spec.allowed_origins)
            )
            source_id = cdp.create_source(new_uow(), actor, request).id
        ids[spec.channel] = source_id
    return ids, has_events


def _rows(planned: Sequence[tuple[datetime, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """Event-log rows as the ingestion reads them; received a second or two after they happened."""
    for at, source_id, message in planned:
        received_at = at + timedelta(seconds=1 + (hash(message["messageId"]) % 3))
        read = read_batch(
            {"batch": [message]}, RequestFacts(received_at=received_at, ip=None, source_id=source_id)
        )
        if read.rejections:  # the plan only makes valid messages: a rejection is a bug here
            raise ValueError(f"demo message refused: {read.rejections[0].reason}")
        yield from read.rows


_COLUMNS = (
    "id", "source_id", "message_id", "type", "event", "user_id", "anonymous_id", "group_id", "previous_id",
    "timestamp", "received_at", "sent_at", "original_timestamp", "properties", "context", "extra",
)  # fmt: skip
_TIMES = frozenset({"timestamp", "received_at", "sent_at", "original_timestamp"})
_JSON = frozenset({"properties", "context", "extra"})


def _insert_statement(dialect: str) -> str:
    placeholder = "?" if dialect == "sqlite" else "%s"
    columns = ", ".join(f'"{name}"' for name in _COLUMNS)
    values = ", ".join(placeholder for _ in _COLUMNS)
    return f"INSERT INTO {EVENTS.name} ({columns}) VALUES ({values})"  # noqa: S608 (fixed names)


def _parameters(dialect: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row as plain DBAPI parameters: JSON as text and, on SQLite, times as SQLAlchemy stores
    them (UTC without zone). SQLAlchemy's per-value processing would triple the time of 500,000 rows."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    sqlite = dialect == "sqlite"

    def value(name: str, item: Any) -> Any:
        if name in _JSON:
            return dumps(item)
        if sqlite and name in _TIMES and item is not None:
            return item.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return item

    def parameters(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(value(name, row[name]) for name in _COLUMNS)

    return parameters


def write_events(
    new_uow: Callable[[], UnitOfWork], planned: Sequence[tuple[datetime, str, dict[str, Any]]]
) -> int:
    """Insert the planned messages in time order (so the log's sequence follows time), in one
    transaction: all or nothing."""
    written = 0
    with new_uow() as uow:
        connection = uow.session.connection()
        dialect = connection.dialect.name
        statement = _insert_statement(dialect)
        parameters = _parameters(dialect)
        chunk: list[tuple[Any, ...]] = []
        for row in _rows(planned):
            chunk.append(parameters(row))
            if len(chunk) >= _INSERT_CHUNK:
                connection.exec_driver_sql(statement, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            connection.exec_driver_sql(statement, chunk)
            written += len(chunk)
        uow.commit()
    return written


def _quiet(text: str) -> None:
    """The default progress report: none."""


def resolve_all(new_uow: Callable[[], UnitOfWork], progress: Callable[[str], None] = _quiet) -> int:
    """Run identity resolution until the event log is drained; returns the events resolved."""
    resolved = 0
    while True:
        count = identity.resolve_pending_events(new_uow(), max_events=_RESOLVE_CHUNK)
        resolved += count
        if count < _RESOLVE_CHUNK:
            return resolved
        if resolved % _PROGRESS_EVERY == 0:
            progress(f"CDP demo: {resolved:,} events resolved to profiles")


def load_demo_cdp(
    new_uow: Callable[[], UnitOfWork],
    *,
    profiles: int = DEMO_PROFILES,
    events: int = DEMO_EVENTS,
    crm_people: Callable[[], Sequence[CrmPerson]] = tuple,
    seed: int = DEMO_SEED,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoCdp:
    """Create the CDP demo once: sources, a year of events, then the resolved profiles.

    ``profiles`` is the number of people (about one profile each once resolved) and ``events``
    the approximate number of events; ``crm_people`` gives the CRM contacts a fifth of them are
    (called only when the demo is created). ``progress`` hears how far a long load is."""
    progress = progress or _quiet
    sources, has_events = _demo_sources(new_uow)
    if has_events:
        resolve_all(new_uow)  # finish a resolution an interrupted run left (nothing if done)
        return DemoCdp(created=False)
    started = time.monotonic()
    _people, planned = plan_messages(
        seed=seed,
        profiles=profiles,
        events=events,
        today=today or utc_now().date(),
        sources=sources,
        crm_people=crm_people(),
    )
    written = write_events(new_uow, planned)
    progress(
        f"CDP demo: {written:,} events written in {time.monotonic() - started:.0f} s; resolving profiles"
    )
    del planned
    written_at = time.monotonic()
    resolve_all(new_uow, progress)
    resolved_at = time.monotonic()
    with new_uow() as uow:
        profile_count = int(
            uow.session.scalar(select(func.count()).select_from(Profile).where(Profile.merged_into.is_(None)))
            or 0
        )
    log.info(
        "CDP demo: %d events written in %.1f s, resolved in %.1f s",
        written,
        written_at - started,
        resolved_at - written_at,
    )
    return DemoCdp(True, written, profile_count, written_at - started, resolved_at - written_at)
