"""What a column of an imported file can become: the import targets of accounts and contacts,
their names, how a header is guessed to mean one of them, and the header signature under which
a user's mapping is remembered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from loopcrm.modules.customers.models import CustomFieldDefinition, RecordKind, UpsertKey
from loopcrm.modules.customers.service.custom_fields import CUSTOM_FIELD_PREFIX
from loopcrm.platform.i18n import N_, SUPPORTED_LOCALES, translator

IGNORE = "ignore"
# Targets several columns may map to: each column adds a phone, an email or tags.
REPEATABLE = frozenset({"phone", "email", "tags"})


@dataclass(frozen=True)
class Target:
    """One thing a column can be imported into. ``label`` is an English msgid for standard
    fields; custom fields carry the admin's own labels (``label`` and ``label_en``)."""

    key: str
    label: str
    label_en: str | None = None
    is_custom: bool = False

    @property
    def is_repeatable(self) -> bool:
        return self.key in REPEATABLE


_COMMON = (
    Target("phone", N_("Phone")),
    Target("email", N_("Email")),
    Target("province", N_("Province")),
    Target("city", N_("City")),
    Target("address", N_("Address")),
    Target("source", N_("Source")),
    Target("owner", N_("Owner (email or name of a user)")),
    Target("external_id", N_("External id")),
    Target("tags", N_("Tags (names, comma-separated)")),
    Target("description", N_("Description")),
)
ACCOUNT_TARGETS = (
    Target("name", N_("Account name")),
    Target("name_en", N_("English name")),
    Target("credit_code", N_("Unified social credit code")),
    Target("industry", N_("Industry")),
    Target("employee_count", N_("Employees")),
    Target("annual_revenue", N_("Annual revenue")),
    Target("website", N_("Website")),
    Target("legal_representative", N_("Legal representative")),
    Target("operating_status", N_("Operating status")),
    *_COMMON,
)
CONTACT_TARGETS = (
    Target("full_name", N_("Full name")),
    Target("family_name", N_("Family name")),
    Target("given_name", N_("Given name")),
    Target("gender", N_("Gender")),
    Target("company", N_("Company (an existing account's name)")),
    Target("title", N_("Job title")),
    Target("department", N_("Department")),
    Target("wechat_id", N_("WeChat id")),
    Target("birthday", N_("Birthday")),
    Target("email_opt_in", N_("Email marketing allowed")),
    Target("sms_opt_in", N_("SMS marketing allowed")),
    Target("wechat_opt_in", N_("WeChat marketing allowed")),
    *_COMMON,
)

# Which column an upsert key needs mapped.
UPSERT_KEY_TARGETS = {
    UpsertKey.EMAIL: "email",
    UpsertKey.PHONE: "phone",
    UpsertKey.CREDIT_CODE: "credit_code",
    UpsertKey.EXTERNAL_ID: "external_id",
}
UPSERT_KEY_NAMES = {
    UpsertKey.NONE.value: N_("Always create new records"),
    UpsertKey.EMAIL.value: N_("Email"),
    UpsertKey.PHONE.value: N_("Phone"),
    UpsertKey.CREDIT_CODE.value: N_("Unified social credit code"),
    UpsertKey.EXTERNAL_ID.value: N_("External id"),
}


def upsert_keys(record_kind: str) -> list[UpsertKey]:
    """The keys an import of this kind may find existing records by (credit codes are accounts')."""
    return [key for key in UpsertKey if key is not UpsertKey.CREDIT_CODE or record_kind == RecordKind.ACCOUNT]


def targets(record_kind: str, custom_fields: Sequence[CustomFieldDefinition]) -> list[Target]:
    """Every target of the kind: standard fields, then its active custom fields."""
    standard = ACCOUNT_TARGETS if record_kind == RecordKind.ACCOUNT else CONTACT_TARGETS
    custom = [
        Target(CUSTOM_FIELD_PREFIX + field.key, field.label, field.label_en, is_custom=True)
        for field in custom_fields
        if field.is_active
    ]
    return [*standard, *custom]


# ---------------------------------------------------------------- guessing


def fold_header(text: str) -> str:
    """A header as guessing compares it: NFKC, case-folded, without spaces and punctuation, and
    without a trailing "(required)"-style note."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"[(\[（【].*?[)\]）】]", "", folded)  # "手机(必填)", "Email [work]"
    return re.sub(r"[\s_\-.·:：*#/]+", "", folded)


_COMMON_WORDS = {
    "phone": (
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话号码",
        "联系方式",
        "座机",
        "办公电话",
        "移动电话",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "phonenumber",
        "mobilephone",
        "workphone",
        "cell",
        "cellphone",
        "mobilenumber",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "email", "e-mail", "emailaddress", "mail"),
    "province": ("省", "省份", "所在省份", "province", "state", "region"),
    "city": ("城市", "市", "所在城市", "所在地", "city", "town"),
    "address": ("地址", "详细地址", "通讯地址", "联系地址", "公司地址", "address", "street", "streetaddress"),
    "source": ("来源", "客户来源", "线索来源", "渠道来源", "source", "leadsource"),
    "owner": (
        "负责人",
        "所有者",
        "归属人",
        "归属销售",
        "销售",
        "客户经理",
        "owner",
        "accountowner",
        "salesrep",
    ),
    "external_id": (
        "外部id",
        "外部编号",
        "客户编号",
        "编号",
        "客户id",
        "id",
        "externalid",
        "recordid",
        "number",
    ),
    "tags": ("标签", "客户标签", "tags", "tag", "labels"),
    "description": (
        "备注",
        "描述",
        "说明",
        "简介",
        "description",
        "notes",
        "note",
        "remark",
        "remarks",
        "comment",
    ),
}
_ACCOUNT_WORDS = {
    "name": (
        "公司",
        "公司名称",
        "企业名称",
        "企业",
        "客户名称",
        "客户",
        "单位名称",
        "单位",
        "名称",
        "account",
        "accountname",
        "company",
        "companyname",
        "name",
        "organisation",
        "organization",
    ),
    "name_en": (
        "英文名",
        "英文名称",
        "公司英文名",
        "公司英文名称",
        "englishname",
        "nameen",
        "namein english",
    ),
    "credit_code": (
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "统一信用代码",
        "税号",
        "纳税人识别号",
        "creditcode",
        "uscc",
        "unifiedsocialcreditcode",
        "taxid",
        "taxnumber",
    ),
    "industry": ("行业", "所属行业", "行业类别", "industry", "sector"),
    "employee_count": (
        "员工数",
        "员工人数",
        "人数",
        "规模",
        "人员规模",
        "employees",
        "employeecount",
        "headcount",
        "staff",
    ),
    "annual_revenue": (
        "年营业额",
        "年收入",
        "营收",
        "营业收入",
        "年销售额",
        "annualrevenue",
        "revenue",
        "turnover",
    ),
    "website": ("网站", "网址", "官网", "公司网站", "website", "url", "web", "homepage"),
    "legal_representative": ("法人", "法定代表人", "法人代表", "legalrepresentative", "legalperson", "ceo"),
    "operating_status": ("经营状态", "登记状态", "企业状态", "状态", "operatingstatus", "status"),
}
_CONTACT_WORDS = {
    "full_name": (
        "姓名",
        "名字",
        "联系人",
        "联系人姓名",
        "客户姓名",
        "name",
        "fullname",
        "contact",
        "contactname",
    ),
    "family_name": ("姓", "姓氏", "lastname", "familyname", "surname"),
    "given_name": ("名", "firstname", "givenname"),
    "gender": ("性别", "gender", "sex"),
    "company": (
        "公司",
        "公司名称",
        "单位",
        "工作单位",
        "企业",
        "企业名称",
        "所属公司",
        "所在公司",
        "客户名称",
        "company",
        "companyname",
        "account",
        "accountname",
        "organisation",
        "organization",
        "employer",
    ),
    "title": ("职位", "职务", "头衔", "岗位", "title", "jobtitle", "position", "role"),
    "department": ("部门", "所在部门", "department", "dept"),
    "wechat_id": ("微信", "微信号", "微信id", "wechat", "wechatid", "weixin"),
    "birthday": ("生日", "出生日期", "出生年月日", "birthday", "dateofbirth", "birthdate", "dob"),
    "email_opt_in": ("允许邮件营销", "邮件营销", "邮件订阅", "emailoptin", "emailconsent"),
    "sms_opt_in": ("允许短信营销", "短信营销", "短信订阅", "smsoptin", "smsconsent"),
    "wechat_opt_in": ("允许微信营销", "微信营销", "wechatoptin", "wechatconsent"),
}


# Headers of this module's exports that are not a target's own label, so an exported file
# imports again with every column recognised.
_EXPORT_HEADERS = {
    "phone": N_("Phones"),
    "email": N_("Emails"),
    "owner": N_("Owner"),
    "tags": N_("Tags"),
    "company": N_("Company"),
}


def _words(record_kind: str, available: Sequence[Target]) -> dict[str, str]:
    """Folded header → target: the usual names, then each target's label in every language."""
    specific = _ACCOUNT_WORDS if record_kind == RecordKind.ACCOUNT else _CONTACT_WORDS
    found: dict[str, str] = {}
    for key, words in (*specific.items(), *_COMMON_WORDS.items()):
        for word in words:
            found.setdefault(fold_header(word), key)
    labels = [(target.key, target.label) for target in available if not target.is_custom]
    labels += [(key, label) for key, label in _EXPORT_HEADERS.items()]
    for locale in SUPPORTED_LOCALES:
        reader = translator(locale)
        for key, label in labels:
            found.setdefault(fold_header(reader.gettext(label)), key)
    return found


def guess_mapping(record_kind: str, headers: Sequence[str], available: Sequence[Target]) -> list[str]:
    """A target for each header, from the usual Chinese and English names of the fields and the
    custom fields' keys and labels; ``ignore`` where nothing fits or the target is taken."""
    words = _words(record_kind, available)
    for target in available:
        if target.is_custom:
            for word in (target.key.removeprefix(CUSTOM_FIELD_PREFIX), target.label, target.label_en):
                if word:
                    words.setdefault(fold_header(word), target.key)
    known = {target.key for target in available}
    taken: set[str] = set()
    mapping = []
    for header in headers:
        key = words.get(fold_header(header), IGNORE)
        if key not in known or (key in taken and key not in REPEATABLE):
            key = IGNORE
        taken.add(key)
        mapping.append(key)
    return mapping


def header_signature(headers: Sequence[str]) -> str:
    """The key under which a mapping is remembered: the same header row, however it is spaced or
    cased, gives the same signature."""
    text = "\x1f".join(fold_header(header) for header in headers)
    return hashlib.sha256(text.encode()).hexdigest()
