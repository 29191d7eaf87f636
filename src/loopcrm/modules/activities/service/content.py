"""What people write into activities: the safe subset of HTML a note keeps, @mentions, and the
short plain-text summary a timeline shows.

**Mentions.** ``@`` followed by a user's email address mentions that user: ``@li.lei@example.com``.
Emails are unique per user and survive renames, so the syntax is unambiguous, needs no lookup
table in the editor, and reads fine as plain text in an email or an export. An ``@`` glued to a
preceding word or dot (``name@example.com`` on its own) is an ordinary address, not a mention.
Addresses that belong to no active user are left as they are.
"""

from __future__ import annotations

import html
import re

import nh3

# The note subset: paragraphs and line breaks, emphasis, lists, links, quotes and code.
NOTE_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "blockquote", "code"})
NOTE_ATTRIBUTES = {"a": {"href"}}
NOTE_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_BLOCK_END = re.compile(r"</(p|li|blockquote)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

# Timelines show the first words of a body; the detail page shows all of it.
SUMMARY_LENGTH = 240


def sanitize_note_html(body: str) -> str:
    """Keep only the note subset: no scripts, styles, event handlers or foreign elements; links
    keep ``href`` (web, mail and phone addresses only) and get ``rel="noopener"``."""
    return nh3.clean(
        body,
        tags=set(NOTE_TAGS),
        attributes={tag: set(names) for tag, names in NOTE_ATTRIBUTES.items()},
        url_schemes=set(NOTE_URL_SCHEMES),
        link_rel="noopener",
        strip_comments=True,
    ).strip()


def plain_text_to_note_html(text: str) -> str:
    """A note typed as plain text (the web form's text area) as note HTML: blank lines make
    paragraphs, single line breaks stay, everything is escaped."""
    paragraphs = [part.strip() for part in _BLANK_LINES.split(text.replace("\r\n", "\n").strip())]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
        if paragraph
    )


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(p|br|b|strong|i|em|u|ul|ol|li|a|blockquote|code)\b", text, re.IGNORECASE))


def html_to_text(body: str) -> str:
    """The readable text of note HTML: block ends become line breaks, tags go, entities decode."""
    text = _BLOCK_END.sub("\n", body)
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def summary(text: str, length: int = SUMMARY_LENGTH) -> str:
    """The first ``length`` characters of a text on one line, with an ellipsis when cut."""
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= length else one_line[: length - 1].rstrip() + "…"


def mentioned_emails(text: str) -> list[str]:
    """Lower-cased addresses mentioned as ``@email`` in a note (HTML or plain text), each once, in order."""
    found: dict[str, None] = {}
    for match in MENTION.finditer(html.unescape(_TAG.sub(" ", text))):
        found.setdefault(match.group(1).lower().rstrip("."), None)
    return list(found)
