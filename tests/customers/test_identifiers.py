"""Identifiers: credit codes, phones, e-mail addresses and websites normalised or refused with a reason."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from loopcrm.modules.customers.identifiers import (
    CREDIT_CODE_CHARACTERS,
    ORGANISATION_TYPES_BY_REGISTRATION_AUTHORITY,
    credit_code_check_character,
    domain_of,
    normalize_credit_code,
    normalize_email,
    normalize_phone,
    normalize_website,
    organisation_code_check_character,
    phone_search_key,
    phone_suffix_key,
)


def refusal_reason(call: Callable[[], object]) -> str:
    """Return the reason of the ValueError that `call` raises (the text users see)."""
    with pytest.raises(ValueError) as refusal:
        call()
    return str(refusal.value)


# ---------------------------------------------------------------------------------------------
# Unified social credit code
# ---------------------------------------------------------------------------------------------

# Codes printed on published business licences (and python-stdnum's documented example).
PUBLISHED_CREDIT_CODES = [
    "91350100M000100Y43",
    "9144030071526726XG",
    "911100001011596199",
    "91110000600037341L",
    "12440600MB2C07549J",
]


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_are_accepted_unchanged(code: str) -> None:
    assert normalize_credit_code(code) == code


def test_credit_code_is_compacted_and_upper_cased() -> None:
    assert normalize_credit_code(" 9144 0300-7152 6726 xg ") == "9144030071526726XG"


def test_full_width_credit_code_is_folded() -> None:
    assert normalize_credit_code("９１１１００００１０１１５９６１９９") == "911100001011596199"


@pytest.mark.parametrize("text", ["", "91350100M000100Y4", "91350100M000100Y433", "9135010"])
def test_credit_code_of_wrong_length_is_refused(text: str) -> None:
    assert refusal_reason(lambda: normalize_credit_code(text)) == "must be 18 characters"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "*"])
def test_credit_code_with_a_letter_outside_the_alphabet_is_refused(letter: str) -> None:
    assert (
        refusal_reason(lambda: normalize_credit_code(f"91350100M000100{letter}43"))
        == "contains a character not used in credit codes"
    )


def test_credit_code_with_a_mistyped_character_is_refused_by_the_check_character() -> None:
    assert (
        refusal_reason(lambda: normalize_credit_code("91350100M000100Y44"))
        == "check character does not match"
    )


def test_credit_code_with_two_digits_swapped_is_refused() -> None:
    assert (
        refusal_reason(lambda: normalize_credit_code("9144030017526726XG"))
        == "check character does not match"
    )


def test_credit_code_of_an_undefined_registration_authority_is_refused() -> None:
    body = "B1110000" + "10115961"
    body += organisation_code_check_character(body[8:16])
    assert (
        refusal_reason(lambda: normalize_credit_code(body + credit_code_check_character(body)))
        == "registration authority code is not defined"
    )


def test_credit_code_of_an_undefined_organisation_type_is_refused() -> None:
    # Authority 9 (market regulation) registers types 1, 2 and 3 only.
    body = "94110000" + "10115961"
    body += organisation_code_check_character(body[8:16])
    assert (
        refusal_reason(lambda: normalize_credit_code(body + credit_code_check_character(body)))
        == "organisation type code is not defined for this registration authority"
    )


def test_credit_code_with_letters_in_the_region_is_refused() -> None:
    body = "9111A000" + "10115961"
    body += organisation_code_check_character(body[8:16])
    assert (
        refusal_reason(lambda: normalize_credit_code(body + credit_code_check_character(body)))
        == "region code must be 6 digits"
    )


def test_credit_code_whose_organisation_code_check_digit_is_wrong_is_refused() -> None:
    # A correct 18th character over a wrong 17th: only the GB 11714 check catches it.
    body = "91110000" + "10115961" + "8"
    assert (
        refusal_reason(lambda: normalize_credit_code(body + credit_code_check_character(body)))
        == "organisation code check digit does not match"
    )


def test_check_characters_of_published_codes() -> None:
    assert credit_code_check_character("91350100M000100Y4") == "3"
    assert credit_code_check_character("9144030071526726X") == "G"
    assert organisation_code_check_character("71526726") == "X"
    assert organisation_code_check_character("10115961") == "9"
    assert organisation_code_check_character("M000100Y") == "4"


def test_check_character_of_a_body_with_a_remainder_of_zero_is_zero() -> None:
    # (31 - 0 % 31) % 31: a weighted sum divisible by 31 gives "0", not an index error.
    assert credit_code_check_character("0" * 17) == "0"


def _random_valid_credit_code(generator: random.Random) -> str:
    authority = generator.choice(sorted(ORGANISATION_TYPES_BY_REGISTRATION_AUTHORITY))
    organisation_type = generator.choice(ORGANISATION_TYPES_BY_REGISTRATION_AUTHORITY[authority])
    region = "".join(generator.choice("0123456789") for _ in range(6))
    organisation_body = "".join(generator.choice(CREDIT_CODE_CHARACTERS) for _ in range(8))
    body = authority + organisation_type + region + organisation_body
    body += organisation_code_check_character(organisation_body)
    return body + credit_code_check_character(body)


def test_any_well_formed_body_with_its_computed_check_character_is_accepted() -> None:
    generator = random.Random(32100)
    for _ in range(500):
        code = _random_valid_credit_code(generator)
        assert normalize_credit_code(code) == code


def test_changing_any_one_character_of_a_valid_code_is_refused() -> None:
    generator = random.Random(11714)
    for _ in range(40):
        code = _random_valid_credit_code(generator)
        for position in range(18):
            for replacement in CREDIT_CODE_CHARACTERS:
                if replacement == code[position]:
                    continue
                altered = code[:position] + replacement + code[position + 1 :]
                with pytest.raises(ValueError):
                    normalize_credit_code(altered)


def test_swapping_two_neighbouring_characters_of_a_valid_code_is_refused() -> None:
    generator = random.Random(2015)
    for _ in range(200):
        code = _random_valid_credit_code(generator)
        for position in range(16):
            if code[position] == code[position + 1]:
                continue
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            with pytest.raises(ValueError):
                normalize_credit_code(swapped)


# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("13812345678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("+86 (138) 1234-5678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("(021) 6234 5678", "+862162345678"),
        ("010-8888 6666", "+861088886666"),
        ("+1 415 555 0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected


def test_phone_without_country_code_is_read_in_the_default_region() -> None:
    assert normalize_phone("(415) 555-0100", default_region="US") == "+14155550100"
    assert normalize_phone("020 7946 0958", default_region="gb") == "+442079460958"


@pytest.mark.parametrize(
    "text",
    ["", "12345", "138 1234 567", "+86 138 1234 56789", "not a phone", "+999 1234 5678", "95588"],
)
def test_invalid_phone_numbers_are_refused(text: str) -> None:
    assert refusal_reason(lambda: normalize_phone(text)) == "not a valid phone number"


def test_phone_with_an_extension_is_refused_rather_than_truncated() -> None:
    assert (
        refusal_reason(lambda: normalize_phone("021-6234-5678 ext. 801"))
        == "phone extensions are not supported"
    )


def test_phone_search_key_reverses_the_digits() -> None:
    # 8613812345678 read backwards (the brief's "87654321831268" had a stray digit).
    assert phone_search_key("+8613812345678") == "8765432183168"


def test_phone_search_key_refuses_anything_but_e164() -> None:
    assert refusal_reason(lambda: phone_search_key("138 1234 5678")) == "not an E.164 phone number"


def test_phone_suffix_key_matches_the_search_key_by_prefix() -> None:
    stored = phone_search_key(normalize_phone("138 1234 5678"))

    assert phone_suffix_key("5678") == "8765"
    assert phone_suffix_key("1234-5678") == "87654321"
    assert phone_suffix_key("５６７８") == "8765"
    assert stored.startswith(phone_suffix_key(" 56-78 "))
    assert phone_suffix_key("no digits") == ""


# ---------------------------------------------------------------------------------------------
# E-mail addresses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Zhang.Wei@Example.COM ", "zhang.wei@example.com"),
        ("wang.fang+crm@mail.loopcrm.cn", "wang.fang+crm@mail.loopcrm.cn"),
        ("Jane.Doe@ACME.co.uk", "jane.doe@acme.co.uk"),
        ("张伟@例子.中国", "张伟@例子.中国"),
    ],
)
def test_email_addresses_are_trimmed_and_lower_cased(text: str, expected: str) -> None:
    assert normalize_email(text) == expected


@pytest.mark.parametrize(
    "text", ["", "zhang.wei", "zhang.wei@", "@example.com", "a@b", "x@localhost", "a b@example.com"]
)
def test_invalid_email_addresses_are_refused(text: str) -> None:
    assert refusal_reason(lambda: normalize_email(text)) == "not a valid email address"


# ---------------------------------------------------------------------------------------------
# Websites and domains
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("www.Example.com", "https://www.example.com"),
        (" example.com/About ", "https://example.com/About"),
        ("http://example.com/", "http://example.com"),
        ("HTTPS://WWW.MG-PEN.COM", "https://www.mg-pen.com"),
        ("https://example.com:8080/path?q=1#top", "https://example.com:8080/path?q=1#top"),
        ("例子.中国", "https://例子.中国"),
    ],
)
def test_websites_get_a_scheme_and_a_lower_case_host(text: str, expected: str) -> None:
    assert normalize_website(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "localhost",
        "http://192.168.1.1",
        "ftp://example.com",
        "https://user:secret@example.com",
        "exa mple.com",
        "-example-.com",
        "https://example.com:99999",
        "mailto:wang@example.com",
    ],
)
def test_invalid_websites_are_refused(text: str) -> None:
    assert refusal_reason(lambda: normalize_website(text)) == "not a valid website address"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://www.Example.com/about", "example.com"),
        ("www.mg-pen.com", "mg-pen.com"),
        ("shop.example.com", "shop.example.com"),
        ("Wang.Fang@Mail.Example.COM", "mail.example.com"),
        ("jane@www.acme.com", "acme.com"),
        ("www.cn", "www.cn"),
    ],
)
def test_domain_of_websites_and_email_addresses(text: str, expected: str) -> None:
    assert domain_of(text) == expected


@pytest.mark.parametrize("text", ["", "localhost", "not a website", "wang@localhost", "http://10.0.0.1"])
def test_domain_of_text_without_a_public_domain_is_none(text: str) -> None:
    assert domain_of(text) is None
