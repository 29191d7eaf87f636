"""Names of people and companies: display order, pinyin, search terms and duplicate matching.

Chinese and Latin names are handled side by side because LoopCRM's users type both, often in the
same record ("王芳 Jane"). Everything here is pure text processing: the service decides what to
store, the search and duplicate modules decide how to query.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

# CJK Unified Ideographs: the basic block, extension A, and extensions B to I (planes 2 and 3).
# Compatibility ideographs (U+F900-U+FAFF) are not listed: NFKC maps them onto these blocks.
_HANZI_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ee5f\U00030000-\U000323af"
_HANZI_PATTERN = re.compile(f"[{_HANZI_CLASS}]")
# A name splits into runs of Hanzi and words of other letters or digits; everything else
# (spaces, punctuation, symbols, "_") only separates them.
_SEGMENT_PATTERN = re.compile(f"(?P<hanzi>[{_HANZI_CLASS}]+)|(?P<word>(?:(?![{_HANZI_CLASS}])[^\\W_])+)")

# Surname readings that differ from the everyday reading pypinyin picks for the character alone
# (pypinyin 0.55 has no surname mode). Without tones, so only readings that differ in letters are
# listed; characters with two common surname readings (乐 yuè/lè, 覃 qín/tán, 牟 móu/mù) are left
# to pypinyin. Compound surnames such as 尉迟 (yùchí) and 万俟 (mòqí) pypinyin already reads as
# phrases correctly; 乐正 is the one it does not.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "盖": "ge",
    "黑": "he",
    "秘": "bi",
    "繁": "po",
    "种": "chong",
    "翟": "zhai",
    "都": "du",
    "缪": "miao",
    "卜": "bu",
    "薄": "bo",
    "折": "she",
    "召": "shao",
    "员": "yun",
    "句": "gou",
    "隗": "wei",
    "长": "chang",
    "能": "nai",
    "祭": "zhai",
    "洗": "xian",
}
COMPOUND_SURNAME_READINGS = {
    "乐正": ("yue", "zheng"),
    "长孙": ("zhang", "sun"),
    "单于": ("chan", "yu"),
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "澹台": ("tan", "tai"),
}

# Index terms per text: suffixes start at the first 16 Hanzi and at most 16 Latin words are kept,
# so a text yields at most 16 words + 3 x 16 Hanzi-derived terms + 4 whole-text keys = 68 terms.
# Names are far shorter; the cap only keeps a pasted paragraph from bloating the index. A substring
# that begins after the 16th Hanzi of a long company name is then not found by prefix.
MAX_HANZI_SUFFIXES_PER_TEXT = 16
MAX_WORDS_PER_TEXT = 16


def is_chinese(text: str) -> bool:
    """Whether `text` contains at least one Chinese character (a CJK Unified Ideograph)."""
    return _HANZI_PATTERN.search(unicodedata.normalize("NFKC", text)) is not None


def display_name(family_name: str, given_name: str) -> str:
    """Return the name as people write it: 王 + 芳 → "王芳", Jane + Doe → "Jane Doe".

    When either part is Chinese the family name comes first with no space (the Chinese order);
    otherwise the given name comes first, separated by a space. Either part may be empty, and runs
    of whitespace inside a part are collapsed.
    """
    family = " ".join(family_name.split())
    given = " ".join(given_name.split())
    if is_chinese(family) or is_chinese(given):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)


def fold_for_search(text: str) -> str:
    """Return `text` as search compares it: NFKC, lower case, accents removed from Latin letters.

    Index terms (`search_terms`) are built from this form, so queries must be folded the same way
    (José → jose, ＡＢＣ → abc). Accents are removed only where the base letter is ASCII, which
    leaves kana, Hangul and Hanzi untouched.
    """
    folded = []
    for character in unicodedata.normalize("NFKC", text).lower():
        decomposed = unicodedata.normalize("NFD", character)
        if decomposed[0].isascii() and all(unicodedata.combining(mark) for mark in decomposed[1:]):
            folded.append(decomposed[0])
        else:
            folded.append(character)
    return "".join(folded)


def _segments(text: str) -> list[tuple[bool, str]]:
    """Split folded text into (is_hanzi, run) pairs, dropping separators."""
    return [(match.lastgroup == "hanzi", match.group()) for match in _SEGMENT_PATTERN.finditer(text)]


def _syllables(hanzi: str) -> list[str]:
    """Return one toneless pinyin syllable per character of a Hanzi run, read as a phrase.

    Reading the run as a whole lets pypinyin pick 银行 → yin hang and 重庆 → chong qing. A
    character without a known reading stands for itself, so the list always aligns with the run.
    """
    return list(_phrase_syllables(hanzi))


# Names repeat (family names above all, and common given names): an import reads each one once.
@lru_cache(maxsize=65_536)
def _phrase_syllables(hanzi: str) -> tuple[str, ...]:
    syllables = lazy_pinyin(hanzi, style=Style.NORMAL)
    # pypinyin returns consecutive characters it cannot read as one item; realign one by one then.
    if len(syllables) != len(hanzi):
        syllables = [lazy_pinyin(character, style=Style.NORMAL)[0] for character in hanzi]
    return tuple(syllables)


def _surname_syllables(family_name: str) -> list[str]:
    """Return the syllables of a Chinese family name in its surname reading (单 → shan)."""
    if family_name in COMPOUND_SURNAME_READINGS:
        return list(COMPOUND_SURNAME_READINGS[family_name])
    if len(family_name) == 1 and family_name in SURNAME_READINGS:
        return [SURNAME_READINGS[family_name]]
    return _syllables(family_name)


def _keys_of_syllables(parts: list[list[str]]) -> tuple[str, str]:
    """Join syllable or word lists into (full key, initials)."""
    full = "".join(unit for units in parts for unit in units)
    initials = "".join(unit[0] for units in parts for unit in units)
    return full, initials


# Names repeat (王芳, 张伟) and an import reads each row's name twice (its duplicate screen, then
# the stored keys); pypinyin takes about 0.1 ms a name, so a bounded cache pays for itself.
@lru_cache(maxsize=65_536)
def pinyin_keys(text: str, family_name_length: int = 0) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name, lower case and without tones or spaces.

    王芳 → ("wangfang", "wf"), Jane Doe → ("janedoe", "jd"), 李 Lei → ("lilei", "ll"). Latin words
    count whole in the full key and by their first letter in the initials. ü is written "v"
    (吕 → "lv"), as pinyin keyboards type it. When `family_name_length` is greater than 0 and the
    text starts with that many Chinese characters, they are read as a surname (单田芳 →
    "shantianfang", 曾国藩 → "zengguofan"), and the given name is read on its own so a phrase
    never spans the two.
    """
    folded = fold_for_search(text).strip()
    parts: list[list[str]] = []
    if family_name_length > 0:
        family_name = folded[:family_name_length]
        if len(family_name) == family_name_length and all(_HANZI_PATTERN.match(c) for c in family_name):
            parts.append(_surname_syllables(family_name))
            folded = folded[family_name_length:]
    for is_hanzi, run in _segments(folded):
        parts.append(_syllables(run) if is_hanzi else [run])
    return _keys_of_syllables(parts)


def _terms_of_text(text: str) -> list[str]:
    """Return the search terms of one text, in order, possibly with repeats."""
    segments = _segments(fold_for_search(text))
    words = [run for is_hanzi, run in segments if not is_hanzi][:MAX_WORDS_PER_TEXT]
    hanzi_suffixes: list[str] = []
    pinyin_suffixes: list[str] = []
    initials_suffixes: list[str] = []
    whole_parts: list[list[str]] = []
    remaining_suffixes = MAX_HANZI_SUFFIXES_PER_TEXT
    words_seen = 0
    for is_hanzi, run in segments:
        if not is_hanzi:
            if words_seen < MAX_WORDS_PER_TEXT:
                whole_parts.append([run])
            words_seen += 1
            continue
        syllables = _syllables(run)
        whole_parts.append(syllables)
        for start in range(min(len(run), remaining_suffixes)):
            hanzi_suffixes.append(run[start:])
            pinyin_suffixes.append("".join(syllables[start:]))
            # A single initial ("f") would match a third of all names; only two or more are kept.
            if len(run) - start >= 2:
                initials_suffixes.append("".join(syllable[0] for syllable in syllables[start:]))
        remaining_suffixes = max(0, remaining_suffixes - len(run))
    full, initials = _keys_of_syllables(whole_parts)
    terms = [*words, *hanzi_suffixes, *pinyin_suffixes, full, *initials_suffixes]
    if len(initials) >= 2:
        terms.append(initials)
    # A Chinese name starting with a surname that reads differently (单田芳: dan/shan) is indexed
    # under both readings, because people search by whichever reading they know.
    if segments and segments[0][0]:
        first_run = segments[0][1]
        family_name = next(
            (
                candidate
                for candidate in (first_run[:2], first_run[:1])
                if candidate in COMPOUND_SURNAME_READINGS or candidate in SURNAME_READINGS
            ),
            None,
        )
        if family_name is not None:
            whole_parts[0] = _surname_syllables(family_name) + whole_parts[0][len(family_name) :]
            surname_full, surname_initials = _keys_of_syllables(whole_parts)
            terms.append(surname_full)
            if len(surname_initials) >= 2:
                terms.append(surname_initials)
    return [term for term in terms if term]


def search_terms(*texts: str) -> list[str]:
    """Return the terms a full-text index should hold so any part of these names matches by prefix.

    For each text, in this order:

    * each Latin word (``jane``, ``doe``);
    * every suffix of each Hanzi run (王芳, 芳), so any Hanzi substring is a prefix of a term;
    * the pinyin of each of those suffixes (``wangfang``, ``fang``), read as the whole run;
    * the whole text in pinyin and words joined (``janedoe``);
    * the initials of each suffix of two or more Hanzi (``zxm``, ``xm``), then of the whole text;
    * for a name starting with a polyphonic surname, the whole text and initials in the surname
      reading as well (单田芳 → ``dantianfang`` and ``shantianfang``).

    王芳 → ["王芳", "芳", "wangfang", "fang", "wf"]; "Jane Doe" → ["jane", "doe", "janedoe", "jd"].
    Terms are lower case, folded as `fold_for_search`, and contain only letters, digits and Hanzi
    (nothing FTS5 or tsquery would read as syntax). Repeats are removed, first occurrence kept. The
    per-text cap is described at `MAX_HANZI_SUFFIXES_PER_TEXT` (at most 68 terms per text).
    """
    terms: dict[str, None] = {}
    for text in texts:
        for term in _terms_of_text(text):
            terms.setdefault(term, None)
    return list(terms)


# Legal forms and noise that do not tell two organisations apart. Chinese forms are stripped from
# the end of the name (after punctuation is gone, so "（股份）有限公司" is reached as "股份有限公司");
# Latin forms are stripped as trailing words ("Acme Co., Ltd." → acme). Longest first, so that
# 有限公司 is not cut to 有限 by 公司.
CHINESE_LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "股份合作公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "有限合伙",
    "普通合伙",
    "公司",
    "集团",
    "股份",
)
LATIN_LEGAL_FORMS = frozenset(
    {
        "ag",
        "bv",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "group",
        "inc",
        "incorporated",
        "limited",
        "llc",
        "llp",
        "lp",
        "ltd",
        "nv",
        "plc",
        "pte",
        "pty",
        "sa",
        "sarl",
        "sas",
        "spa",
    }
)
# Bracketed country markers in subsidiaries' names: 宝洁（中国）有限公司, "P&G (China) Ltd.".
_COUNTRY_MARKER_PATTERN = re.compile(r"\(\s*(?:中国|china|prc)\s*\)")
# Dotted abbreviations ("S.A.", "p.l.c.") are one word, not several one-letter words.
_DOTTED_ABBREVIATION_PATTERN = re.compile(r"\b[a-z](?:\.[a-z])+\b\.?")


def normalize_name_for_matching(text: str) -> str:
    """Return the part of an organisation or person name that duplicate detection compares.

    NFKC (full-width brackets and letters become ASCII), lower case, Latin accents removed,
    bracketed country markers removed, then trailing legal forms stripped repeatedly, and finally
    punctuation and spaces removed: "上海晨光文具股份有限公司" and "上海晨光文具（股份）有限公司"
    both give "上海晨光文具", "Acme Co., Ltd." and "ACME Ltd" both give "acme". A form is never
    stripped when nothing would be left ("集团" stays "集团").
    """
    folded = _COUNTRY_MARKER_PATTERN.sub(" ", fold_for_search(text))
    folded = _DOTTED_ABBREVIATION_PATTERN.sub(lambda match: match.group().replace(".", ""), folded)
    tokens = [match.group() for match in re.finditer(r"[^\W_]+", folded)]
    while tokens:
        last = tokens[-1]
        if last in LATIN_LEGAL_FORMS and len(tokens) > 1:
            tokens.pop()
            continue
        legal_form = next((form for form in CHINESE_LEGAL_FORMS if last.endswith(form)), None)
        if legal_form is None:
            break
        stripped = last[: -len(legal_form)]
        if stripped:
            tokens[-1] = stripped
        elif len(tokens) > 1:
            tokens.pop()
        else:
            break
    return "".join(tokens)
