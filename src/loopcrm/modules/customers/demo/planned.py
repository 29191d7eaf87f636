"""What the demo planner produces (plain data, indexes instead of ids) and the choices its
parts share: who owns which region, where customers come from, which tags exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pypinyin import Style, lazy_pinyin

from loopcrm.modules.customers.demo.vocabulary import (
    CHINESE_TITLES,
    CITIES,
    EAST_TEAM,
    FOREIGN_OFFICE_CITIES,
    HEAD_TEAM,
    INDUSTRY_WEIGHTS,
    SOUTH_TEAM,
    City,
)
from loopcrm.modules.customers.models import CustomerSource, Industry, OperatingStatus, RelationshipKind

# Who owns the records of a region's team, and how many of them: reps the most, so a rep signing
# in sees a full list of their own; the manager of the head team owns the regions without reps.
TEAM_OWNERS: dict[str, tuple[tuple[str, float], ...]] = {
    EAST_TEAM: (("zhang.wei@example.com", 4), ("liu.yang@example.com", 4), ("zhou.min@example.com", 2)),
    SOUTH_TEAM: (("emma.wilson@example.com", 6), ("huang.lei@example.com", 4)),
    HEAD_TEAM: (("li.qiang@example.com", 1),),
}
# Consumers (B2C contacts) belong to marketing and customer service, outside the sales teams.
CONSUMER_OWNERS = (("chen.jing@example.com", 7.0), ("zhao.lei@example.com", 3.0))

KEY_ACCOUNT, NEW_CUSTOMER, FOLLOW_UP, VIP, COMPETITOR_CUSTOMER, CHANNEL_PARTNER = (
    "重点客户", "新客户", "待跟进", "VIP", "竞品客户", "渠道伙伴",
)  # fmt: skip
KEY_ACCOUNT, NEW_CUSTOMER, FOLLOW_UP, VIP, COMPETITOR_CUSTOMER, CHANNEL_PARTNER = (
    "重点客户", "新客户", "待跟进", "VIP", "竞品客户", "渠道伙伴",
)  # fmt: skip

SOURCES = (
    (CustomerSource.WEBSITE, 20), (CustomerSource.COLD_OUTREACH, 20), (CustomerSource.REFERRAL, 15),
    (CustomerSource.EVENT, 15), (CustomerSource.PARTNER, 10), (CustomerSource.ADVERTISING, 8),
    (CustomerSource.SOCIAL_MEDIA, 7), (CustomerSource.IMPORT, 5),
)  # fmt: skip
CONSUMER_SOURCES = (
    (CustomerSource.E_COMMERCE, 35), (CustomerSource.SOCIAL_MEDIA, 25), (CustomerSource.WEBSITE, 20),
    (CustomerSource.ADVERTISING, 10), (CustomerSource.EVENT, 5), (CustomerSource.REFERRAL, 5),
)  # fmt: skip
CITY_WEIGHTS = tuple((city, city.weight) for city in CITIES)
CITIES_BY_NAME = {city.name: city for city in CITIES}
FOREIGN_CITY_WEIGHTS = tuple((CITIES_BY_NAME[name], weight) for name, weight in FOREIGN_OFFICE_CITIES)
INDUSTRIES = tuple(INDUSTRY_WEIGHTS.items())
CHINESE_TITLE_WEIGHTS = tuple(((title, department), weight) for title, department, weight in CHINESE_TITLES)
LEVELS = (("gold", 15), ("silver", 35), ("bronze", 50))
SENIOR_TITLES = ("总经理", "董事长", "副总经理", "财务总监", "采购总监", "技术总监", "运营总监")


@dataclass
class AccountPlan:
    """One account: ``payload`` is what the API would be sent, less the references below."""

    payload: dict[str, Any]
    owner: str  # a demo person's email
    team: str | None  # a demo team's name
    parent: int | None = None  # index of the parent account in the plan
    tags: list[str] = field(default_factory=list)
    is_foreign: bool = False  # a foreign company (its headquarters or China entity)


@dataclass
class EmploymentPlan:
    account: int  # index of the account in the plan
    title: str | None
    started_on: date
    ended_on: date | None = None


@dataclass
class ContactPlan:
    payload: dict[str, Any]
    owner: str
    team: str | None
    employments: list[EmploymentPlan] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RelationshipPlan:
    """``from_account`` is ``kind`` ``to_account`` (indexes in the plan)."""

    from_account: int
    to_account: int
    kind: RelationshipKind
    note: str | None


@dataclass
class DemoPlan:
    accounts: list[AccountPlan]
    contacts: list[ContactPlan]
    relationships: list[RelationshipPlan]


@dataclass
class Company:
    """What the planner knows about an account beyond its payload, to fit its contacts to it."""

    city: City | None  # None for a headquarters abroad
    industry: Industry
    domain: str | None
    employees: int
    is_foreign: bool = False
    is_headquarters: bool = False
    status: OperatingStatus = OperatingStatus.ACTIVE


def pinyin(text: str) -> str:
    """Toneless pinyin without spaces, for domains and English names: 云帆 → yunfan."""
    return "".join(lazy_pinyin(text, style=Style.NORMAL))
