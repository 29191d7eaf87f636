"""The leads area's use cases — the only entry other areas, the API, the pages and jobs use
(``from loopcrm.modules.sales.leads import service as leads``).

* ``records``: create, read, change, disqualify, delete, list and reassign leads;
* ``scoring``: rule-based lead scores and their rules;
* ``capture``: public web forms (honeypot, rate limit, thank-you);
* ``imports``: CSV / XLSX imports with a report of rejected rows, upserting by email or phone;
* ``conversion``: matching accounts and contacts, and converting in one transaction;
* ``registrations``: the ``lead`` subject type of activities and the open-lead counter of
  assignment, registered when this package is imported.
"""

from loopcrm.modules.sales.leads.service import registrations
from loopcrm.modules.sales.leads.service.access import LEAD, LEAD_SETTINGS
from loopcrm.modules.sales.leads.service.capture import (
    FORMS_PATH,
    HONEYPOT_FIELD,
    create_form,
    get_form,
    list_forms,
    public_form,
    public_path,
    submit_form,
    update_form,
)
from loopcrm.modules.sales.leads.service.conversion import conversion_candidates, convert_lead
from loopcrm.modules.sales.leads.service.imports import (
    get_import,
    import_leads,
    list_imports,
    rejected_rows_csv,
)
from loopcrm.modules.sales.leads.service.records import (
    bulk_assign,
    count_open_leads,
    create_lead,
    delete_lead,
    disqualify_lead,
    get_lead,
    list_leads,
    score_breakdown,
    update_lead,
)
from loopcrm.modules.sales.leads.service.scoring import (
    RESCORE_TASK,
    create_rule,
    delete_rule,
    list_rules,
    rescore_open_leads,
    update_rule,
)

SUBJECT_TYPE = registrations.SUBJECT_TYPE

__all__ = [
    "FORMS_PATH",
    "HONEYPOT_FIELD",
    "LEAD",
    "LEAD_SETTINGS",
    "RESCORE_TASK",
    "SUBJECT_TYPE",
    "bulk_assign",
    "conversion_candidates",
    "convert_lead",
    "count_open_leads",
    "create_form",
    "create_lead",
    "create_rule",
    "delete_lead",
    "delete_rule",
    "disqualify_lead",
    "get_form",
    "get_import",
    "get_lead",
    "import_leads",
    "list_forms",
    "list_imports",
    "list_leads",
    "list_rules",
    "public_form",
    "public_path",
    "rejected_rows_csv",
    "rescore_open_leads",
    "score_breakdown",
    "submit_form",
    "update_form",
    "update_lead",
    "update_rule",
]
