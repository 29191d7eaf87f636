"""HTML forms: the reader's input kept across a failed submit, and each error under its field.

A route builds a :class:`FormState` from the submitted form, builds the service's input schema
from it, and calls the service. A pydantic ``ValidationError`` (schema construction) or a
:class:`~loopcrm.platform.errors.ValidationFailed` (a service rule) becomes messages under the
fields they concern, translated for the reader; the page is rendered again with the input kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from loopcrm.platform.errors import DomainError, StaleVersion, ValidationFailed
from loopcrm.platform.i18n import N_, Translator

# Inputs never sent back to the browser once submitted.
SECRET_INPUTS = frozenset(
    {"password", "current_password", "new_password", "new_password_again", "csrf_token"}
)


@dataclass
class FormState:
    """Values of a form as the reader typed them, and the errors to show.

    ``fields`` names the inputs the page has; an error for any other field is shown at the top
    of the form, so no error is ever dropped.
    """

    values: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # errors that belong to no single field
    fields: frozenset[str] = frozenset()

    @classmethod
    def submitted(cls, form: FormData, fields: Iterable[str]) -> FormState:
        values: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if name in SECRET_INPUTS or not isinstance(value, str):
                continue
            values.setdefault(name, []).append(value)
        return cls(values=values, fields=frozenset(fields))

    @classmethod
    def initial(cls, values: Mapping[str, Any], fields: Iterable[str]) -> FormState:
        """A form filled from a record: lists stay lists, ``None`` becomes empty, booleans "on"/""."""
        filled: dict[str, list[str]] = {}
        for name, value in values.items():
            if value is None:
                filled[name] = []
            elif isinstance(value, bool):
                filled[name] = ["on"] if value else []
            elif isinstance(value, list | tuple | set | frozenset):
                filled[name] = [str(item) for item in value]
            else:
                filled[name] = [str(value)]
        return cls(values=filled, fields=frozenset(fields))

    # -- reading, for templates and routes

    def value(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def values_of(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def text(self, name: str) -> str:
        """The trimmed value, for schema input."""
        return self.value(name).strip()

    def optional(self, name: str) -> str | None:
        """The trimmed value, ``None`` when empty."""
        return self.text(name) or None

    def checked(self, name: str) -> bool:
        return self.value(name) in ("on", "true", "1", "yes")

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.messages)

    # -- adding errors

    def add_error(self, field_path: str, text: str) -> None:
        """Show ``text`` under the input ``field_path`` belongs to, or at the top of the form."""
        name = self._input_for(field_path)
        if name is None:
            if text not in self.messages:
                self.messages.append(text)
        elif name not in self.errors:
            self.errors[name] = text

    def _input_for(self, field_path: str) -> str | None:
        """``team_ids.2`` → ``team_ids``; ``grants.user.read`` stays; unknown paths → ``None``."""
        if field_path in self.fields:
            return field_path
        parts = field_path.split(".")
        for end in range(len(parts) - 1, 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in self.fields:
                return candidate
        return None

    def add_refusal(self, error: ValidationError | DomainError, translator: Translator) -> None:
        """Either kind of refusal (the input schema's or a service's) under the fields it names."""
        if isinstance(error, ValidationError):
            self.add_validation_error(error, translator)
        else:
            self.add_domain_error(error, translator)

    def add_domain_error(self, error: DomainError, translator: Translator) -> None:
        """A service's refusal: field errors under their fields, anything else at the top."""
        if isinstance(error, ValidationFailed) and error.errors:
            for item in error.errors:
                self.add_error(item.field, translator.message(item.message, item.params))
            if error.message != error.title:
                self.messages.append(translator.message(error.message, error.params))
            return
        if isinstance(error, StaleVersion):
            self.messages.append(
                translator.gettext(
                    N_(
                        "Someone else changed this record while you were editing it. Your input is kept "
                        "below; reload the page to see their changes, then apply yours again."
                    )
                )
            )
            return
        self.messages.append(translator.message(error.message, error.params))

    def add_validation_error(self, error: ValidationError, translator: Translator) -> None:
        """Pydantic's complaints about the input schema, in the reader's language."""
        for issue in error.errors(include_url=False):
            location = ".".join(str(part) for part in issue.get("loc", ()))
            self.add_error(location or "form", pydantic_message(issue, translator))


def pydantic_message(issue: Mapping[str, Any], translator: Translator) -> str:
    """A translated message for one pydantic error; the kinds a form can produce are named."""
    kind = str(issue.get("type", ""))
    context = issue.get("ctx") or {}
    location = [str(part) for part in issue.get("loc", ())]
    field_name = location[-1] if location else ""
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return translator.gettext(N_("This field is required"))
    if kind == "string_too_short":
        return translator.message(N_("Use at least {count} characters"), {"count": context.get("min_length")})
    if kind == "string_too_long":
        return translator.message(N_("Use at most {count} characters"), {"count": context.get("max_length")})
    if field_name == "email" or "email" in str(issue.get("msg", "")).lower():
        return translator.gettext(N_("Enter a valid email address"))
    if field_name == "timezone":
        return translator.gettext(N_("Choose a known time zone, such as Asia/Shanghai"))
    if field_name == "locale":
        return translator.gettext(N_("Choose one of the offered languages"))
    if kind == "string_pattern_mismatch" and field_name == "key":
        return translator.gettext(
            N_("Use lower-case letters, digits and underscores, starting with a letter")
        )
    if kind == "string_pattern_mismatch":
        return translator.gettext(N_("The value has the wrong format"))
    if kind in ("enum", "literal_error"):
        return translator.gettext(N_("Choose one of the offered values"))
    if kind.startswith(("datetime", "date")):
        return translator.gettext(N_("Enter a valid date"))
    if kind.startswith(("int", "float", "decimal")):
        return translator.gettext(N_("Enter a number"))
    return translator.gettext(N_("This value is not valid"))
