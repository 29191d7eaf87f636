"""Repeated rows of a form without script: inputs named ``<group>.<row>.<part>`` (``lines.0.quantity``,
``lines.1.quantity`` …), an "add a row" submit button, and blank rows skipped.

The schema sees only the filled rows, so its errors name them by their position among those
(``lines.1.quantity`` may be the page's third row); :meth:`RowGroup.add_refusal` moves each error
to the row of the page it came from, where the reader sees it beside the input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from loopcrm.platform.errors import DomainError, ValidationFailed
from loopcrm.platform.i18n import Translator
from loopcrm.platform.web.forms import FormState, pydantic_message


def typed_decimal(text: str) -> Decimal | str | None:
    """Typed text as a number when it is one (``1,200.50`` too); other text is returned as it is,
    for the schema to refuse under its field; empty text is ``None``."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


@dataclass(frozen=True)
class RowGroup:
    """The rows of one repeated group of inputs: ``name`` is the group (``lines``), ``parts`` the
    inputs of a row, ``max_rows`` a bound on what a forged form can make the page render."""

    name: str
    parts: tuple[str, ...]
    max_rows: int = 200

    def submitted(self, form: FormData) -> list[dict[str, str]]:
        """The rows as typed, by their index on the page: a row whose inputs did not come is an
        empty one, so errors and kept input stay on the row they belong to (an "add a row" button
        is the caller's to handle)."""
        rows: dict[int, dict[str, str]] = {}
        for key, value in form.multi_items():
            group, _, rest = key.partition(".")
            index, _, part = rest.partition(".")
            if not isinstance(value, str) or group != self.name or part not in self.parts:
                continue
            if index.isdigit() and int(index) < self.max_rows:
                rows.setdefault(int(index), {})[part] = value
        return [rows.get(index, {}) for index in range(max(rows) + 1)] if rows else []

    def field_names(self, row_count: int) -> set[str]:
        """The inputs of ``row_count`` rows, for :attr:`FormState.fields` (errors find their input)."""
        return {f"{self.name}.{index}.{part}" for index in range(row_count) for part in self.parts}

    def values(self, rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """The rows as input values, for :meth:`FormState.initial`."""
        return {
            f"{self.name}.{index}.{part}": "" if row.get(part) is None else str(row.get(part))
            for index, row in enumerate(rows)
            for part in self.parts
        }

    def filled(
        self, rows: list[dict[str, str]], is_blank: Callable[[dict[str, str]], bool]
    ) -> tuple[list[dict[str, str]], list[int]]:
        """The rows that are not blank, and each one's row on the page."""
        kept = [(index, row) for index, row in enumerate(rows) if not is_blank(row)]
        return [row for _, row in kept], [index for index, _ in kept]

    def add_refusal(
        self,
        state: FormState,
        error: ValidationError | DomainError,
        positions: list[int],
        translator: Translator,
    ) -> None:
        """Show the schema's or the service's refusal, errors of the n-th filled row under the
        page row ``positions[n]``."""
        if isinstance(error, ValidationError):
            for issue in error.errors(include_url=False):
                path = self._on_page([str(part) for part in issue.get("loc", ())], positions)
                state.add_error(path or "form", pydantic_message(issue, translator))
        elif isinstance(error, ValidationFailed):
            items = [
                type(item)(
                    self._on_page(item.field.split("."), positions), item.message, item.code, item.params
                )
                for item in error.errors
            ]
            message = error.message if error.message != error.title else None
            state.add_refusal(ValidationFailed(items, message), translator)
        else:
            state.add_refusal(error, translator)

    def _on_page(self, path: list[str], positions: list[int]) -> str:
        if len(path) > 1 and path[0] == self.name and path[1].isdigit() and int(path[1]) < len(positions):
            path = [path[0], str(positions[int(path[1])]), *path[2:]]
        return ".".join(path)
