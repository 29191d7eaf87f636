"""Imported files on disk: storing an upload, telling CSV from XLSX, finding a CSV's encoding and
delimiter, and reading records in chunks from a byte offset.

A run's files live in ``<data_dir>/imports/<run id>/`` (ADR 0006). Chinese Excel saves CSV in
GBK, other tools in UTF-8 with or without a byte-order mark; all three are read here. An XLSX
workbook (and a UTF-16 "Unicode text" CSV) is converted once into a UTF-8 CSV, so every chunk of
every run is read the same way: seek to where the previous chunk stopped, read the next records.
"""

from __future__ import annotations

import codecs
import csv
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from loopcrm.modules.customers.service.imports.vocabulary import cell_text
from loopcrm.platform.i18n import N_

# An upload larger than this is refused: 50 MB holds several hundred thousand customer rows,
# and a bigger file is better split than held in one web request.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
# A cell longer than the longest field (long text, 10,000 characters) cannot be valid; reading
# stops it from filling memory.
MAX_CELL_CHARACTERS = 10_000
# How much of a CSV decides its encoding and delimiter.
SNIFF_BYTES = 1024 * 1024
DELIMITERS = ",;\t|"

UPLOAD_STEM = "upload"
NORMALISED_NAME = "rows.csv"  # a workbook or UTF-16 file converted to UTF-8 CSV

csv.field_size_limit(MAX_CELL_CHARACTERS * 4)  # bytes of a UTF-8 cell, with room for quoting


class UnreadableFile(Exception):
    """The file is not a CSV or XLSX we can read; ``message`` is an English msgid."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message)


@dataclass(frozen=True)
class Table:
    """A CSV file ready to be read in chunks: where it is, its encoding and its delimiter."""

    path: Path
    encoding: str
    delimiter: str

    def as_payload(self) -> dict[str, str]:
        return {"file": self.path.name, "encoding": self.encoding, "delimiter": self.delimiter}

    @classmethod
    def from_payload(cls, directory: Path, payload: dict[str, str]) -> Table:
        return cls(directory / payload["file"], payload["encoding"], payload["delimiter"])


def run_directory(data_dir: Path, run_id: str) -> Path:
    return data_dir / "imports" / run_id


def store_upload(directory: Path, source: BinaryIO) -> tuple[Path, int]:
    """Copy the upload into the run's directory; its path and size. Refuses oversize files."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / UPLOAD_STEM
    size = 0
    with target.open("wb") as stored:
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                stored.close()
                shutil.rmtree(directory, ignore_errors=True)
                raise UnreadableFile(
                    N_("The file is larger than {megabytes} MB; split it into smaller files"),
                    megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
                )
            stored.write(chunk)
    if size == 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise UnreadableFile(N_("The file is empty"))
    return target, size


def remove_files(directory: Path) -> None:
    """Forget a run's files once they are no longer needed (they hold personal data)."""
    shutil.rmtree(directory, ignore_errors=True)


def file_format(path: Path) -> str:
    """``xlsx`` for a workbook (a zip package), ``csv`` for anything else that is text."""
    with path.open("rb") as stored:
        start = stored.read(8)
    if start.startswith(b"PK\x03\x04"):
        return "xlsx"
    if start.startswith(b"\xd0\xcf\x11\xe0"):  # the binary .xls of Excel 97–2003
        raise UnreadableFile(N_("Old .xls workbooks cannot be read; save the file as .xlsx or CSV"))
    return "csv"


def _encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK and GB2312,
    which Chinese Excel uses) when the sample decodes as that."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for candidate in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return candidate
    raise UnreadableFile(N_("The file's text is neither UTF-8 nor GBK; save it as CSV UTF-8"))


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def open_csv(path: Path) -> Table:
    """The CSV at ``path`` with its encoding and delimiter found from its first megabyte."""
    with path.open("rb") as stored:
        sample = stored.read(SNIFF_BYTES)
    encoding = _encoding(sample)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    return Table(path, encoding, _delimiter(text.lstrip("\ufeff")))


def _clip(cells: list[str]) -> list[str]:
    """A record without trailing empty cells, each cell trimmed to what a field could hold."""
    while cells and not cells[-1].strip():
        cells.pop()
    return [cell[: MAX_CELL_CHARACTERS + 1] for cell in cells[:MAX_COLUMNS]]


def _lines(stored: BinaryIO, encoding: str, at_start: bool) -> Iterator[str]:
    """The file's lines from the current position, decoded one by one so the byte position after
    each record is known (no byte of a GBK or UTF-8 character is a newline)."""
    line_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    first = True
    while line := stored.readline():
        try:
            text = line.decode(line_encoding)
        except UnicodeDecodeError:
            raise UnreadableFile(
                N_("The file's text cannot be read as {encoding} from byte {offset}"),
                encoding=encoding,
                offset=stored.tell() - len(line),
            ) from None
        if first and at_start:
            text = text.lstrip("\ufeff")
        first = False
        yield text


def read_records(table: Table, offset: int, limit: int) -> tuple[list[list[str]], int, bool]:
    """Up to ``limit`` records from byte ``offset``: the records, the offset after the last one,
    and whether the file ended. A record is a row of cells; a blank line is an empty record, so
    record numbers stay the spreadsheet's row numbers."""
    records: list[list[str]] = []
    with table.path.open("rb") as stored:
        stored.seek(offset)
        reader = csv.reader(_lines(stored, table.encoding, offset == 0), delimiter=table.delimiter)
        try:
            for record in reader:
                records.append(_clip(record))
                if len(records) == limit:
                    position = stored.tell()
                    return records, position, stored.read(1) == b""
        except csv.Error as error:
            raise UnreadableFile(N_("The CSV file is malformed: {problem}"), problem=str(error)) from None
        return records, stored.tell(), True


def count_records(table: Table) -> int:
    """How many records the file holds (the header included)."""
    count = 0
    offset = 0
    finished = False
    while not finished:
        records, offset, finished = read_records(table, offset, 10_000)
        count += len(records)
    return count


def workbook_rows(path: Path) -> Iterator[list[str]]:
    """The first worksheet's rows as text cells, in order, empty rows included."""
    with path.open("rb") as stored:  # a file object: openpyxl judges a path by its extension
        try:
            workbook = load_workbook(stored, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise UnreadableFile(N_("The workbook cannot be opened; save it again as .xlsx or CSV")) from None
        try:
            sheet = workbook.worksheets[0] if workbook.worksheets else None
            if sheet is None:
                return
            try:
                for row in sheet.iter_rows(values_only=True):
                    yield _clip([cell_text(value) for value in row])
            except (zipfile.BadZipFile, KeyError, ValueError, OSError):
                raise UnreadableFile(
                    N_("The workbook cannot be opened; save it again as .xlsx or CSV")
                ) from None
        finally:
            workbook.close()


def first_rows(path: Path, file_kind: str, count: int) -> tuple[list[list[str]], str | None]:
    """The header and up to ``count`` rows after it, and the CSV's encoding (``None`` for XLSX)."""
    if file_kind == "xlsx":
        rows: list[list[str]] = []
        for row in workbook_rows(path):
            rows.append(row)
            if len(rows) > count:
                break
        return rows, None
    table = open_csv(path)
    if table.encoding == "utf-16":
        rows = []
        for row in _utf16_rows(path, table.delimiter):
            rows.append(row)
            if len(rows) > count:
                break
        return rows, table.encoding
    records, _, _ = read_records(table, 0, count + 1)
    return records, table.encoding


def prepare_table(path: Path, file_kind: str) -> tuple[Table, int]:
    """The file as a UTF-8-or-GBK CSV to read in chunks, converting a workbook or UTF-16 text
    first, and its record count. Safe to repeat: a conversion is written aside and renamed."""
    if file_kind == "csv":
        table = open_csv(path)
        if table.encoding != "utf-16":
            return table, count_records(table)
        rows: Iterator[list[str]] = _utf16_rows(path, table.delimiter)
    else:
        rows = workbook_rows(path)
    target = path.with_name(NORMALISED_NAME)
    partial = path.with_name(NORMALISED_NAME + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8", newline="") as converted:
        writer = csv.writer(converted)
        for row in rows:
            writer.writerow(row)
            count += 1
    os.replace(partial, target)
    return Table(target, "utf-8", ","), count


def _utf16_rows(path: Path, delimiter: str) -> Iterator[list[str]]:
    with path.open(encoding="utf-16", newline="") as text:
        try:
            for row in csv.reader(text, delimiter=delimiter):
                yield _clip(row)
        except (csv.Error, UnicodeError) as error:
            raise UnreadableFile(N_("The CSV file is malformed: {problem}"), problem=str(error)) from None
