"""The standard columns of accounts and contacts, as exports write them and lists show them.

One definition for both, so "export this view" gives exactly the columns the list shows: the
export (``exports``) formats them and the list (``list_columns``) offers them to readers by
clearance. It stands on its own because the export reads saved views, which check columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopcrm.modules.customers.service.value_names import (
    GENDER_NAMES,
    INDUSTRY_NAMES,
    OPERATING_STATUS_NAMES,
    SOURCE_NAMES,
)
from loopcrm.platform.i18n import N_


@dataclass(frozen=True)
class Column:
    """One exported column: its key (as list views name fields), header msgid, and the masked
    field deciding whether the reader may see it."""

    key: str
    header: str
    value: Callable[[Any], Any]
    field: str | None = None  # the field whose masking empties the column (default: the key)
    names: dict[str, str] | None = None  # stored value → msgid of its name

    @property
    def masked_field(self) -> str:
        return self.field or self.key


def _joined(points: Any) -> str:
    return "; ".join(point.value for point in points or [])


_COMMON_COLUMNS = (
    Column("phones", N_("Phones"), lambda r: _joined(r.phones)),
    Column("emails", N_("Emails"), lambda r: _joined(r.emails)),
    Column("province", N_("Province"), lambda r: r.province),
    Column("city", N_("City"), lambda r: r.city),
    Column("address", N_("Address"), lambda r: r.address),
    Column("source", N_("Source"), lambda r: r.source, names=SOURCE_NAMES),
    Column("owner_id", N_("Owner"), lambda r: r.owner_name),
    Column("external_id", N_("External id"), lambda r: r.external_id),
    Column("tags", N_("Tags"), lambda r: ", ".join(tag.name for tag in r.tags)),
    Column("description", N_("Description"), lambda r: r.description),
    Column("created_at", N_("Created"), lambda r: r.created_at),
    Column("updated_at", N_("Last changed"), lambda r: r.updated_at),
)
ACCOUNT_COLUMNS = (
    Column("name", N_("Account name"), lambda r: r.name),
    Column("name_en", N_("English name"), lambda r: r.name_en),
    Column("credit_code", N_("Unified social credit code"), lambda r: r.credit_code),
    Column("industry", N_("Industry"), lambda r: r.industry, names=INDUSTRY_NAMES),
    Column("employee_count", N_("Employees"), lambda r: r.employee_count),
    Column("annual_revenue", N_("Annual revenue"), lambda r: r.annual_revenue),
    Column("website", N_("Website"), lambda r: r.website),
    Column("legal_representative", N_("Legal representative"), lambda r: r.legal_representative),
    Column(
        "operating_status", N_("Operating status"), lambda r: r.operating_status, names=OPERATING_STATUS_NAMES
    ),
    Column("parent_id", N_("Parent account"), lambda r: r.parent_name),
    *_COMMON_COLUMNS,
)
CONTACT_COLUMNS = (
    Column("full_name", N_("Full name"), lambda r: r.full_name),
    Column("family_name", N_("Family name"), lambda r: r.family_name),
    Column("given_name", N_("Given name"), lambda r: r.given_name),
    Column("gender", N_("Gender"), lambda r: r.gender, names=GENDER_NAMES),
    Column(
        "account_id",
        N_("Company"),
        lambda r: ", ".join(job.account_name for job in r.employments if job.ended_on is None),
        field="employments",
    ),
    Column("title", N_("Job title"), lambda r: r.title),
    Column("department", N_("Department"), lambda r: r.department),
    Column("wechat_id", N_("WeChat id"), lambda r: r.wechat_id),
    Column("birthday", N_("Birthday"), lambda r: r.birthday),
    Column("email_opt_in", N_("Email marketing allowed"), lambda r: r.email_opt_in),
    Column("sms_opt_in", N_("SMS marketing allowed"), lambda r: r.sms_opt_in),
    Column("wechat_opt_in", N_("WeChat marketing allowed"), lambda r: r.wechat_opt_in),
    *_COMMON_COLUMNS,
)
# Other names a client may give a column (the filters' ``tag``, the export's ``owner``…); a saved
# view stores the column's own key.
ALIASES = {
    "owner": "owner_id",
    "owner_name": "owner_id",
    "parent": "parent_id",
    "tag": "tags",
    "company": "account_id",
}
