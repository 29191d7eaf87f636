"""The customers module's use cases — the only entry other modules, the API, pages, imports and
jobs use (``from loopcrm.modules.customers import service as customers``)."""

from loopcrm.modules.customers.service.accounts import (
    add_relationship,
    child_accounts,
    create_account,
    delete_account,
    get_account,
    list_relationships,
    remove_relationship,
    restore_account,
    update_account,
)
from loopcrm.modules.customers.service.bulk import run_bulk_action
from loopcrm.modules.customers.service.contacts import (
    create_contact,
    delete_contact,
    get_contact,
    restore_contact,
    update_contact,
)
from loopcrm.modules.customers.service.custom_fields import (
    create_custom_field,
    get_custom_field,
    list_custom_fields,
    update_custom_field,
)
from loopcrm.modules.customers.service.duplicates import (
    DuplicateCandidate,
    DuplicateReason,
    DuplicateScan,
    candidate_from_input,
    duplicates_of,
    find_duplicates,
    find_duplicates_of_many,
    scan_duplicates,
)
from loopcrm.modules.customers.service.feeds import (
    accounts_of_groups,
    contacts_changed_since,
    contacts_having,
    create_contact_in,
)
from loopcrm.modules.customers.service.history import field_history
from loopcrm.modules.customers.service.listing import account_names_in, list_accounts, list_contacts
from loopcrm.modules.customers.service.merge import (
    get_merge,
    list_merges,
    merge_preview,
    merge_records,
    undo_merge,
)
from loopcrm.modules.customers.service.object_types import ACCOUNT, CONTACT, CUSTOM_FIELD, TAG
from loopcrm.modules.customers.service.saved_views import delete_view, list_views, save_view
from loopcrm.modules.customers.service.search import search_customers
from loopcrm.modules.customers.service.tags import create_tag, delete_tag, list_tags, tag_usage, update_tag
from loopcrm.modules.customers.service.timeline import timeline, timeline_subjects

__all__ = [
    "ACCOUNT",
    "CONTACT",
    "CUSTOM_FIELD",
    "TAG",
    "DuplicateCandidate",
    "DuplicateReason",
    "DuplicateScan",
    "account_names_in",
    "accounts_of_groups",
    "add_relationship",
    "candidate_from_input",
    "child_accounts",
    "contacts_changed_since",
    "contacts_having",
    "create_account",
    "create_contact",
    "create_contact_in",
    "create_custom_field",
    "create_tag",
    "delete_account",
    "delete_contact",
    "delete_tag",
    "delete_view",
    "duplicates_of",
    "field_history",
    "find_duplicates",
    "find_duplicates_of_many",
    "get_account",
    "get_contact",
    "get_custom_field",
    "get_merge",
    "list_accounts",
    "list_contacts",
    "list_custom_fields",
    "list_merges",
    "list_relationships",
    "list_tags",
    "list_views",
    "merge_preview",
    "merge_records",
    "remove_relationship",
    "restore_account",
    "restore_contact",
    "run_bulk_action",
    "save_view",
    "scan_duplicates",
    "search_customers",
    "tag_usage",
    "timeline",
    "timeline_subjects",
    "undo_merge",
    "update_account",
    "update_contact",
    "update_custom_field",
    "update_tag",
]
