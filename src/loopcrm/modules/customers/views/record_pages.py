"""What the pages of accounts and contacts share: the two kinds side by side, the choices their
selects offer, custom fields as a reader sees them, and how a value is shown.

Everything here reads through ``customers.service`` (and the platform's user and team lookups),
so the choices a page offers are the ones the reader may use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from starlette.requests import Request

from loopcrm.modules.customers import service as customers
from loopcrm.modules.customers.schemas import AccountOut, ContactOut, CustomFieldOut, ListQuery
from loopcrm.modules.customers.views.duplicate_notice import possible_duplicates
from loopcrm.modules.customers.views.labels import (
    ACCOUNT_FIELD_NAMES,
    ACCOUNT_FILTER_FIELDS,
    CONTACT_FIELD_NAMES,
    CONTACT_FILTER_FIELDS,
    CONTACT_POINT_LABEL_NAMES,
    DUPLICATE_REASON_NAMES,
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    SOURCE_NAMES,
)
from loopcrm.platform.auth import service as auth
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Action, Actor, can_reach_record
from loopcrm.platform.web.pages import WebPage
from loopcrm.platform.web.views.lookups import teams

# Pickers of accounts (a contact's employer, a parent, a relationship) offer this many accounts,
# by name; enough for a team's book, and the page stays light at a million accounts.
ACCOUNT_PICKER_SIZE = 200
CUSTOM_FIELD_PREFIX = "custom_fields."


@dataclass(frozen=True)
class RecordKindPages:
    """One kind of customer record as its pages need it: where they live, what they are called."""

    kind: str  # RecordKind value and object type key: "account" or "contact"
    path: str  # the list; a record is at path/<id>
    title: str  # plural, English msgid
    new_label: str  # the "new record" button, English msgid
    field_names: Mapping[str, str]  # field key → English msgid
    filter_fields: tuple[str, ...]  # built-in fields the filter bar offers
    name_column: str  # the column of the record's name (the link to it), first in every list
    name_sort: str  # the field the name column sorts on
    sortable_columns: tuple[str, ...]  # other column keys whose header sorts the list

    @property
    def segment(self) -> str:
        """``accounts`` / ``contacts``: the path segment, also used by the export route."""
        return self.path.rsplit("/", 1)[1]

    def record_path(self, record_id: str) -> str:
        return f"{self.path}/{record_id}"


# Columns of both kinds whose header sorts the list: the plain fields a list can sort on (owner,
# tags, phones and emails sort on nothing a reader would recognise).
_SORTABLE_COMMON_COLUMNS = ("province", "city", "source", "external_id", "created_at", "updated_at")

ACCOUNT_PAGES = RecordKindPages(
    kind="account",
    path="/customers/accounts",
    title=N_("Accounts"),
    new_label=N_("New account"),
    field_names=ACCOUNT_FIELD_NAMES,
    filter_fields=ACCOUNT_FILTER_FIELDS,
    name_column="name",
    name_sort="name",
    sortable_columns=(
        "name_en",
        "credit_code",
        "industry",
        "employee_count",
        "annual_revenue",
        "website",
        "legal_representative",
        "operating_status",
        *_SORTABLE_COMMON_COLUMNS,
    ),
)
CONTACT_PAGES = RecordKindPages(
    kind="contact",
    path="/customers/contacts",
    title=N_("Contacts"),
    new_label=N_("New contact"),
    field_names=CONTACT_FIELD_NAMES,
    filter_fields=CONTACT_FILTER_FIELDS,
    name_column="full_name",
    name_sort="name_pinyin",  # 王芳 sorts under W, next to Wang Fang
    sortable_columns=(
        "family_name",
        "given_name",
        "gender",
        "title",
        "department",
        "wechat_id",
        "address",
        "birthday",
        "email_opt_in",
        "sms_opt_in",
        "wechat_opt_in",
        *_SORTABLE_COMMON_COLUMNS,
    ),
)
PAGES_OF_KIND = {"account": ACCOUNT_PAGES, "contact": CONTACT_PAGES}


# ---------------------------------------------------------------- custom fields


@dataclass(frozen=True)
class CustomFieldView:
    """A custom field as a form and a detail page show it, in the reader's language."""

    key: str
    label: str
    kind: str  # CustomFieldKind value
    options: tuple[tuple[str, str], ...]  # (value, label in the reader's language)
    help_text: str | None
    is_required: bool
    is_active: bool

    @property
    def name(self) -> str:
        """The form input's name, also the field path of its errors and of ``masked_fields``."""
        return CUSTOM_FIELD_PREFIX + self.key

    @property
    def filter_key(self) -> str:
        return CUSTOM_FIELD_PREFIX + self.key

    def option_label(self, value: Any) -> str:
        return dict(self.options).get(str(value), str(value))


def _label(locale: str, label: str, label_en: str | None) -> str:
    """An admin-written label: the English one for English readers when there is one."""
    return label_en if locale == "en" and label_en else label


def custom_field_views(page: WebPage, record_kind: str) -> list[CustomFieldView]:
    """The custom fields of ``record_kind`` in display order (archived ones too: old values show);
    none for a role that may not read their definitions."""
    if not page.actor.can("custom_field", Action.READ):
        return []
    definitions: list[CustomFieldOut] = customers.list_custom_fields(page.uow(), page.actor, record_kind)
    return [
        CustomFieldView(
            key=definition.key,
            label=_label(page.locale, definition.label, definition.label_en),
            kind=definition.kind.value,
            options=tuple(
                (option.value, _label(page.locale, option.label, option.label_en))
                for option in definition.options
            ),
            help_text=definition.help_text,
            is_required=definition.is_required,
            is_active=definition.is_active,
        )
        for definition in definitions
    ]


# ---------------------------------------------------------------- choices


@dataclass
class Choices:
    """Everything the selects of the record pages offer, translated for the reader."""

    industries: list[tuple[str, str]]
    operating_statuses: list[tuple[str, str]]
    sources: list[tuple[str, str]]
    genders: list[tuple[str, str]]
    point_labels: list[tuple[str, str]]
    users: list[tuple[str, str]]
    teams: list[tuple[str, str]]
    tags: list[tuple[str, str, str]]  # (id, name, colour)
    user_names: dict[str, str] = field(default_factory=dict)
    team_names: dict[str, str] = field(default_factory=dict)

    @property
    def tag_choices(self) -> list[tuple[str, str]]:
        return [(tag_id, name) for tag_id, name, _ in self.tags]


def choices(page: WebPage) -> Choices:
    translate = page.translator.choices
    users = auth.user_choices(page.uow(), page.actor)
    team_list = [(team.id, team.name) for team in teams(page)]
    tag_list = customers.list_tags(page.uow(), page.actor) if page.actor.can("tag", Action.READ) else []
    return Choices(
        industries=translate(INDUSTRY_NAMES),
        operating_statuses=translate(OPERATING_STATUS_NAMES),
        sources=translate(SOURCE_NAMES),
        genders=translate(GENDER_NAMES),
        point_labels=translate(CONTACT_POINT_LABEL_NAMES),
        users=users,
        teams=team_list,
        tags=[(tag.id, tag.name, tag.colour) for tag in tag_list],
        user_names=dict(users),
        team_names=dict(team_list),
    )


def account_choices(page: WebPage, *, include: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Accounts the reader may read, by name, for the account pickers; ``include`` adds
    accounts a record already points at, so a form never drops them."""
    if not page.actor.can("account", Action.READ):
        return list(include)
    found = customers.list_accounts(
        page.uow(), page.actor, ListQuery(sort="name"), limit=ACCOUNT_PICKER_SIZE, cursor=None
    )
    listed = [(account.id, account.name) for account in found.items]
    known = {account_id for account_id, _ in listed}
    extra = [(account_id, name) for account_id, name in include if account_id and account_id not in known]
    return sorted([*listed, *extra], key=lambda pair: pair[1])


# ---------------------------------------------------------------- showing values


def readable_phone(e164: str) -> str:
    """A stored phone number as people write it: "138 1234 5678" at home, "+1 415-555-0100" abroad."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    is_domestic = number.country_code == 86
    return phonenumbers.format_number(
        number,
        phonenumbers.PhoneNumberFormat.NATIONAL
        if is_domestic
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    )


def is_masked(record: Any, name: str) -> bool:
    """Whether the reader's clearance hides ``name`` (``custom_fields.<key>`` for custom fields)."""
    return name in (record.masked_fields or [])


def may(actor: Actor, record: Any, kind: str, action: Action) -> bool:
    """Whether the reader may ``action`` this record (scope of owner and team)."""
    return can_reach_record(actor, kind, action, owner_id=record.owner_id, team_id=record.team_id)


def detail_context(
    request: Request, page: WebPage, kind: RecordKindPages, record: AccountOut | ContactOut
) -> dict[str, Any]:
    """What the detail pages of both kinds show besides their own fields: the record under its
    kind's name and as ``record`` (the tabs and the shared parts read that), custom fields (archived
    ones only where the record has a value), ownership, what the reader may do, and the possible
    duplicates of a record just created."""
    offered = choices(page)
    return {
        "kind": kind,
        "record_kind": kind.kind,
        "record": record,
        kind.kind: record,
        "custom_fields": [
            field
            for field in custom_field_views(page, kind.kind)
            if field.is_active or field.key in record.custom_fields
        ],
        "source_names": SOURCE_NAMES,
        "point_labels": dict(offered.point_labels),
        "choices": offered,
        "team_name": offered.team_names.get(record.team_id or "", ""),
        "may_update": may(page.actor, record, kind.kind, Action.UPDATE),
        "may_delete": may(page.actor, record, kind.kind, Action.DELETE),
        "is_masked": is_masked,
        "phone_text": readable_phone,
        "duplicates": possible_duplicates(request),
        "reason_names": DUPLICATE_REASON_NAMES,
    }


def history_value(value: Any) -> str:
    """A value of the field history as text: lists joined, empty as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
