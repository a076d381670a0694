"""The clause library: every default clause, the legal team's edits on top, and which letter
cites which."""

from __future__ import annotations

import pytest

from notices.clauses import DEFAULT_KEYS, clauses_for, defaults, library
from notices.letter import Clause, LetterKind
from notices.naiyo import is_jis_x0208, is_latin

EXPECTED_TITLES = {
    "appi-19": ("個人情報保護法第19条", "不適正な利用の禁止"),
    "appi-20-1": ("個人情報保護法第20条第1項", "適正な取得"),
    "appi-27-2": ("個人情報保護法第27条第2項", "オプトアウト"),
    "appi-30": ("個人情報保護法第30条", "第三者提供を受ける際の確認等"),
    "appi-179": ("個人情報保護法第179条", "個人情報データベース等不正提供罪"),
    "ucpa-2-1-6": ("不正競争防止法第2条第1項第6号", "営業秘密"),
    "ucpa-2-1-9": ("不正競争防止法第2条第1項第9号", "営業秘密"),
    "ucpa-3": ("不正競争防止法第3条", "差止請求権"),
}


def test_every_default_clause_is_there_with_its_article() -> None:
    clauses = defaults()
    assert set(clauses) == set(EXPECTED_TITLES) == set(DEFAULT_KEYS)
    for key, (article, subject) in EXPECTED_TITLES.items():
        clause = clauses[key]
        assert clause.key == key
        assert clause.title.startswith(article) and subject in clause.title
        assert len(clause.text) > 60


def test_clauses_state_what_the_provisions_say() -> None:
    clauses = defaults()
    # 27(2) proviso: data acquired in breach of 20(1) cannot go out by opt-out
    assert "ただし書" in clauses["appi-27-2"].text
    assert "第20条第1項の規定に違反して取得された" in clauses["appi-27-2"].text
    assert "個人情報保護委員会に届け出る" in clauses["appi-27-2"].text
    assert "取得の経緯" in clauses["appi-30"].text
    assert "不正な利益を図る目的" in clauses["appi-179"].text
    # items 6 and 9: use after learning of wrongful acquisition / disclosure
    assert "取得した後に" in clauses["ucpa-2-1-6"].text
    assert "不正取得行為" in clauses["ucpa-2-1-6"].text
    assert "取得した後に" in clauses["ucpa-2-1-9"].text
    assert "不正開示行為" in clauses["ucpa-2-1-9"].text
    assert "廃棄" in clauses["ucpa-3"].text


def test_clauses_print_in_a_naiyo_letter() -> None:
    """A clause goes into the 内容証明 text as it is: JIS X 0208, no Latin, no circled number."""
    for clause in defaults().values():
        for ch in clause.title + clause.text:
            assert is_jis_x0208(ch), (clause.key, ch)
            assert not is_latin(ch), (clause.key, ch)
            assert not 0x2460 <= ord(ch) <= 0x24FF, (clause.key, ch)


def test_no_edits_give_the_defaults() -> None:
    assert library() == defaults()
    assert library({}) == defaults()


def test_edits_replace_title_and_text() -> None:
    edited = library({"appi-19": ("第19条（改）", "弁護士が直した本文。")})
    assert edited["appi-19"] == Clause("appi-19", "第19条（改）", "弁護士が直した本文。")
    assert edited["appi-30"] == defaults()["appi-30"]


def test_an_edit_of_a_new_key_adds_a_clause() -> None:
    edited = library({"civil-709": ("民法第709条（不法行為）", "本文。")})
    assert edited["civil-709"].title == "民法第709条（不法行為）"
    assert set(edited) == set(DEFAULT_KEYS) | {"civil-709"}


@pytest.mark.parametrize(
    "edit", [("", "本文。"), ("題", ""), ("題", "   ")], ids=["no title", "no text", "blank"]
)
def test_an_empty_edit_is_refused(edit: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="appi-19"):
        library({"appi-19": edit})


def test_library_is_pure() -> None:
    edits = {"appi-19": ("題", "本文。")}
    first = library(edits)
    first["appi-30"] = Clause("appi-30", "x", "y")
    assert library(edits)["appi-30"] == defaults()["appi-30"]
    assert edits == {"appi-19": ("題", "本文。")}
    assert defaults()["appi-19"].title != "題"


def test_the_first_letters_do_not_cite_the_crime_the_final_notice_does() -> None:
    lib = library()
    for kind in (LetterKind.CEASE_USE, LetterKind.REMINDER):
        keys = [c.key for c in clauses_for(kind, lib)]
        assert "appi-179" not in keys
        assert {"appi-19", "appi-20-1", "appi-27-2", "appi-30", "ucpa-2-1-6", "ucpa-3"} <= set(keys)
    assert [c.key for c in clauses_for(LetterKind.FINAL, lib)] == list(DEFAULT_KEYS)


def test_clauses_for_takes_the_edited_wording() -> None:
    lib = library({"ucpa-3": ("不正競争防止法第3条（差止請求権）", "直した本文。")})
    [ucpa3] = [c for c in clauses_for(LetterKind.CEASE_USE, lib) if c.key == "ucpa-3"]
    assert ucpa3.text == "直した本文。"


def test_each_clause_names_its_law() -> None:
    """Counsel may cite any selection in any order: no clause leans on the one before it."""
    for clause in defaults().values():
        law = "個人情報保護法" if clause.key.startswith("appi") else "不正競争防止法"
        assert clause.text.startswith(law), clause.key
