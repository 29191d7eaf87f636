"""Reading the activity forms: text inputs into the service's input schemas.

Inputs are named by their path in the schema (``task.assignee_id``, ``meeting.ends_at``), so an
error of the schema or the service lands under the input it concerns. Times come from
``datetime-local`` inputs and are read in the reader's time zone.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from loopcrm.modules.activities import service as activities
from loopcrm.modules.activities.models import ActivityKind
from loopcrm.modules.activities.schemas import ActivityCreate, ActivityOut, ActivityUpdate, EmailSend
from loopcrm.platform.i18n import N_, Translator
from loopcrm.platform.timestamps import time_zone
from loopcrm.platform.web.forms import FormState, pydantic_message

_ADDRESS_SEPARATORS = re.compile(r"[,;，；\s]+")
_DURATION = re.compile(r"^(\d{1,4})(?::([0-5]?\d))?$")


class FormProblems(Exception):
    """The form has errors already added to its state; nothing was sent to the service."""


def local_input(moment: datetime | None, timezone: str) -> str:
    """A stored moment as a ``datetime-local`` value in the reader's time zone."""
    if moment is None:
        return ""
    return moment.astimezone(time_zone(timezone)).strftime("%Y-%m-%dT%H:%M")


def read_moment(state: FormState, name: str, timezone: str, translator: Translator) -> datetime | None:
    """The moment typed into ``name`` (reader's time zone) in UTC; an error under the input if it
    is not one."""
    text = state.text(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        state.add_error(name, translator.gettext(N_("Enter a date and time")))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=time_zone(timezone))
    return moment.astimezone(UTC)


def read_addresses(state: FormState, name: str) -> list[str]:
    return [address for address in _ADDRESS_SEPARATORS.split(state.text(name)) if address]


def read_duration(state: FormState, name: str, translator: Translator) -> int | None:
    """Minutes (``5``) or minutes and seconds (``5:30``) as seconds."""
    text = state.text(name).replace("：", ":")
    if not text:
        return None
    match = _DURATION.match(text)
    if match is None:
        state.add_error(name, translator.gettext(N_("Enter minutes, or minutes:seconds such as 5:30")))
        return None
    return int(match.group(1)) * 60 + int(match.group(2) or 0)


def read_links(state: FormState) -> list[dict[str, str]]:
    """The hidden ``subject_type`` / ``subject_id`` pairs the panel carries."""
    return [
        {"subject_type": subject_type, "subject_id": subject_id}
        for subject_type, subject_id in zip(
            state.values_of("subject_type"), state.values_of("subject_id"), strict=False
        )
        if subject_type and subject_id
    ]


def _attendee_records(state: FormState) -> list[dict[str, str]]:
    records = []
    for value in state.values_of("meeting.attendee_records"):
        subject_type, _, subject_id = value.partition(":")
        if subject_type and subject_id:
            records.append({"subject_type": subject_type, "subject_id": subject_id})
    return records


def _details(kind: str, state: FormState, timezone: str, translator: Translator) -> dict[str, Any]:
    """The kind's details as the schema takes them (``None`` values are left for the schema to judge)."""
    if kind == ActivityKind.CALL:
        return {
            "call": {
                "direction": state.optional("call.direction"),
                "outcome": state.optional("call.outcome"),
                "duration_seconds": read_duration(state, "call.duration_seconds", translator),
            }
        }
    if kind == ActivityKind.MEETING:
        return {
            "meeting": {
                "ends_at": read_moment(state, "meeting.ends_at", timezone, translator),
                "location": state.text("meeting.location"),
                "attendee_user_ids": [
                    value for value in state.values_of("meeting.attendee_user_ids") if value
                ],
                "attendee_records": _attendee_records(state),
            }
        }
    if kind == ActivityKind.EMAIL:
        return {
            "email": {
                "from_address": state.optional("email.from_address"),
                "to": read_addresses(state, "email.to"),
                "cc": read_addresses(state, "email.cc"),
            }
        }
    if kind == ActivityKind.TASK:
        return {
            "task": {
                "assignee_id": state.optional("task.assignee_id"),
                "priority": state.optional("task.priority") or "normal",
                "reminder_at": read_moment(state, "task.reminder_at", timezone, translator),
            }
        }
    return {}


def creation(state: FormState, timezone: str, translator: Translator) -> ActivityCreate | EmailSend:
    """The service input a filled "log activity" form asks for: an activity to log, or an email
    to send. Raises :class:`FormProblems` (errors added to ``state``) or pydantic's ``ValidationError``."""
    kind = state.text("kind") or ActivityKind.NOTE.value
    links = read_links(state)
    data: dict[str, Any]
    if kind == ActivityKind.EMAIL and state.value("email.mode", "send") == "send":
        data = {
            "subject": state.text("subject"),
            "body": state.text("body"),
            "to": read_addresses(state, "email.to"),
            "cc": read_addresses(state, "email.cc"),
            "links": links,
        }
        if state.has_errors:
            raise FormProblems()
        try:
            return EmailSend.model_validate(data)
        except ValidationError as error:
            for issue in error.errors(include_url=False):
                location = [str(part) for part in issue.get("loc", ())]
                if location and location[0] in ("to", "cc"):
                    location = ["email", *location]
                state.add_error(".".join(location), pydantic_message(issue, translator))
            raise FormProblems() from None
    occurred_at = read_moment(state, "occurred_at", timezone, translator)
    data = {
        "kind": kind,
        "subject": state.optional("subject"),
        "body": state.value("body"),
        "occurred_at": occurred_at,
        "links": links,
        **_details(kind, state, timezone, translator),
    }
    if state.has_errors:
        raise FormProblems()
    return ActivityCreate.model_validate(data)


def change(activity: ActivityOut, state: FormState, timezone: str, translator: Translator) -> ActivityUpdate:
    """The changes an edit form asks for (every input of the activity's kind is on the form)."""
    kind = activity.kind
    data: dict[str, Any] = {
        "subject": state.optional("subject"),
        "body": state.value("body"),
        "occurred_at": read_moment(state, "occurred_at", timezone, translator),
    }
    details = _details(kind, state, timezone, translator)
    if kind == ActivityKind.MEETING:
        details["meeting"].pop("attendee_records")  # the records attending are kept as they are
    if kind == ActivityKind.TASK:
        details["task"]["status"] = state.optional("task.status")
    if kind == ActivityKind.EMAIL and activity.email is not None and activity.email.delivery != "logged":
        details = {}  # a sent email's addresses are history
    data.update(details)
    if data["occurred_at"] is None:
        data.pop("occurred_at")
    if state.has_errors:
        raise FormProblems()
    return ActivityUpdate.model_validate(data)


def edit_values(activity: ActivityOut, timezone: str) -> dict[str, Any]:
    """An activity as its edit form shows it."""
    values: dict[str, Any] = {
        "kind": activity.kind.value,
        "subject": activity.subject,
        "body": _editable_body(activity),
        "occurred_at": local_input(activity.occurred_at, timezone),
        "version": activity.version,
    }
    if activity.call is not None:
        seconds = activity.call.duration_seconds
        values.update(
            {
                "call.direction": activity.call.direction.value,
                "call.outcome": activity.call.outcome.value,
                "call.duration_seconds": "" if seconds is None else f"{seconds // 60}:{seconds % 60:02d}",
            }
        )
    if activity.meeting is not None:
        values.update(
            {
                "meeting.ends_at": local_input(activity.meeting.ends_at, timezone),
                "meeting.location": activity.meeting.location,
                "meeting.attendee_user_ids": activity.meeting.attendee_user_ids,
            }
        )
    if activity.email is not None:
        values.update(
            {
                "email.mode": "log",
                "email.from_address": activity.email.from_address or "",
                "email.to": ", ".join(activity.email.to),
                "email.cc": ", ".join(activity.email.cc),
            }
        )
    if activity.task is not None:
        values.update(
            {
                "task.assignee_id": activity.task.assignee_id,
                "task.priority": activity.task.priority.value,
                "task.status": activity.task.status.value,
                "task.reminder_at": local_input(activity.task.reminder_at, timezone),
            }
        )
    return values


_PLAIN_PARAGRAPHS = re.compile(r"^(<p>(?:(?!</?(?!br>)[a-z]).)*?</p>)*$", re.DOTALL)


def _editable_body(activity: ActivityOut) -> str:
    """A note's text to edit: plain text when it is only paragraphs and line breaks (as typed in
    the form), its HTML when it has formatting to keep."""
    if activity.kind != ActivityKind.NOTE:
        return activity.body
    if _PLAIN_PARAGRAPHS.match(activity.body):
        return html.unescape(
            "\n\n".join(
                paragraph.replace("<br>", "\n")
                for paragraph in re.findall(r"<p>(.*?)</p>", activity.body, re.DOTALL)
            )
        )
    return activity.body


EDIT_FIELDS = (*activities.LOG_FIELDS, "version")
