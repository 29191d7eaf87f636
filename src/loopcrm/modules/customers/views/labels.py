"""What the pages call the customers module's values and fields, as English msgids.

The vocabularies are declared once in ``models`` (industry, status, source, …); the names of
their values live in ``service.value_names`` (the exports use them too), and this file names the
fields and the remaining values the pages show, translated per render. Every key of each map
is checked against its enum by the tests, so a new value cannot go unnamed.
"""

from __future__ import annotations

# Re-exported: the pages take every name from here.
from loopcrm.modules.customers.service.value_names import GENDER_NAMES as GENDER_NAMES
from loopcrm.modules.customers.service.value_names import INDUSTRY_NAMES as INDUSTRY_NAMES
from loopcrm.modules.customers.service.value_names import OPERATING_STATUS_NAMES as OPERATING_STATUS_NAMES
from loopcrm.modules.customers.service.value_names import SOURCE_NAMES as SOURCE_NAMES
from loopcrm.platform.i18n import N_

# Read "<this account> <kind> <the other account>".
RELATIONSHIP_NAMES = {
    "customer_of": N_("is a customer of"),
    "partner_of": N_("is a partner of"),
    "supplier_of": N_("is a supplier of"),
    "competitor_of": N_("is a competitor of"),
}
# The same relationship read from the other account: "<this account> <inverse> <the other>".
RELATIONSHIP_INVERSE_NAMES = {
    "customer_of": N_("has as customer"),
    "partner_of": N_("is a partner of"),
    "supplier_of": N_("has as supplier"),
    "competitor_of": N_("is a competitor of"),
}

CONTACT_POINT_LABEL_NAMES = {
    "mobile": N_("Mobile"),
    "work": N_("Work"),
    "home": N_("Home (label)"),
    "fax": N_("Fax"),
    "other": N_("Other"),
}

OPERATOR_NAMES = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "contains": N_("contains"),
    "starts_with": N_("starts with"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "in": N_("is one of (comma-separated)"),
    "empty": N_("is empty"),
    "not_empty": N_("is not empty"),
}

BULK_ACTION_NAMES = {
    "assign_owner": N_("Assign owner"),
    "add_tags": N_("Add tag"),
    "remove_tags": N_("Remove tag"),
    "delete": N_("Delete"),
}

# Fields both kinds of record have.
_COMMON_FIELD_NAMES = {
    "province": N_("Province"),
    "city": N_("City"),
    "address": N_("Address"),
    "source": N_("Source"),
    "owner_id": N_("Owner"),
    "team_id": N_("Team"),
    "external_id": N_("External id"),
    "description": N_("Description"),
    "phones": N_("Phones"),
    "emails": N_("Emails"),
    "tag": N_("Tag"),
    "tags": N_("Tags"),
    "created_at": N_("Created"),
    "updated_at": N_("Last changed"),
    "deleted_at": N_("Deleted"),
    "relationships": N_("Relationships"),
}

ACCOUNT_FIELD_NAMES = {
    "name": N_("Account name"),
    "name_en": N_("English name"),
    "credit_code": N_("Unified social credit code"),
    "industry": N_("Industry"),
    "employee_count": N_("Employees"),
    "annual_revenue": N_("Annual revenue"),
    "website": N_("Website"),
    "domain": N_("Domain"),
    "legal_representative": N_("Legal representative"),
    "operating_status": N_("Operating status"),
    "parent_id": N_("Parent account"),
    **_COMMON_FIELD_NAMES,
}

CONTACT_FIELD_NAMES = {
    "full_name": N_("Full name"),
    "family_name": N_("Family name"),
    "given_name": N_("Given name"),
    "name_pinyin": N_("Pinyin"),
    "gender": N_("Gender"),
    "title": N_("Job title"),
    "department": N_("Department"),
    "wechat_id": N_("WeChat ID"),
    "birthday": N_("Birthday"),
    "email_opt_in": N_("Email marketing allowed"),
    "sms_opt_in": N_("SMS marketing allowed"),
    "wechat_opt_in": N_("WeChat marketing allowed"),
    "account_id": N_("Works at"),
    "employments": N_("Employment"),
    **_COMMON_FIELD_NAMES,
}

# Fields the filter bar offers, in the order of its select (custom fields follow). Derived and
# internal keys (domain, pinyin, created_at) stay filterable through the URL but are not offered.
ACCOUNT_FILTER_FIELDS = (
    "name",
    "name_en",
    "credit_code",
    "industry",
    "operating_status",
    "employee_count",
    "annual_revenue",
    "province",
    "city",
    "website",
    "legal_representative",
    "source",
    "owner_id",
    "team_id",
    "tag",
    "phones",
    "emails",
    "external_id",
    "created_at",
    "updated_at",
)
CONTACT_FILTER_FIELDS = (
    "full_name",
    "family_name",
    "given_name",
    "title",
    "department",
    "gender",
    "province",
    "city",
    "address",
    "birthday",
    "wechat_id",
    "source",
    "owner_id",
    "team_id",
    "tag",
    "phones",
    "emails",
    "email_opt_in",
    "sms_opt_in",
    "wechat_opt_in",
    "external_id",
    "created_at",
    "updated_at",
)

# Why a record looks like another one (DuplicateMatch.reasons).
DUPLICATE_REASON_NAMES = {
    "email": N_("same email"),
    "phone": N_("same phone"),
    "credit_code": N_("same credit code"),
    "external_id": N_("same external id"),
    "similar_name": N_("similar name in the same city"),
}
