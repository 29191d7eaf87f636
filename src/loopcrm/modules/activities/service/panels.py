"""What the activity parts of other modules' pages need: a timeline section and a "log activity"
panel, as data for the templates ``activities/timeline.html`` and ``activities/log_panel.html``.

A customers detail page does, in its view::

    from loopcrm.modules.activities import service as activities

    subjects = [("contact", contact.id)]
    context["timeline"] = activities.timeline_section(
        page.uow(), page.actor, subjects, kinds=request.query_params.getlist("kind") or None
    )
    context["activity_panel"] = activities.log_panel(
        page.uow(), page.actor, subjects, next_path=f"/customers/contacts/{contact.id}"
    )

and in its template ``{% include "activities/timeline.html" %}`` and
``{% include "activities/log_panel.html" %}`` (they read ``timeline`` and ``activity_panel``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from loopcrm.modules.activities.models import (
    ActivityKind,
    CallDirection,
    CallOutcome,
    TaskPriority,
    TaskStatus,
)
from loopcrm.modules.activities.schemas import TimelineEntry
from loopcrm.modules.activities.service.registry import SubjectRef, resolve_subject, timeline_sources
from loopcrm.modules.activities.service.timeline import record_timeline, timeline
from loopcrm.platform.auth import service as auth
from loopcrm.platform.errors import NotFound
from loopcrm.platform.i18n import N_
from loopcrm.platform.permissions import Actor
from loopcrm.platform.unit_of_work import UnitOfWork

# A timeline section shows this many entries, then "load more".
TIMELINE_PAGE_SIZE = 20

KIND_NAMES: dict[str, str] = {
    ActivityKind.NOTE.value: N_("Notes"),
    ActivityKind.CALL.value: N_("Calls"),
    ActivityKind.MEETING.value: N_("Meetings"),
    ActivityKind.EMAIL.value: N_("Email messages"),
    ActivityKind.TASK.value: N_("Tasks"),
}
KIND_LABELS: dict[str, str] = {
    ActivityKind.NOTE.value: N_("Note"),
    ActivityKind.CALL.value: N_("Call"),
    ActivityKind.MEETING.value: N_("Meeting"),
    ActivityKind.EMAIL.value: N_("Email message"),
    ActivityKind.TASK.value: N_("Task"),
}
DIRECTION_NAMES: dict[str, str] = {
    CallDirection.OUTBOUND.value: N_("Outbound"),
    CallDirection.INBOUND.value: N_("Inbound"),
}
OUTCOME_NAMES: dict[str, str] = {
    CallOutcome.CONNECTED.value: N_("Connected"),
    CallOutcome.NO_ANSWER.value: N_("No answer"),
    CallOutcome.BUSY.value: N_("Busy"),
    CallOutcome.VOICEMAIL.value: N_("Voicemail"),
    CallOutcome.WRONG_NUMBER.value: N_("Wrong number"),
}
PRIORITY_NAMES: dict[str, str] = {
    TaskPriority.LOW.value: N_("Low"),
    TaskPriority.NORMAL.value: N_("Normal"),
    TaskPriority.HIGH.value: N_("High"),
    TaskPriority.URGENT.value: N_("Urgent"),
}
STATUS_NAMES: dict[str, str] = {
    TaskStatus.OPEN.value: N_("Open"),
    TaskStatus.IN_PROGRESS.value: N_("In progress"),
    TaskStatus.DONE.value: N_("Done"),
    TaskStatus.CANCELLED.value: N_("Cancelled"),
}
# Every state set's names by set, as the templates look them up: names.priority["high"].
STATE_NAMES: dict[str, dict[str, str]] = {
    "kind": KIND_LABELS,
    "kinds": KIND_NAMES,
    "direction": DIRECTION_NAMES,
    "outcome": OUTCOME_NAMES,
    "priority": PRIORITY_NAMES,
    "status": STATUS_NAMES,
}

# The inputs of the log form, named by their path in ActivityCreate so errors land under them.
LOG_FIELDS = (
    "kind",
    "subject",
    "body",
    "occurred_at",
    "call.direction",
    "call.outcome",
    "call.duration_seconds",
    "meeting.ends_at",
    "meeting.location",
    "meeting.attendee_user_ids",
    "meeting.attendee_records",
    "email.mode",
    "email.from_address",
    "email.to",
    "email.cc",
    "task.assignee_id",
    "task.priority",
    "task.status",
    "task.reminder_at",
    "links",
)


@dataclass(frozen=True)
class TimelineSection:
    """One page of a timeline and how to get the next: what ``activities/timeline.html`` shows.

    ``base_path`` answers with more of this timeline as HTML fragments; by default the module's
    own ``/activities/timeline`` route, which checks the reader may read every record in it.
    """

    entries: list[TimelineEntry]
    next_cursor: str | None
    kinds: list[tuple[str, str]]  # (kind, English msgid of its name) for the filter chips
    selected_kinds: frozenset[str]
    base_path: str
    element_id: str = "timeline"

    def path(self, *, cursor: str | None = None, kinds: Collection[str] | None = None, fragment: str) -> str:
        """``base_path`` with a page position, a kind selection and which fragment to answer."""
        chosen = self.selected_kinds if kinds is None else kinds
        query: list[tuple[str, str]] = [("kind", kind) for kind in sorted(chosen)]
        if cursor:
            query.append(("cursor", cursor))
        query.append(("fragment", fragment))
        separator = "&" if "?" in self.base_path else "?"
        return f"{self.base_path}{separator}{urlencode(query)}"

    def toggled(self, kind: str) -> frozenset[str]:
        return self.selected_kinds ^ {kind}

    @property
    def names(self) -> dict[str, dict[str, str]]:
        return STATE_NAMES


def timeline_kinds() -> list[tuple[str, str]]:
    """Every kind a timeline can show: the activity kinds, then those of registered sources."""
    kinds = list(KIND_NAMES.items())
    for registered in timeline_sources():
        kinds += [(kind, name) for kind, name in registered.kinds.items() if kind not in KIND_NAMES]
    return kinds


def default_base_path(subjects: Sequence[tuple[str, str]]) -> str:
    return "/activities/timeline?" + urlencode([("subject", f"{kind}:{record}") for kind, record in subjects])


def timeline_section(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    kinds: Collection[str] | None = None,
    cursor: str | None = None,
    limit: int = TIMELINE_PAGE_SIZE,
    base_path: str | None = None,
    element_id: str = "timeline",
    check_access: bool = False,
) -> TimelineSection:
    """A page of the timeline of ``subjects`` for a page to show (see the module docstring).

    Like :func:`~loopcrm.modules.activities.service.timeline.timeline`, it trusts the caller to
    have checked that the reader may read the records, unless ``check_access`` is set. Pass
    ``base_path`` when the default route would refuse the reader (an account page whose reader
    may read the account but not each of its contacts): that route of yours answers with
    :func:`timeline_section` rendered by ``activities/timeline_fragment.html``.
    """
    known = {kind for kind, _ in timeline_kinds()}
    selected = frozenset(kind for kind in (kinds or ()) if kind in known)
    find = record_timeline if check_access else timeline
    page = find(uow, actor, subjects, kinds=selected or None, limit=limit, cursor=cursor)
    return TimelineSection(
        entries=page.items,
        next_cursor=page.next_cursor,
        kinds=timeline_kinds(),
        selected_kinds=selected,
        base_path=base_path or default_base_path(subjects),
        element_id=element_id,
    )


@dataclass(frozen=True)
class LogPanel:
    """The "log activity" panel: tabs per kind, the form of the chosen kind, where to return.

    ``subjects`` are the records the new activity will be linked to (hidden inputs); contacts
    among them are offered as meeting attendees. The form is the page's to build (the template
    starts one from ``initial_values`` and ``fields`` unless ``form`` brings a refused one back),
    so this service holds data and never imports the web layer.
    """

    subjects: list[SubjectRef]
    next_path: str
    kind: str
    initial_values: dict[str, Any]  # what a fresh form of ``kind`` starts with
    user_choices: list[tuple[str, str]]
    form: object | None = None  # a refused submission's form state, shown again with its errors
    kinds: list[tuple[str, str]] = field(default_factory=lambda: list(KIND_LABELS.items()))
    fields: tuple[str, ...] = LOG_FIELDS

    @property
    def names(self) -> dict[str, dict[str, str]]:
        return STATE_NAMES

    @property
    def contact_choices(self) -> list[tuple[str, str]]:
        return [
            (f"{ref.subject_type}:{ref.subject_id}", ref.label)
            for ref in self.subjects
            if ref.subject_type == "contact"
        ]

    def tab_path(self, kind: str, *, fragment: bool) -> str:
        query: list[tuple[str, str]] = [("kind", kind)]
        for ref in self.subjects:
            query += [("subject_type", ref.subject_type), ("subject_id", ref.subject_id)]
        query.append(("next", self.next_path))
        if fragment:
            query.append(("fragment", "panel"))
        return "/activities/new?" + urlencode(query)


def log_panel(
    uow: UnitOfWork,
    actor: Actor,
    subjects: Sequence[tuple[str, str]],
    *,
    next_path: str,
    kind: str = ActivityKind.NOTE.value,
    form: object | None = None,
) -> LogPanel:
    """The panel for logging an activity on ``subjects`` (records the reader may read; others
    are left out). ``form`` carries a refused submission back with its errors."""
    refs = subject_refs(uow, actor, subjects)
    chosen_kind = kind if kind in KIND_LABELS else ActivityKind.NOTE.value
    users = auth.user_choices(uow, actor)
    return LogPanel(
        subjects=refs,
        next_path=next_path,
        kind=chosen_kind,
        initial_values=initial_values(actor, chosen_kind),
        user_choices=users,
        form=form,
    )


def initial_values(actor: Actor, kind: str) -> dict[str, Any]:
    """What a fresh form of ``kind`` starts with: outbound connected calls, normal priority,
    tasks assigned to the reader, emails sent rather than logged."""
    return {
        "kind": kind,
        "call.direction": CallDirection.OUTBOUND.value,
        "call.outcome": CallOutcome.CONNECTED.value,
        "task.assignee_id": actor.user_id,
        "task.priority": TaskPriority.NORMAL.value,
        "email.mode": "send",
        "email.from_address": actor.label,
    }


def subject_refs(uow: UnitOfWork, actor: Actor, subjects: Sequence[tuple[str, str]]) -> list[SubjectRef]:
    """How to show each record the reader may read; records it may not read are left out."""
    refs: list[SubjectRef] = []
    with uow:
        for subject_type, subject_id in dict.fromkeys(subjects):
            try:
                refs.append(resolve_subject(uow, actor, subject_type, subject_id))
            except NotFound:
                continue
    return refs
