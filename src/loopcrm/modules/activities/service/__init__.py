"""Use cases of the activities module, as one facade for entry points and other modules.

Other modules import this package (``from loopcrm.modules.activities import service as
activities``) and its ``schemas``, nothing else of the module. The pieces:

* ``registry``: :func:`register_subject_type` (records activities can be linked to, each with a
  resolver that checks the reader may read it) and :func:`register_timeline_source` (other
  modules' entries on the timeline);
* ``records``: log, read, list, change, complete, delete activities; send an email over SMTP;
* ``timeline``: :func:`timeline` (no access check: the caller's) and :func:`record_timeline`;
* ``agenda``: :func:`my_tasks`, :func:`overdue_tasks`, :func:`calendar`;
* ``merging``: :func:`reassign_links` and :func:`restore_links` for merging duplicates, inside
  the caller's open unit of work;
* ``scheduling``: reminders, due notifications and outgoing email, run by the jobs in ``jobs.py``
  (which must be imported before these are enqueued: ``loopcrm.app.register_tasks()`` does it);
* ``panels``: :func:`timeline_section` and :func:`log_panel`, the data of the templates other
  modules' pages include;
* ``demo``: :func:`load_demo_activities`.
"""

from loopcrm.modules.activities.service.agenda import calendar, my_tasks, overdue_tasks
from loopcrm.modules.activities.service.content import mentioned_emails, sanitize_note_html
from loopcrm.modules.activities.service.demo import load_demo_activities
from loopcrm.modules.activities.service.merging import count_links, reassign_links, restore_links
from loopcrm.modules.activities.service.panels import (
    DIRECTION_NAMES,
    KIND_LABELS,
    KIND_NAMES,
    LOG_FIELDS,
    OUTCOME_NAMES,
    PRIORITY_NAMES,
    STATE_NAMES,
    STATUS_NAMES,
    LogPanel,
    TimelineSection,
    initial_values,
    log_panel,
    subject_refs,
    timeline_kinds,
    timeline_section,
)
from loopcrm.modules.activities.service.records import (
    complete_task,
    delete_activity,
    get_activity,
    list_activities,
    log_activity,
    may_change,
    may_complete,
    send_email,
    update_activity,
)
from loopcrm.modules.activities.service.registry import (
    ACTIVITY,
    SubjectRef,
    SubjectResolver,
    TimelineSource,
    parse_subject,
    register_subject_type,
    register_timeline_source,
    resolve_subject,
    subject_types,
)
from loopcrm.modules.activities.service.timeline import MAX_TIMELINE_SUBJECTS, record_timeline, timeline

__all__ = [
    "ACTIVITY",
    "DIRECTION_NAMES",
    "KIND_LABELS",
    "KIND_NAMES",
    "LOG_FIELDS",
    "MAX_TIMELINE_SUBJECTS",
    "OUTCOME_NAMES",
    "PRIORITY_NAMES",
    "STATE_NAMES",
    "STATUS_NAMES",
    "LogPanel",
    "SubjectRef",
    "SubjectResolver",
    "TimelineSection",
    "TimelineSource",
    "calendar",
    "complete_task",
    "count_links",
    "delete_activity",
    "get_activity",
    "initial_values",
    "list_activities",
    "load_demo_activities",
    "log_activity",
    "log_panel",
    "may_change",
    "may_complete",
    "mentioned_emails",
    "my_tasks",
    "overdue_tasks",
    "parse_subject",
    "reassign_links",
    "record_timeline",
    "register_subject_type",
    "register_timeline_source",
    "resolve_subject",
    "restore_links",
    "sanitize_note_html",
    "send_email",
    "subject_refs",
    "subject_types",
    "timeline",
    "timeline_kinds",
    "timeline_section",
    "update_activity",
]
