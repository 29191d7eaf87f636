"""How spreadsheet cells become field values: the words people use for genders, industries,
sources and yes/no, dates and amounts as Chinese and English spreadsheets write them, and names
split into family and given name.

Everything here is lenient about notation and strict about meaning: a cell either reads as one
value of the field or is passed on unchanged, so the schemas refuse it with the same error the
API gives.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from loopcrm.modules.customers.models import CustomerSource, Gender, Industry, OperatingStatus
from loopcrm.modules.customers.names import is_chinese

# Separators between several values in one cell: "VIP, 重点；华东" or "138…/139…".
LIST_SEPARATORS = re.compile(r"[,，;；、|/\n]+")
# Emails and phones may also be separated by spaces ("a@x.cn b@y.cn"); phone numbers themselves
# contain spaces, so spaces split emails only.
EMAIL_SEPARATORS = re.compile(r"[,，;；、|/\s]+")

# Chinese compound surnames (复姓): a name starting with one of these splits after two characters.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "令狐",
        "慕容",
        "司徒",
        "夏侯",
        "尉迟",
        "公孙",
        "长孙",
        "宇文",
        "轩辕",
        "端木",
        "独孤",
        "南宫",
        "万俟",
        "闻人",
        "澹台",
        "呼延",
        "申屠",
        "太史",
        "公羊",
        "赫连",
        "钟离",
        "单于",
        "乐正",
        "西门",
        "百里",
        "东郭",
        "拓跋",
    }
)


def _fold(text: str) -> str:
    """A cell as vocabularies compare it: NFKC, case-folded, without spaces, dashes and dots."""
    return re.sub(r"[\s_\-.·]+", "", unicodedata.normalize("NFKC", text)).casefold()


def _table(entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{value: (alias, …)}`` → ``{folded alias: value}``; each value is its own alias too."""
    folded: dict[str, str] = {}
    for value, aliases in entries.items():
        for alias in (value, value.replace("_", " "), *aliases):
            folded[_fold(alias)] = value
    return folded


GENDERS = _table(
    {
        Gender.FEMALE.value: ("女", "女士", "f", "w", "woman", "女性"),
        Gender.MALE.value: ("男", "先生", "m", "man", "男性"),
        Gender.OTHER.value: ("其他", "other gender"),
        Gender.UNKNOWN.value: ("未知", "保密", "不详", "not stated", "unknown", "n/a"),
    }
)

# Section letters and names of GB/T 4754-2017, in the words of Chinese registries and exports.
INDUSTRIES = _table(
    {
        Industry.AGRICULTURE.value: (
            "A",
            "农、林、牧、渔业",
            "农林牧渔业",
            "农业",
            "agriculture, forestry, livestock and fishery",
        ),
        Industry.MINING.value: ("B", "采矿业", "采矿", "mining"),
        Industry.MANUFACTURING.value: ("C", "制造业", "制造", "manufacturing"),
        Industry.UTILITIES.value: (
            "D",
            "电力、热力、燃气及水生产和供应业",
            "电力",
            "能源",
            "electricity, heat, gas and water",
        ),
        Industry.CONSTRUCTION.value: ("E", "建筑业", "建筑", "construction"),
        Industry.WHOLESALE_RETAIL.value: (
            "F",
            "批发和零售业",
            "批发零售",
            "零售",
            "批发",
            "wholesale and retail",
            "retail",
        ),
        Industry.TRANSPORT_LOGISTICS.value: (
            "G",
            "交通运输、仓储和邮政业",
            "交通运输",
            "物流",
            "transport, storage and post",
            "logistics",
        ),
        Industry.HOSPITALITY.value: (
            "H",
            "住宿和餐饮业",
            "餐饮",
            "住宿",
            "accommodation and catering",
            "hospitality",
        ),
        Industry.INFORMATION_TECHNOLOGY.value: (
            "I",
            "信息传输、软件和信息技术服务业",
            "信息技术",
            "软件",
            "互联网",
            "it",
            "software",
            "information technology",
            "information transmission, software and it services",
        ),
        Industry.FINANCE.value: ("J", "金融业", "金融", "finance", "financial services"),
        Industry.REAL_ESTATE.value: ("K", "房地产业", "房地产", "real estate"),
        Industry.BUSINESS_SERVICES.value: (
            "L",
            "租赁和商务服务业",
            "商务服务",
            "leasing and business services",
            "business services",
        ),
        Industry.RESEARCH_TECHNOLOGY.value: (
            "M",
            "科学研究和技术服务业",
            "科研",
            "技术服务",
            "scientific research and technical services",
        ),
        Industry.ENVIRONMENT_FACILITIES.value: (
            "N",
            "水利、环境和公共设施管理业",
            "环境",
            "water, environment and public facilities",
        ),
        Industry.RESIDENT_SERVICES.value: (
            "O",
            "居民服务、修理和其他服务业",
            "居民服务",
            "resident, repair and other services",
        ),
        Industry.EDUCATION.value: ("P", "教育", "education"),
        Industry.HEALTH_SOCIAL_WORK.value: (
            "Q",
            "卫生和社会工作",
            "医疗",
            "卫生",
            "health and social work",
            "healthcare",
        ),
        Industry.CULTURE_SPORTS_MEDIA.value: (
            "R",
            "文化、体育和娱乐业",
            "文化",
            "传媒",
            "culture, sports and entertainment",
            "media",
        ),
        Industry.PUBLIC_ADMINISTRATION.value: (
            "S",
            "公共管理、社会保障和社会组织",
            "公共管理",
            "政府",
            "public administration and social organisations",
        ),
        Industry.INTERNATIONAL_ORGANISATIONS.value: (
            "T",
            "国际组织",
            "international organisations",
            "international organizations",
        ),
    }
)

OPERATING_STATUSES = _table(
    {
        OperatingStatus.ACTIVE.value: ("存续", "在业", "在营", "开业", "正常", "经营", "operating", "open"),
        OperatingStatus.DORMANT.value: ("停业", "歇业", "吊销", "吊销未注销", "吊销，未注销", "inactive"),
        OperatingStatus.DEREGISTERED.value: ("注销", "已注销", "closed", "struck off"),
    }
)

SOURCES = _table(
    {
        CustomerSource.WEBSITE.value: ("官网", "网站", "网站注册", "web", "site"),
        CustomerSource.REFERRAL.value: ("转介绍", "推荐", "介绍", "客户推荐"),
        CustomerSource.EVENT.value: ("活动", "展会", "会议", "trade show", "seminar"),
        CustomerSource.COLD_OUTREACH.value: ("陌拜", "电销", "陌生拜访", "cold call", "outbound"),
        CustomerSource.ADVERTISING.value: ("广告", "投放", "ads", "ad", "paid"),
        CustomerSource.PARTNER.value: ("合作伙伴", "渠道", "代理商", "channel"),
        CustomerSource.SOCIAL_MEDIA.value: (
            "社交媒体",
            "微信",
            "微博",
            "抖音",
            "小红书",
            "wechat",
            "weibo",
            "linkedin",
            "social",
        ),
        CustomerSource.E_COMMERCE.value: (
            "电商",
            "网店",
            "天猫",
            "京东",
            "淘宝",
            "ecommerce",
            "online store",
        ),
        CustomerSource.IMPORT.value: ("导入",),
        CustomerSource.OTHER.value: ("其他", "其它"),
    }
)

_TRUE_WORDS = frozenset(
    _fold(word) for word in ("是", "对", "允许", "同意", "有", "yes", "y", "true", "1", "on", "x", "✓", "√")
)
_FALSE_WORDS = frozenset(
    _fold(word) for word in ("否", "不", "不允许", "拒绝", "无", "no", "n", "false", "0", "off", "×", "✗")
)


def lookup(table: dict[str, str], text: str) -> str:
    """The value ``text`` names in ``table``, or ``text`` itself for the schema to refuse."""
    return table.get(_fold(text), text)


def boolean(text: str) -> bool | str:
    """``True``/``False`` for the yes/no words of both languages, else the text unchanged."""
    folded = _fold(text)
    if folded in _TRUE_WORDS:
        return True
    if folded in _FALSE_WORDS:
        return False
    return text


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def calendar_date(text: str) -> str:
    """A date as ISO ``YYYY-MM-DD`` from 2024-01-31, 2024/1/31, 2024.1.31, 2024年1月31日 or
    20240131 (with any time after it, as spreadsheets export dates); else the text unchanged."""
    candidate = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(candidate)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
            except ValueError:
                return text
    return text


# Chinese amounts are often written in units of ten thousand (万) or a hundred million (亿).
_AMOUNT_UNITS = {
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "k": Decimal(1000),
    "m": Decimal(1_000_000),
}
_AMOUNT = re.compile(
    r"^[¥￥$]?\s*([+-]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*(万|亿|k|m)?\s*(?:元|人民币|rmb|cny|人)?$", re.IGNORECASE
)


def amount(text: str) -> str:
    """A number from "1,250,000.50", "¥125万", "3.5亿元" or "1200人", as plain decimal text;
    anything else unchanged."""
    match = _AMOUNT.match(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return text
    try:
        number = Decimal(match[1].replace(",", ""))
    except InvalidOperation:
        return text
    if match[2]:
        number *= _AMOUNT_UNITS[match[2].lower() if match[2] in ("K", "M") else match[2]]
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(number)


def whole_number(text: str) -> str:
    """A count from "1,200", "1200人" or "1.2万"; anything else unchanged."""
    value = amount(text)
    try:
        number = Decimal(value)
    except InvalidOperation:
        return text
    return str(int(number)) if number == number.to_integral_value() else text


def split_full_name(text: str) -> tuple[str, str]:
    """``(family name, given name)`` of a name written in one cell.

    Chinese names put the family name first: one character, or two for a compound surname
    (欧阳娜娜 → 欧阳 + 娜娜). Latin names are "Given Family" or "Family, Given". A single word is
    taken as the given name, which is how people sign when they give only one.
    """
    name = " ".join(unicodedata.normalize("NFKC", text).split())
    if not name:
        return "", ""
    if is_chinese(name) and " " not in name:
        if len(name) == 1:
            return name, ""
        surname_length = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[:surname_length], name[surname_length:]
    if "," in name:
        family, _, given = name.partition(",")
        return family.strip(), given.strip()
    given, _, family = name.rpartition(" ")
    if not given:
        return "", family
    return family, given


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold.

    Whole numbers lose their ".0" (Excel keeps phone numbers and ids as floats), dates lose a
    midnight time, booleans read as words the vocabulary understands.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
