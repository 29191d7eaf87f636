"""Names: display order, pinyin keys, full-text search terms and duplicate matching."""

from __future__ import annotations

import re

import pytest

from loopcrm.modules.customers.names import (
    display_name,
    fold_for_search,
    is_chinese,
    normalize_name_for_matching,
    pinyin_keys,
    search_terms,
)

# ---------------------------------------------------------------------------------------------
# Chinese text and display names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王芳", True),
        ("Jane 王", True),
        ("𠀀", True),  # extension B
        ("Jane Doe", False),
        ("さくら", False),
        ("김민준", False),
        ("（）、。", False),
        ("", False),
    ],
)
def test_is_chinese_means_contains_a_cjk_unified_ideograph(text: str, expected: bool) -> None:
    assert is_chinese(text) is expected


@pytest.mark.parametrize(
    ("family_name", "given_name", "expected"),
    [
        ("王", "芳", "王芳"),
        ("欧阳", " 娜娜 ", "欧阳娜娜"),
        ("王", "", "王"),
        ("", "芳", "芳"),
        ("Doe", "Jane", "Jane Doe"),
        ("van  der Berg", "Anna", "Anna van der Berg"),
        ("Doe", "", "Doe"),
        ("", "Jane", "Jane"),
        ("", "", ""),
    ],
)
def test_display_name_uses_the_order_of_the_name_s_language(
    family_name: str, given_name: str, expected: str
) -> None:
    assert display_name(family_name, given_name) == expected


def test_fold_for_search_lower_cases_and_removes_latin_accents_only() -> None:
    assert fold_for_search("José MÜLLER ＡＢＣ") == "jose muller abc"
    assert fold_for_search("ガ 王芳") == "ガ 王芳"


# ---------------------------------------------------------------------------------------------
# Pinyin keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王芳", ("wangfang", "wf")),
        ("张小明", ("zhangxiaoming", "zxm")),
        ("欧阳娜娜", ("ouyangnana", "oynn")),
        ("吕布", ("lvbu", "lb")),
        ("重庆银行", ("chongqingyinhang", "cqyh")),
        ("Jane Doe", ("janedoe", "jd")),
        ("  José  Müller ", ("josemuller", "jm")),
        ("李 Lei", ("lilei", "ll")),
        ("Jane 王芳", ("janewangfang", "jwf")),
        ("3M中国", ("3mzhongguo", "3zg")),
        ("", ("", "")),
    ],
)
def test_pinyin_keys_of_chinese_latin_and_mixed_names(text: str, expected: tuple[str, str]) -> None:
    assert pinyin_keys(text) == expected


@pytest.mark.parametrize(
    ("text", "family_name_length", "expected"),
    [
        ("单田芳", 1, ("shantianfang", "stf")),
        ("曾国藩", 1, ("zengguofan", "zgf")),
        ("解缙", 1, ("xiejin", "xj")),
        ("仇英", 1, ("qiuying", "qy")),
        ("朴槿惠", 1, ("piaojinhui", "pjh")),
        ("区家麟", 1, ("oujialin", "ojl")),
        ("查良镛", 1, ("zhaliangyong", "zly")),
        ("翟天临", 1, ("zhaitianlin", "ztl")),
        ("尉迟恭", 2, ("yuchigong", "ycg")),
        ("万俟卨", 2, ("moqixie", "mqx")),
        ("乐正绫", 2, ("yuezhengling", "yzl")),
        ("王芳", 1, ("wangfang", "wf")),
    ],
)
def test_family_name_takes_the_surname_reading(
    text: str, family_name_length: int, expected: tuple[str, str]
) -> None:
    assert pinyin_keys(text, family_name_length=family_name_length) == expected


def test_without_a_family_name_length_the_everyday_reading_is_used() -> None:
    assert pinyin_keys("单田芳") == ("dantianfang", "dtf")
    assert pinyin_keys("曾经") == ("cengjing", "cj")


def test_family_name_length_is_ignored_for_latin_names() -> None:
    assert pinyin_keys("Doe Jane", family_name_length=3) == ("doejane", "dj")


# ---------------------------------------------------------------------------------------------
# Search terms
# ---------------------------------------------------------------------------------------------


def test_search_terms_of_a_chinese_name() -> None:
    assert search_terms("王芳") == ["王芳", "芳", "wangfang", "fang", "wf"]


def test_search_terms_of_a_three_character_name_include_initials_of_the_given_name() -> None:
    assert search_terms("张小明") == [
        "张小明",
        "小明",
        "明",
        "zhangxiaoming",
        "xiaoming",
        "ming",
        "zxm",
        "xm",
    ]


def test_search_terms_of_a_latin_name() -> None:
    assert search_terms("Jane Doe") == ["jane", "doe", "janedoe", "jd"]


def test_search_terms_of_a_single_latin_word_have_no_one_letter_initials() -> None:
    assert search_terms("Acme") == ["acme"]


def test_search_terms_of_a_polyphonic_surname_hold_both_readings() -> None:
    assert search_terms("单田芳") == [
        "单田芳",
        "田芳",
        "芳",
        "dantianfang",
        "tianfang",
        "fang",
        "dtf",
        "tf",
        "shantianfang",
        "stf",
    ]


def test_search_terms_of_several_texts_are_deduplicated_in_order() -> None:
    assert search_terms("王芳", "Jane Wang", "王芳") == [
        "王芳",
        "芳",
        "wangfang",
        "fang",
        "wf",
        "jane",
        "wang",
        "janewang",
        "jw",
    ]


def test_search_terms_of_mixed_text() -> None:
    assert search_terms("Jane 王芳") == [
        "jane",
        "王芳",
        "芳",
        "wangfang",
        "fang",
        "janewangfang",
        "wf",
        "jwf",
    ]


def test_every_hanzi_substring_and_its_pinyin_is_a_prefix_of_some_term() -> None:
    name = "上海晨光文具股份有限公司"
    terms = search_terms(name)

    for start in range(len(name)):
        for end in range(start + 1, len(name) + 1):
            substring = name[start:end]
            substring_pinyin, _ = pinyin_keys(substring)
            assert any(term.startswith(substring) for term in terms), substring
            assert any(term.startswith(substring_pinyin) for term in terms), substring_pinyin
    assert "shcgwj" in [term[:6] for term in terms]


def test_search_terms_read_polyphones_in_context() -> None:
    assert search_terms("重庆银行")[4:8] == ["chongqingyinhang", "qingyinhang", "yinhang", "hang"]


def test_search_terms_hold_no_fts_syntax_characters() -> None:
    terms = search_terms('Wang "Fang" O\'Brien-Smith * AND (NOT) 王芳^: 上海/北京 c++ a_b')

    assert all(re.fullmatch(r"[0-9a-z\u4e00-\u9fff]+", term) for term in terms), terms
    assert terms[:4] == ["wang", "fang", "o", "brien"]


def test_search_terms_per_text_are_capped() -> None:
    long_name = "中国石油化工股份有限公司北京燕山分公司第一炼油厂"
    terms = search_terms(long_name + " " + " ".join(f"word{index}" for index in range(40)))

    hanzi_terms = [term for term in terms if is_chinese(term)]
    assert len(hanzi_terms) == 16
    assert hanzi_terms[0] == long_name
    assert hanzi_terms[-1] == "山分公司第一炼油厂"
    assert [term for term in terms if term.startswith("word")][-1] == "word15"
    assert len(terms) <= 68


def test_search_terms_of_empty_texts_are_empty() -> None:
    assert search_terms("", "  ", "·") == []


# ---------------------------------------------------------------------------------------------
# Names for duplicate matching
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("上海晨光文具股份有限公司", "上海晨光文具（股份）有限公司", "上海晨光文具"),
        ("北京字节跳动科技有限公司", "北京字节跳动科技有限责任公司", "北京字节跳动科技"),
        ("中国平安保险（集团）股份有限公司", "中国平安保险集团", "中国平安保险"),
        ("海尔集团公司", "海尔集团", "海尔"),
        ("宝洁（中国）有限公司", "宝洁公司", "宝洁"),
        ("深圳前海投资中心（有限合伙）", "深圳前海投资中心", "深圳前海投资中心"),
        ("Acme Co., Ltd.", "ACME Ltd", "acme"),
        ("Acme Inc.", "acme, LLC", "acme"),
        ("Procter & Gamble (China) Ltd.", "PROCTER & GAMBLE", "proctergamble"),
        ("Siemens GmbH", "SIEMENS", "siemens"),
        ("Nestlé S.A.", "NESTLE SA", "nestle"),
        ("Unilever p.l.c.", "Unilever Limited", "unilever"),
        ("ＡＣＭＥ　Corp.", "Acme Corporation", "acme"),
    ],
)
def test_names_that_differ_only_in_legal_form_and_punctuation_match(
    first: str, second: str, expected: str
) -> None:
    assert normalize_name_for_matching(first) == expected
    assert normalize_name_for_matching(second) == expected


def test_different_companies_do_not_match() -> None:
    assert normalize_name_for_matching("中国银行股份有限公司") == "中国银行"
    assert normalize_name_for_matching("中国建设银行股份有限公司") == "中国建设银行"
    assert normalize_name_for_matching("Costco Wholesale") == "costcowholesale"


def test_a_name_that_is_only_a_legal_form_is_kept() -> None:
    assert normalize_name_for_matching("集团") == "集团"
    assert normalize_name_for_matching("Limited") == "limited"
    assert normalize_name_for_matching("") == ""


def test_person_names_match_across_spacing_and_case() -> None:
    assert normalize_name_for_matching(" Jane  DOE ") == normalize_name_for_matching("jane doe") == "janedoe"
    assert normalize_name_for_matching("王 芳") == normalize_name_for_matching("王芳") == "王芳"
