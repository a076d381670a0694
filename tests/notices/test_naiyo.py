"""The 内容証明 counting and layout rules: each rule with a text that keeps it and one that
breaks it, and ``lay_out``'s output checked by ``check_text`` over generated paragraphs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.naiyo import (
    Layout,
    Rule,
    check_text,
    check_word_text,
    count_line,
    lay_out,
    measure_text,
)

A = "あ"  # one ordinary character


def rules(text: str, layout: Layout = Layout.H20x26, nouns: tuple[str, ...] = ()) -> set[Rule]:
    return {p.rule for p in check_text(text, layout, nouns)}


def test_layouts_parse_and_refuse_others() -> None:
    assert Layout.parse("20x26") is Layout.H20x26
    assert (Layout.parse("13x40").columns, Layout.parse("13x40").lines) == (13, 40)
    assert (Layout.H26x20.columns, Layout.H26x20.lines) == (26, 20)
    with pytest.raises(ValueError, match="20x26, 13x40, 26x20"):
        Layout.parse("20x20")


def test_twenty_characters_fit_twenty_one_do_not() -> None:
    assert count_line(A * 20) == 20 and check_text(A * 20) == []
    [problem] = check_text(A * 20 + "\n" + A * 21)
    assert (problem.line, problem.rule) == (2, Rule.LINE_TOO_LONG)
    assert "21 characters" in problem.message and str(problem).startswith("line 2: ")


def test_a_bracket_pair_counts_once_on_the_opening_line() -> None:
    assert count_line("「あいう」") == 4
    assert check_text("「" + A * 19 + "」") == []
    assert rules("「" + A * 20 + "」") == {Rule.LINE_TOO_LONG}
    for pair in ("『』", "（）", "()", "【】", "〔〕", "［］", "｛｝", "〈〉", "《》", "“”"):
        assert count_line(pair[0] + A + pair[1]) == 2, pair


def test_a_pair_spanning_lines_counts_on_the_opening_line_only() -> None:
    text = A * 19 + "「\n" + "」" + A * 20
    assert measure_text(text).counts == (20, 20)
    assert check_text(text) == []
    assert rules(A * 20 + "「\n" + "」" + A) == {Rule.LINE_TOO_LONG}


def test_unbalanced_brackets_are_refused() -> None:
    [closing] = check_text("あ」い")
    assert (closing.line, closing.rule) == (1, Rule.UNMATCHED_CLOSING_BRACKET)
    [unclosed] = check_text("あ\n「い\nう")
    assert (unclosed.line, unclosed.rule) == (2, Rule.UNCLOSED_BRACKET)
    crossed = check_text("「（あ」")  # 」 closes 「 while （ is still open
    assert [p.rule for p in crossed] == [Rule.UNCLOSED_BRACKET]
    assert check_text("「『あ』」（い）") == []


def test_squared_units_count_two() -> None:
    assert count_line("120㎡") == 5 and count_line("㎏㎝㎞㍉㌔℃") == 12
    assert check_text(A * 18 + "㎡") == []
    assert rules(A * 19 + "㎡") == {Rule.LINE_TOO_LONG}


def test_circled_numbers_count_two_or_three_and_one_as_list_markers() -> None:
    assert count_line("あ①") == 3 and count_line("あ⑩") == 4 and count_line("あ⑳") == 4
    assert count_line("①あ") == 2 and count_line("　⑩あ") == 3  # numbering an item
    assert check_text("①" + A * 19) == [] and check_text(A * 18 + "①") == []
    assert rules(A * 19 + "①") == {Rule.LINE_TOO_LONG}
    assert check_text(A * 17 + "⑩") == [] and rules(A * 18 + "⑩") == {Rule.LINE_TOO_LONG}
    assert count_line("①ＡＢ", ["①ＡＢ"]) == 4  # part of a name, not an item's number


def test_half_width_digits_and_punctuation_count_one() -> None:
    assert count_line("2024-10-01, 12:30.") == 18
    assert check_text("1234567890.,:;-/!?%&") == []
    assert rules("1234567890.,:;-/!?%&*") == {Rule.LINE_TOO_LONG}


def test_spaces_count_and_trailing_ones_do_not() -> None:
    assert count_line("　あ い") == 4
    assert count_line(A * 20 + "　 ") == 20


def test_latin_letters_only_inside_proper_nouns() -> None:
    nouns = ("株式会社ＡＢＣ企画", "https://broker.example.jp/list")
    assert check_text("株式会社ＡＢＣ企画　御中", proper_nouns=nouns) == []
    assert check_text("株式会社abc企画", proper_nouns=nouns) == []  # width and case folded
    [latin] = check_text("あ\nＡＢＣです", proper_nouns=nouns)
    assert (latin.line, latin.rule) == (2, Rule.LATIN_OUTSIDE_PROPER_NOUN)
    assert "ＡＢＣ" in latin.message
    assert rules("当社のmeiboです") == {Rule.LATIN_OUTSIDE_PROPER_NOUN}
    split = "掲載先https://broker\n.example.jp/list"  # a URL broken across lines
    assert check_text(split, proper_nouns=nouns) == []
    # A piece of a name is not the name; a paragraph break ends the search.
    assert rules("https://broker", nouns=nouns) == {Rule.LATIN_OUTSIDE_PROPER_NOUN}
    assert rules("https://broker\n\n.example.jp/list", nouns=nouns) == {
        Rule.LATIN_OUTSIDE_PROPER_NOUN
    }


def test_blank_lines_are_free() -> None:
    text = "\n\n".join([A * 20] * 26) + "\n　 \n"
    measure = measure_text(text)
    assert (measure.lines, measure.pages) == (26, 1)
    assert check_text(text) == []


def test_twenty_seven_lines_make_two_pages() -> None:
    assert measure_text("\n".join([A] * 26)).pages == 1
    measure = measure_text("\n".join([A] * 27))
    assert (measure.lines, measure.pages, measure.layout) == (27, 2, Layout.H20x26)


def test_the_other_layouts() -> None:
    assert check_text(A * 13, Layout.H13x40) == []
    assert rules(A * 14, Layout.H13x40) == {Rule.LINE_TOO_LONG}
    assert check_text(A * 26, Layout.H26x20) == []
    assert rules(A * 27, Layout.H26x20) == {Rule.LINE_TOO_LONG}
    assert measure_text("\n".join([A] * 40), Layout.H13x40).pages == 1
    assert measure_text("\n".join([A] * 41), Layout.H13x40).pages == 2
    assert measure_text("\n".join([A] * 21), Layout.H26x20).pages == 2


def test_characters_outside_jis_x0208() -> None:
    [problem] = check_text("髙橋様")
    assert problem.rule is Rule.NOT_JIS and "U+9AD9" in problem.message
    assert check_text("①㎡㈱") == []  # the post office counts these on paper …
    assert {p.rule for p in check_word_text("①㎡㈱")} == {Rule.NOT_JIS}  # … Word takes none
    assert check_text("〜～−－") == [] and check_word_text("〜～−－") == []  # CP932 spellings
    assert rules("あ\tい") == {Rule.CONTROL_CHARACTER}
    assert rules("ｱｲｳ") == {Rule.NOT_JIS}  # half-width kana are JIS X 0201, not 0208


def test_line_numbers_are_the_files_and_carriage_returns_do_not_shift_them() -> None:
    [problem] = check_text("あ\r\n\r\nい\r\n" + A * 21 + "\r\n")
    assert problem.line == 4


def test_lay_out_breaks_separates_paragraphs_and_applies_kinsoku() -> None:
    text = lay_out(["通知書", A * 20 + "。" + A * 5, "", "「" + A * 19 + "」。"], Layout.H20x26)
    blocks = text.split("\n\n")
    assert blocks[0] == "通知書" and len(blocks) == 3
    assert blocks[1].split("\n") == [A * 19, A + "。" + A * 5]  # 。 never starts a line
    assert blocks[2].split("\n") == ["「" + A * 18, A + "」。"]
    assert check_text(text) == []


def test_lay_out_keeps_names_numbers_and_units_whole_when_they_fit() -> None:
    nouns = ("株式会社ＡＢＣ企画",)
    text = lay_out([A * 15 + "株式会社ＡＢＣ企画と120㎡の土地"], Layout.H20x26, nouns)
    assert text.split("\n")[1].startswith("株式会社ＡＢＣ企画と120㎡")
    url = "https://broker.example.jp/meibo/list-2024?page=12&sort=desc"
    long = lay_out([f"掲載先（{url}）を確認"], Layout.H13x40, (url,))
    assert max(count_line(line) for line in long.split("\n")) <= 13
    assert check_text(long, Layout.H13x40, (url,)) == []


NOUNS = (
    "株式会社ＡＢＣ企画",
    "Acme Data合同会社",
    "ＸＹＺリスト",
    "https://broker.example.jp/meibo/list-2024?page=12&sort=desc",
)
WORDS = (
    "当社は", "貴社が", "運営する", "ウェブサイトにおいて", "名簿", "を確認しました", "、", "。",
    "令和六年十月一日", "ください", "35,000,000件", "2024年10月1日", "120㎡", "3.5㎞", "①",
    "⑫", "　", "利用の停止", "第三者", "提供", "直ちに", "～", "・", "ー",
)  # fmt: skip


@st.composite
def sentences(draw: st.DrawFn, depth: int = 0) -> str:
    """Japanese text with balanced brackets, numbers, units, circled numbers and names."""
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.integers(0, 9))
        if kind == 0 and depth < 2:
            pair = draw(st.sampled_from(["「」", "『』", "（）", "()", "【】", "“”"]))
            parts.append(pair[0] + draw(sentences(depth + 1)) + pair[1])
        elif kind == 1:
            parts.append(draw(st.sampled_from(NOUNS)))
        else:
            parts.append(draw(st.sampled_from(WORDS)))
    return "".join(parts)


@st.composite
def paragraphs(draw: st.DrawFn) -> list[str]:
    marker = st.sampled_from(["", "", "①", "⑩", "　", "　②"])
    return [draw(marker) + draw(sentences()) for _ in range(draw(st.integers(1, 6)))]


@settings(max_examples=300, deadline=None)
@given(paragraphs(), st.sampled_from(list(Layout)))
def test_lay_out_output_passes_check_text(paras: list[str], layout: Layout) -> None:
    text = lay_out(paras, layout, NOUNS)
    assert check_text(text, layout, NOUNS) == []
    assert "".join(text.split()) == "".join("".join(paras).split())  # nothing lost or added
    assert "\n\n\n" not in text and not text.startswith("\n")
    for block in text.split("\n\n"):
        for line in block.split("\n")[1:]:  # continuation lines: kinsoku
            assert line[0] not in "、。，．」』）", text
