"""The gettext catalogues: everything the interface can show has a Simplified Chinese translation.

The extraction here is the same as the documented ``pybabel extract`` (docs/adr/0002-web-ui.md):
the mapping comes from ``babel.cfg``, the keywords below must match the command's ``-k`` options.
When a test fails, run the commands of the ADR and translate what is new.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from loopcrm.platform.i18n import SUPPORTED_LOCALES, catalogue_files, merged_catalogue

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE = REPOSITORY / "src" / "loopcrm"
# The -k options of the documented pybabel extract command.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    # Domain errors raised by services: the message is the msgid.
    "single": (2,),
    "FieldError": (2,),
    "RateLimited": (2,),
    "ObjectType": (2,),
    "DomainError": None,
    "NotAuthenticated": None,
    "PermissionDenied": None,
    "NotFound": None,
    "Conflict": None,
    "StaleVersion": None,
}


def _catalogue(locale: str) -> Catalog:
    """The platform's and every module's messages of ``locale`` in one catalogue, as served."""
    return merged_catalogue(locale)


def _file_messages(locale: str) -> dict[Path, Catalog]:
    messages: dict[Path, Catalog] = {}
    for po_path in catalogue_files(locale):
        with po_path.open("rb") as po_file:
            messages[po_path] = read_po(po_file, locale=locale)
    return messages


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _extracted(kind: str) -> dict[str, str]:
    """msgid → file for every message extraction finds, of ``kind`` "python" or "jinja2"."""
    with (REPOSITORY / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        SOURCE, [(pattern, method) for pattern, method in method_map if method == kind], options_map, KEYWORDS
    ):
        found.setdefault(_key(message), filename)
    return found


def _translations(locale: str) -> dict[str, str | tuple[str, ...]]:
    return {_key(message.id): message.string for message in _catalogue(locale) if message.id}


def test_every_message_of_every_chinese_catalogue_file_is_translated():
    untranslated = [
        f"{po_path.relative_to(SOURCE)}: {_key(message.id)}"
        for po_path, catalog in _file_messages("zh_CN").items()
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]

    assert untranslated == []


def test_a_message_in_several_files_has_the_same_translation_in_each():
    disagreements = []
    for locale in SUPPORTED_LOCALES:
        seen: dict[str, tuple[Path, object]] = {}
        for po_path, catalog in _file_messages(locale).items():
            for message in catalog:
                if not message.id or not message.string:
                    continue
                first = seen.setdefault(_key(message.id), (po_path, message.string))
                if first[1] != message.string:
                    disagreements.append(
                        f"{locale} {_key(message.id)!r}: {first[0].name} {first[1]!r}"
                        f" != {po_path.relative_to(SOURCE)} {message.string!r}"
                    )

    assert disagreements == []


def test_the_catalogues_cover_every_string_of_the_templates():
    catalogued = {locale: set(_translations(locale)) for locale in SUPPORTED_LOCALES}

    extracted = _extracted("jinja2")

    assert len(extracted) > 150  # the extraction really reads the templates
    for locale in SUPPORTED_LOCALES:
        missing = {
            msgid: filename for msgid, filename in extracted.items() if msgid not in catalogued[locale]
        }
        assert missing == {}, f"{locale}: run pybabel extract/update (docs/adr/0002-web-ui.md)"


def test_the_catalogues_cover_the_messages_of_the_code_and_of_the_services():
    catalogued = {locale: set(_translations(locale)) for locale in SUPPORTED_LOCALES}

    extracted = _extracted("python")

    assert "A user with this email already exists" in extracted  # service errors are found
    for locale in SUPPORTED_LOCALES:
        missing = {
            msgid: filename for msgid, filename in extracted.items() if msgid not in catalogued[locale]
        }
        assert missing == {}, f"{locale}: run pybabel extract/update (docs/adr/0002-web-ui.md)"


# Imports every module of the package in a fresh interpreter (so object types and error classes
# that tests declare do not count) and prints the names that only exist at run time.
_RUNTIME_NAMES = """
import importlib, json, pkgutil
import loopcrm
for module in pkgutil.walk_packages(loopcrm.__path__, "loopcrm."):
    importlib.import_module(module.name)
from loopcrm.platform.errors import DomainError
from loopcrm.platform.permissions import object_types
from loopcrm.platform.web.views.lookups import BUILTIN_ROLE_NAMES

def subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from subclasses(subclass)

print(json.dumps({
    "object type labels": [object_type.label for object_type in object_types()],
    "domain error titles": sorted({DomainError.title, *(error.title for error in subclasses(DomainError))}),
    "built-in role names": [text for names in BUILTIN_ROLE_NAMES.values() for text in names],
}))
"""


def test_names_that_only_exist_at_run_time_are_translated():
    found = subprocess.run(
        [sys.executable, "-c", _RUNTIME_NAMES], capture_output=True, text=True, check=True, cwd=REPOSITORY
    )
    names = json.loads(found.stdout)
    chinese = _translations("zh_CN")

    missing = {kind: [msgid for msgid in msgids if not chinese.get(msgid)] for kind, msgids in names.items()}

    assert missing == {kind: [] for kind in names}
    assert "Users" in names["object type labels"]


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")


def test_translations_keep_every_placeholder_of_their_message():
    broken = []
    for message in _catalogue("zh_CN"):
        if not message.id:
            continue
        originals = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(_PLACEHOLDER.findall(originals[-1]))
        for string in strings:
            if set(_PLACEHOLDER.findall(string)) != wanted:
                broken.append((_key(message.id), string))

    assert broken == []


def test_no_translation_of_a_template_contains_markup():
    # Templates insert their translations as safe markup; a tag in a catalogue would reach the page.
    templates = set(_extracted("jinja2"))
    with_markup = [
        _key(message.id)
        for locale in SUPPORTED_LOCALES
        for message in _catalogue(locale)
        if message.id
        and _key(message.id) in templates
        and re.search(r"<[a-zA-Z/]", f"{message.id}{message.string}")
    ]

    assert with_markup == []


def test_the_english_catalogue_holds_no_chinese():
    # English msgids read as they are; a Chinese string here would show Chinese on English pages.
    chinese = [
        _key(message.id)
        for message in _catalogue("en")
        if message.id and re.search(r"[\u4e00-\u9fff]", str(message.string))
    ]

    assert chinese == []
