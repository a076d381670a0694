"""Letters rendered to text and HTML: every kind, the 内容証明 variant against the validator,
crawled text escaped, and edited templates kept in the sandbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest
from jinja2 import TemplateError

from notices.letter import LetterFacts, LetterKind
from notices.naiyo import Layout, check_text, check_word_text, is_jis_x0208, proper_noun_cover
from notices.render import (
    render_certificate_html,
    render_certificate_text,
    render_html,
    render_naiyo,
    render_text,
)
from notices.sandbox import TemplateRefused, jst, wareki

MakeFacts = Callable[[LetterKind], LetterFacts]
WithIdentifier = Callable[[LetterFacts, str], LetterFacts]


def _text_form_problems(paragraphs: list[str], proper_nouns: tuple[str, ...]) -> list[str]:
    """The text form's own rules, before any layout: Latin only in proper nouns, JIS X 0208
    only (so no circled number either)."""
    problems = []
    for paragraph in paragraphs:
        covered = proper_noun_cover(paragraph, proper_nouns)
        for i, ch in enumerate(paragraph):
            if ch.isascii() and ch.isalpha() and i not in covered:
                problems.append(f"Latin {ch!r} in {paragraph[:30]!r}")
            if not is_jis_x0208(ch) or 0x2460 <= ord(ch) <= 0x24FF:
                problems.append(f"not JIS X 0208: {ch!r} in {paragraph[:30]!r}")
    return problems


# -- every kind ---------------------------------------------------------------------------


def test_every_kind_renders_as_text(any_facts: LetterFacts) -> None:
    paragraphs = render_text(any_facts)
    text = "\n".join(paragraphs)
    title = {"cease_use": "通知書", "reminder": "催告書", "final": "最終通告書"}[any_facts.kind]
    assert title in paragraphs
    assert any_facts.reference in text
    assert any_facts.recipient.name in text
    assert "代表取締役 名簿 花子 殿" in text
    for listing in any_facts.listings:
        assert f"名簿「{listing.identifier}」" in text
        assert listing.url in text
    assert "合計1,153件" in text
    for reason in any_facts.grade_reasons:
        assert reason in text
    for clause in any_facts.clauses:
        assert clause.title in text and clause.text in text
    assert wareki(any_facts.deadline) in text
    assert paragraphs[-1] == "以上"
    assert all(p.strip() and not p.endswith(" ") for p in paragraphs)


def test_the_text_form_keeps_to_the_naiyo_characters(any_facts: LetterFacts) -> None:
    assert _text_form_problems(render_text(any_facts), any_facts.proper_nouns()) == []
    certificate = render_certificate_text(any_facts)
    assert _text_form_problems(certificate, any_facts.proper_nouns()) == []


def test_the_verification_line(facts: LetterFacts) -> None:
    line = (
        "この通知書の真正性は http://127.0.0.1:8000/verify で文書番号と確認コード 48213907 "
        "を入力してご確認いただけます。"
    )
    assert line in render_text(facts)
    html = render_html(facts)
    assert "この通知書の真正性は" in html and facts.verify_url in html
    assert facts.verify_code in html


def test_the_cease_use_request_says_what_it_asks(facts: LetterFacts) -> None:
    text = "\n".join(render_text(facts))
    assert "令和8年12月6日（2026年12月6日）" in text
    assert "令和8年12月20日（2026年12月20日）までに" in text
    for demand in ("利用及び第三者への提供を直ちに停止", "すべて消去", "削除証明書", "入手先"):
        assert demand in text
    # captures in Japan time: 01:15 UTC is 10:15 in Japan; the digests are in the HTML only
    assert "2026年11月2日 10時15分（日本時間）" in text
    assert facts.listings[0].captures[0].sha256 not in text
    html = render_html(facts)
    for listing in facts.listings:
        for capture in listing.captures:
            assert capture.sha256 in html


def test_a_company_is_addressed_by_its_representative_or_as_a_company(
    facts: LetterFacts,
) -> None:
    """御中 for a company with no one named, 殿 for the named representative, never both."""
    assert "株式会社サンプル名簿 御中" not in "\n".join(render_text(facts))
    unnamed = dataclasses.replace(
        facts, recipient=dataclasses.replace(facts.recipient, representative="")
    )
    assert render_text(unnamed)[1] == "株式会社サンプル名簿 御中"
    assert '<p class="name">株式会社サンプル名簿 御中</p>' in render_html(unnamed)


@pytest.mark.parametrize("kind", [LetterKind.REMINDER, LetterKind.FINAL])
def test_reminders_and_final_notices_cite_the_earlier_letters(
    kind: LetterKind, facts_of: MakeFacts
) -> None:
    facts = facts_of(kind)
    text = "\n".join(render_text(facts))
    html = render_html(facts)
    for prior in facts.prior:
        cited = f"{wareki(prior.sent_on)}付け書面（文書番号 {prior.reference}、回答期限 "
        assert cited + f"{wareki(prior.deadline)}）" in text
        assert cited in html
    assert "令和8年12月6日付け書面（文書番号 2026-0001" in text


def test_a_reminder_without_earlier_letters_is_refused(facts_of: MakeFacts) -> None:
    reminder = dataclasses.replace(facts_of(LetterKind.REMINDER), prior=())
    with pytest.raises(ValueError, match="催告書"):
        render_text(reminder)


def test_the_final_notice_announces_legal_steps(facts_of: MakeFacts) -> None:
    text = "\n".join(render_text(facts_of(LetterKind.FINAL)))
    assert "最終の通告" in text and "差止請求その他の法的手続" in text
    assert "個人情報保護法第179条" in text


def test_the_deletion_certificate(facts: LetterFacts) -> None:
    text = "\n".join(render_certificate_text(facts))
    html = render_certificate_html(facts)
    for form in (text, html):
        assert "削除証明書" in form
        assert "デモ教育株式会社 御中" in form
        assert "令和8年12月6日付け通知書（文書番号 2026-0001）" in form
        assert "名称　株式会社サンプル名簿" in form
        assert "KIDS-2024-TOKYO" in form and "MAMA-SAITAMA-2023" in form
        assert "印" in form
    assert "<!DOCTYPE html>" in html


def test_the_html_document_prints_on_a4_with_page_numbers(facts: LetterFacts) -> None:
    html = render_html(facts)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ja">' in html
    assert "size: A4" in html
    assert 'counter(page) " / " counter(pages)' in html
    for font in ("Noto Serif CJK JP", "Noto Sans CJK JP", "IPAexMincho"):
        assert font in html
    body = lxml.html.document_fromstring(html).text_content()
    assert "通知書" in body and "株式会社サンプル名簿" in body


# -- the 内容証明 variant --------------------------------------------------------------


@pytest.mark.parametrize("layout", list(Layout), ids=lambda lay: lay.value)
def test_the_naiyo_variant_passes_the_validator(any_facts: LetterFacts, layout: Layout) -> None:
    text = render_naiyo(any_facts, layout)
    assert check_text(text, layout, any_facts.proper_nouns()) == []
    assert check_word_text(text, layout, any_facts.proper_nouns()) == []
    if layout.columns >= len("KIDS-2024-TOKYO"):
        assert "KIDS-2024-TOKYO" in text  # a proper noun shorter than a line is never split


# -- crawled text is hostile ------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("identifier", HOSTILE)
def test_hostile_identifiers_are_escaped_in_html(
    identifier: str, facts: LetterFacts, with_identifier: WithIdentifier
) -> None:
    hostile = with_identifier(facts, identifier)
    for html in (render_html(hostile), render_certificate_html(hostile)):
        assert identifier not in html
        tree = lxml.html.document_fromstring(html)
        assert not tree.xpath("//script | //svg | //img | //*[@onerror] | //*[@onload]")
        shown = tree.xpath('//span[@class="identifier"]/text()')
        assert identifier in shown  # printed as text, exactly as the broker published it


def test_template_syntax_in_data_stays_data(
    facts: LetterFacts, with_identifier: WithIdentifier
) -> None:
    hostile = with_identifier(facts, "{{ 7*7 }}{% raw %}")
    assert "名簿「{{ 7*7 }}{% raw %}」\n" in "\n".join(render_text(hostile))
    assert "{{ 7*7 }}{% raw %}" in render_html(hostile)


def test_control_and_direction_characters_do_not_reach_the_letter(
    facts: LetterFacts, with_identifier: WithIdentifier
) -> None:
    hostile = with_identifier(facts, "KIDS\u202e2024\nTOKYO\x07")
    text = render_text(hostile)
    [line] = [p for p in text if "名簿「KIDS" in p][:1]
    assert "名簿「KIDS2024 TOKYO」" in line
    assert "\u202e" not in render_html(hostile) and "\x07" not in render_html(hostile)


# -- the sandbox --------------------------------------------------------------------------

ESCAPES = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals": "{{ cycler.__init__.__globals__ }}",
    "os": "{{ lipsum.__globals__['os'].system('touch /tmp/lw-sandbox-escaped') }}",
    "facts globals": "{{ facts.proper_nouns.__func__.__globals__ }}",
    "facts class": "{{ facts.__class__.__init__ }}",
    "mutate list": "{% set xs = [1, 2] %}{{ xs.append(3) }}{{ xs }}",
    "mutate dict": "{% set d = {} %}{{ d.update(a=1) }}",
    "format": "{{ '{0.__class__}'.format(facts) }}",
    "huge string": "{{ 'x' * 1000000000 }}",
    "huge power": "{{ 2 ** 100000000 }}",
    "growing power": "{{ 9 ** 99 ** 99 ** 99 }}",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_hostile_templates_are_refused(source: str, facts: LetterFacts) -> None:
    marker = Path("/tmp/lw-sandbox-escaped")
    marker.unlink(missing_ok=True)
    edited = "<p>通知書</p>\n<p>二行目</p>\n" + source
    for render in (render_html, render_text):
        with pytest.raises(TemplateRefused) as refused:
            render(facts, edited)
        assert not isinstance(refused.value, TemplateError)  # a plain error for callers
        assert refused.value.template in ("cease_use.html", "cease_use.txt")
        assert refused.value.line == 3, refused.value
        assert f"{refused.value.template}:3" in str(refused.value)
    assert not marker.exists()


def test_an_unknown_name_is_refused_with_its_line(facts: LetterFacts) -> None:
    with pytest.raises(TemplateRefused) as refused:
        render_html(
            facts,
            "{% extends '_letter.html' %}\n{% block body %}\n{{ sendr.name }}\n{% endblock %}",
        )
    assert refused.value.line == 3 and "sendr" in str(refused.value)


def test_a_syntax_error_is_refused_with_its_line(facts: LetterFacts) -> None:
    with pytest.raises(TemplateRefused) as refused:
        render_text(facts, "一行目\n{% if %}\n")
    assert refused.value.template == "cease_use.txt" and refused.value.line == 2


def test_an_edited_template_is_used_for_its_letter_only(facts_of: MakeFacts) -> None:
    edited = (
        "{% extends '_letter.html' %}{% import '_parts.html' as parts %}{% block body %}"
        "<h1>{{ title }}（弁護士による改訂版）</h1>{{ parts.clauses(facts) }}{% endblock %}"
    )
    facts = facts_of(LetterKind.CEASE_USE)
    html = render_html(facts, edited)
    assert "通知書（弁護士による改訂版）" in html and "size: A4" in html
    assert facts.clauses[0].title in html
    assert "改訂版" not in render_html(facts)  # the packaged template is untouched
    assert "改訂版" not in render_html(facts_of(LetterKind.REMINDER))
    text = render_text(facts, "{{ title }}（改訂版）\n\n{{ facts.recipient.name }} 御中\n")
    assert text == ["通知書（改訂版）", "株式会社サンプル名簿 御中"]


def test_an_edited_template_is_escaped_too(
    facts: LetterFacts, with_identifier: WithIdentifier
) -> None:
    hostile = with_identifier(facts, "<script>alert(1)</script>")
    html = render_html(
        hostile, "{% for l in facts.listings %}<p>{{ l.identifier }}</p>{% endfor %}"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html


# -- the filters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 6), "令和8年12月6日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
    ],
)
def test_wareki(day: date, expected: str) -> None:
    assert wareki(day) == expected


def test_capture_times_print_in_japan_time() -> None:
    assert jst(datetime(2026, 11, 5, 23, 40, tzinfo=UTC)) == "2026年11月6日 8時40分"
    assert jst(datetime(2026, 11, 5, 23, 40)) == "2026年11月6日 8時40分"  # naive is UTC
    paris = timezone(timedelta(hours=1))
    assert jst(datetime(2026, 11, 6, 0, 40, tzinfo=paris)) == "2026年11月6日 8時40分"
