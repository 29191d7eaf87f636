"""Identifiers of accounts and contacts, normalised to one stored form each.

Duplicate detection, upsert on import and search all compare these values as plain strings, so each
function returns exactly one canonical spelling of a valid identifier, or raises `ValueError` with
a short English reason that the service turns into a field error. The functions are pure: no
database, no network (e-mail deliverability and domain lookups are deliberately not checked).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# ---------------------------------------------------------------------------------------------
# Unified social credit code (统一社会信用代码, GB 32100-2015)
# ---------------------------------------------------------------------------------------------

# The 31 characters a credit code may use, in the order of their numeric values (0-30): the digits
# and the capital letters without I, O, Z, S and V, which are too easily misread as 1, 0, 2, 5, U.
CREDIT_CODE_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_LENGTH = 18
# Weight of each of the first 17 positions: 3**(position) mod 31, as GB 32100-2015 defines them.
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Position 1 is the registration authority, position 2 the organisation type registered there.
# GB 32100-2015 defines authorities 1 (机构编制), 5 (民政), 9 (工商) and Y (其他); the others were
# assigned later by the national code centre. A code outside this table has never been issued.
ORGANISATION_TYPES_BY_REGISTRATION_AUTHORITY = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办管理的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师事务所, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国及港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商 (市场监管): 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他: not divided into types
}
# The organisation code in positions 9-17 (GB 11714-1997): 8 characters and a check digit, with
# letters valued A=10 ... Z=35 (its own alphabet, unlike the credit code's).
ORGANISATION_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code_check_character(body: str) -> str:
    """Return the 18th character of a credit code whose first 17 characters are `body`.

    Public so that tests and demo data can build valid codes instead of copying real companies'.
    """
    if len(body) != CREDIT_CODE_LENGTH - 1 or any(c not in CREDIT_CODE_CHARACTERS for c in body):
        raise ValueError("must be 17 characters from the credit code alphabet")
    total = sum(
        CREDIT_CODE_CHARACTERS.index(character) * weight
        for character, weight in zip(body, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARACTERS[(31 - total % 31) % 31]


def organisation_code_check_character(body: str) -> str:
    """Return the 9th character of a GB 11714 organisation code whose first 8 characters are `body`."""
    total = sum(
        int(character, 36) * weight for character, weight in zip(body, ORGANISATION_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def normalize_credit_code(text: str) -> str:
    """Return the unified social credit code in `text` as 18 capital characters.

    Spaces and hyphens are dropped (codes are often printed in groups), full-width characters are
    folded and letters upper-cased. Besides the length and alphabet, this checks every rule the
    code's structure allows: the registration authority and organisation type (positions 1-2), a
    six-digit region (3-8), the organisation code's own check digit (9-17) and the check character
    (18), so a mistyped character is refused before it becomes a duplicate account. The check
    character is tested before the organisation code because it catches every single typo and its
    reason is the one users know.
    """
    code = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).upper()
    if len(code) != CREDIT_CODE_LENGTH:
        raise ValueError("must be 18 characters")
    if any(character not in CREDIT_CODE_CHARACTERS for character in code):
        raise ValueError("contains a character not used in credit codes")
    organisation_types = ORGANISATION_TYPES_BY_REGISTRATION_AUTHORITY.get(code[0])
    if organisation_types is None:
        raise ValueError("registration authority code is not defined")
    if code[1] not in organisation_types:
        raise ValueError("organisation type code is not defined for this registration authority")
    if not code[2:8].isdigit():
        raise ValueError("region code must be 6 digits")
    if code[17] != credit_code_check_character(code[:17]):
        raise ValueError("check character does not match")
    if code[16] != organisation_code_check_character(code[8:16]):
        raise ValueError("organisation code check digit does not match")
    return code


# ---------------------------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------------------------

_E164_PATTERN = re.compile(r"\+[1-9][0-9]{1,14}")


def normalize_phone(text: str, default_region: str = "CN") -> str:
    """Return the phone number in `text` in E.164 form, for example ``+8613812345678``.

    One spelling per number is what makes "same phone" duplicates and phone upserts work, whether
    the number was typed as ``138 1234 5678``, ``+86-138-1234-5678`` or ``0086 13812345678``.
    Numbers without a country code are read as numbers of `default_region` (an ISO 3166 code).
    The number must be valid for its region according to libphonenumber's metadata, not merely of
    a possible length. Extensions are refused rather than silently dropped: E.164 cannot hold them,
    and storing a switchboard number alone would make every colleague behind it a "duplicate".
    """
    return phonenumbers.format_number(parse_phone(text, default_region), phonenumbers.PhoneNumberFormat.E164)


def parse_phone(text: str, default_region: str = "CN") -> phonenumbers.PhoneNumber:
    """The number :func:`normalize_phone` formats, for a caller that also needs its type (an
    import labels mobile numbers): parsing is most of the cost of either."""
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a valid phone number") from error
    if number.extension:
        raise ValueError("phone extensions are not supported")
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return number


def phone_search_key(e164: str) -> str:
    """Return the digits of an E.164 number reversed, the stored key for "ends with" searches.

    Users search phones by their last digits ("the one ending 5678"); reversed, that suffix becomes
    a prefix (``LIKE '8765%'``), which an ordinary index answers on SQLite and PostgreSQL alike.
    """
    if not _E164_PATTERN.fullmatch(e164):
        raise ValueError("not an E.164 phone number")
    return e164[:0:-1]


def phone_suffix_key(digits: str) -> str:
    """Return the query-side key for `phone_search_key`: the digits of `digits`, reversed.

    Anything else the user typed (spaces, hyphens, a leading +) is ignored; full-width digits count.
    An empty result means there was nothing to search for.
    """
    return "".join(re.findall(r"[0-9]", unicodedata.normalize("NFKC", digits)))[::-1]


# ---------------------------------------------------------------------------------------------
# E-mail addresses and websites
# ---------------------------------------------------------------------------------------------


def normalize_email(text: str) -> str:
    """Return the e-mail address in `text`, checked for syntax and lower-cased.

    Deliverability is not checked (no DNS at save time, and imports must not depend on the
    network). The whole address is lower-cased although the local part is case-sensitive in
    theory: no real mail provider treats ``Wang.Fang@`` and ``wang.fang@`` as different people,
    and duplicates and upserts are found by comparing this lower-cased form.
    """
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError("not a valid email address") from error
    return result.normalized.lower()


_HOST_LABEL_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _is_valid_host(host: str) -> bool:
    """Whether `host` is a public domain name: two or more labels and an alphabetic top level.

    IP addresses and single-label names (``localhost``, ``intranet``) are refused: they are not a
    company's website, and they would make `domain_of` match unrelated records.
    """
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2:
        return False
    if not all(_HOST_LABEL_PATTERN.fullmatch(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def normalize_website(text: str) -> str:
    """Return the website in `text` as an absolute http(s) URL with a lower-case host.

    People type ``www.example.com`` or ``Example.com/about``; ``https://`` is added when no scheme
    is given, the scheme and host are lower-cased, a bare trailing ``/`` is dropped and the path,
    query and fragment are kept as typed. Only http and https are accepted, and no credentials.
    """
    candidate = unicodedata.normalize("NFKC", text).strip()
    if not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", candidate):
        candidate = f"https://{candidate}"
    if re.search(r"\s", candidate):
        raise ValueError("not a valid website address")
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as error:
        raise ValueError("not a valid website address") from error
    host = (parts.hostname or "").rstrip(".")
    if (
        parts.scheme.lower() not in ("http", "https")
        or parts.username is not None
        or not _is_valid_host(host)
    ):
        raise ValueError("not a valid website address")
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, parts.fragment))


def domain_of(website_or_email: str) -> str | None:
    """Return the lower-case domain of a website or e-mail address, without a leading ``www.``.

    Used to link contacts to accounts and to spot duplicate accounts; returns None when there is
    no plausible public domain in the text (nothing is raised: the caller only wants a hint).
    Note that free-mail domains (qq.com, 163.com, gmail.com) are returned like any other.
    """
    text = unicodedata.normalize("NFKC", website_or_email).strip()
    if "@" in text and "://" not in text:
        host = text.rsplit("@", 1)[1]
    else:
        try:
            host = normalize_website(text)
        except ValueError:
            return None
        host = urlsplit(host).hostname or ""
    host = host.lower().rstrip(".")
    if not _is_valid_host(host):
        return None
    # "www." is a convention, not part of the organisation's domain; "www.cn" would be one.
    if host.startswith("www.") and host.count(".") >= 2:
        return host[len("www.") :]
    return host
