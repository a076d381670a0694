"""Content decides the reader; several values in one cell are all kept; selectors read
attributes. Units on bodies as sites really send them (names and types that lie)."""

from __future__ import annotations

import io

import pytest

from crawler.fields import classify_value, is_phone_list
from crawler.files import sniff_delimiter
from crawler.readers import read_body, sniff
from crawler.tables import compile_selectors, parse_html, records_from_html, records_from_selectors
from crawler.text_records import records_from_text
from matcher.phone import phone_numbers

BLOCKS = (
    "【流出】名簿 抜粋\n掲載日：2015年3月2日\n\n"
    "氏名：山田 太郎\nふりがな：やまだ たろう\n郵便番号：〒102-0074\n"
    "住所：東京都千代田区九段南1-2-3\n電話：03-1234-5678\n\n"
    "氏名：佐藤 花子\nふりがな：さとう はなこ\n郵便番号：〒530-0001\n"
    "住所：大阪府大阪市北区梅田1-1-1\n電話：06-1111-2222\nFAX：06-1111-2223\n\n"
)
CSV = "氏名,電話番号,住所,備考\n山田 太郎,03-1234-5678,東京都千代田区九段南1-2-3,VIP\n" * 3
TSV = CSV.replace(",", "\t")
LINES = (
    "山田 太郎 | ヤマダ タロウ | 〒102-0074 | 東京都千代田区九段南1-2-3 | TEL:03-1234-5678\n"
    "佐藤 花子 | サトウ ハナコ | 〒530-0001 | 大阪府大阪市北区梅田1-1-1 | TEL:06-1111-2222\n"
)
TABLE_PAGE = (
    "<!DOCTYPE html><html><head><title>一覧</title></head><body><table>"
    "<tr><th>氏名</th><th>電話</th><th>住所</th></tr>"
    "<tr><td>山田 太郎</td><td>03-1234-5678</td><td>東京都千代田区九段南1-2-3</td></tr>"
    "</table></body></html>"
)


def _xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["氏名", "電話番号", "住所"])
    ws.append(["山田 太郎", "03-1234-5678", "東京都千代田区九段南1-2-3"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("body", "content_type", "reader", "records"),
    [
        # the pastebin shape: label blocks as .txt / text/plain / octet-stream / no type
        (BLOCKS.encode(), "text/plain; charset=utf-8", "text-blocks", 2),
        (BLOCKS.encode("cp932"), "application/octet-stream", "text-blocks", 2),
        (BLOCKS.encode("euc_jp"), None, "text-blocks", 2),
        (BLOCKS.encode(), "text/csv", "text-blocks", 2),  # a "CSV" that is label blocks
        # delimited tables, whatever they are called
        (CSV.encode("cp932"), "text/plain", "delimited", 3),
        (TSV.encode(), "application/octet-stream", "delimited", 3),
        (CSV.encode(), "text/html", "delimited", 3),  # says HTML, is CSV
        (LINES.encode(), "text/plain", "text-lines", 2),
        # a "CSV" that is really an HTML page
        (TABLE_PAGE.encode(), "text/csv", "html-table", 1),
        (TABLE_PAGE.encode(), "application/octet-stream", "html-table", 1),
    ],
)
def test_the_content_decides_the_reader(
    body: bytes, content_type: str | None, reader: str, records: int
) -> None:
    got = read_body(body, content_type)
    assert (got.reader, len(got.records)) == (reader, records), got


def test_a_workbook_is_read_by_its_bytes_whatever_it_is_called() -> None:
    for ctype in ("application/octet-stream", "text/plain", None):
        got = read_body(_xlsx(), ctype)
        assert got.reader == "xlsx" and got.records[0].fields["name"] == "山田 太郎"


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"<!DOCTYPE html>\n<title>Not Found</title>", "text/csv", "html"),  # an error page
        (b"<?xml version='1.0'?>\n<html><p>x</p></html>", "text/plain", "html"),
        (b"<p>one kind of tag</p>\n" * 3, "text/html", "html"),  # declared, and has markup
        (b"<p>one kind of tag</p>\n" * 3, "text/plain", "text"),  # markup too thin to say
        ("氏名：山田 太郎\n".encode(), "text/html", "text"),  # declared HTML, has no markup
    ],
)
def test_html_is_known_by_its_markup(body: bytes, content_type: str, kind: str) -> None:
    assert sniff(body, content_type) == kind


def test_binary_bodies_are_not_read() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    assert read_body(png, "text/csv").reader == "none"
    assert sniff(bytes(range(256)) * 20, "text/plain") == "binary"


def test_a_header_row_wins_a_tie_against_content_guessing() -> None:
    """Tab-separated with an unknown column: the line reader would take 'VIP' for a name (a
    guardian); the delimited reader, which found the header, keeps it as an extra column."""
    got = read_body(TSV.encode(), "text/plain")
    assert got.reader == "delimited"
    rec = got.records[0]
    assert rec.fields == {"name": "山田 太郎", "phone": "03-1234-5678",
                          "address": "東京都千代田区九段南1-2-3"}  # fmt: skip
    assert rec.extra == {"備考": "VIP"}


def test_the_delimiter_is_sniffed_from_consistent_lines() -> None:
    assert sniff_delimiter(CSV) == ","
    assert sniff_delimiter(TSV) == "\t"
    assert sniff_delimiter("a;b;c\n1;2;3\n4;5;6\n") == ";"
    assert sniff_delimiter(BLOCKS) is None
    assert sniff_delimiter("just one line, with a comma") is None


# --- several values in one cell ---------------------------------------------------------------


def test_tel_and_fax_columns_keep_both_numbers_first_in_its_column() -> None:
    root = parse_html(
        "<table><tr><th>氏名</th><th>TEL</th><th>FAX</th><th>住所</th></tr>"
        "<tr><td>山田 太郎</td><td>03-1234-5678</td><td>03-1234-5679</td>"
        "<td>東京都千代田区1-2-3</td></tr></table>"
    )
    assert root is not None
    (rec,) = records_from_html(root, "p")
    assert rec.fields["phone"] == "03-1234-5678 / FAX 03-1234-5679"
    assert phone_numbers(rec.fields["phone"]) == ("0312345678", "0312345679")


def test_a_cell_with_two_numbers_is_kept_whole() -> None:
    cell = "TEL/FAX 03-1234-5678 / 03-1234-5679"
    root = parse_html(
        "<table><tr><th>氏名</th><th>連絡先</th><th>住所</th></tr>"
        f"<tr><td>山田 太郎</td><td>{cell}</td><td>東京都千代田区1-2-3</td></tr></table>"
    )
    assert root is not None
    (rec,) = records_from_html(root, "p")
    assert rec.fields["phone"] == cell
    assert phone_numbers(rec.fields["phone"]) == ("0312345678", "0312345679")


def test_a_headerless_column_of_number_pairs_is_the_phone_column() -> None:
    rows = [
        ("山田 太郎", "東京都千代田区九段南1-2-3", "03-1234-5678 / 090-1111-2222"),
        ("佐藤 花子", "大阪府大阪市北区梅田1-1-1", "TEL 06-1111-2222 FAX 06-1111-2223"),
        ("鈴木 一郎", "愛知県名古屋市中区栄1-1-1", "052-111-2222、080-3333-4444"),
    ]
    page = "<table>" + "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows
    ) + "</table>"  # fmt: skip
    root = parse_html(page)
    assert root is not None
    recs = records_from_html(root, "p")
    assert [r.fields["phone"] for r in recs] == [r[2] for r in rows]
    assert all(len(phone_numbers(r.fields["phone"])) == 2 for r in recs)


def test_label_value_layouts_keep_tel_and_fax() -> None:
    root = parse_html(
        "<dl><dt>お名前</dt><dd>山田 太郎</dd><dt>TEL</dt><dd>03-1234-5678</dd>"
        "<dt>FAX</dt><dd>03-1234-5679</dd><dt>住所</dt><dd>東京都千代田区1-2-3</dd></dl>"
    )
    assert root is not None
    (rec,) = records_from_html(root, "p")
    assert phone_numbers(rec.fields["phone"]) == ("0312345678", "0312345679")


def test_free_text_keeps_every_number_of_a_record() -> None:
    recs = records_from_text(BLOCKS + LINES.replace("TEL:03-1234-5678", "TEL:03-1234-5678 / "
                                                     "FAX:03-1234-5679"), "t")  # fmt: skip
    phones = [r.fields["phone"] for r in recs]
    assert phones == [
        "03-1234-5678", "06-1111-2222 / FAX 06-1111-2223",
        "03-1234-5678 / FAX 03-1234-5679", "06-1111-2222",
    ]  # fmt: skip
    assert phone_numbers(phones[1]) == ("0611112222", "0611112223")


def test_a_repeated_label_still_starts_the_next_record() -> None:
    text = "氏名：山田 太郎\n電話：03-1234-5678\n氏名：佐藤 花子\n電話：06-1111-2222\n"
    assert [r.fields["name"] for r in records_from_text(text, "t")] == ["山田 太郎", "佐藤 花子"]


@pytest.mark.parametrize(
    "value",
    ["03-1234-5678 / 03-1234-5679", "TEL/FAX 03-1234-5678/03-1234-5679", "携帯 090-1234-xxxx",
     "03-1234-5678、090-1234-5678", "03-1234-5678 090-1234-5678", "０３−１２３４−５６７８"],
)  # fmt: skip
def test_phone_lists_are_phones(value: str) -> None:
    assert classify_value(value) == {"phone"}


@pytest.mark.parametrize("value", ["2008/4/5", "102-0074 東京都", "TEL", "1 / 2 / 3"])
def test_other_values_are_not_phone_lists(value: str) -> None:
    assert not is_phone_list(value)


# --- selectors read attributes ------------------------------------------------------------------

CARDS = """<div class="p" data-zip="102-0074"><span class="n">山田 太郎</span>
<a href="mailto:taro%40example.jp?subject=%E5%95%8F">メール</a>
<a href="tel:+81-3-1234-5678">電話する</a>
<span class="addr" data-addr="東京都千代田区九段南1-2-3">地図</span></div>"""


def test_selectors_read_attributes_and_links() -> None:
    sel = compile_selectors({"record": "div.p", "fields": {
        "name": ".n::text", "email": "a[href^=mailto]::attr(href)",
        "phone": "a[href^='tel:']::attr(href)", "address": ".addr::attr(data-addr)",
        "postal_code": "::attr(data-zip)",
    }})  # fmt: skip
    root = parse_html(CARDS)
    assert root is not None
    (rec,) = records_from_selectors(root, sel, "p")
    assert rec.fields == {
        "name": "山田 太郎", "email": "taro@example.jp", "phone": "+81-3-1234-5678",
        "address": "東京都千代田区九段南1-2-3", "postal_code": "102-0074",
    }  # fmt: skip


def test_table_cells_that_only_link_a_number_or_address_give_it() -> None:
    root = parse_html(
        "<table><tr><th>氏名</th><th>電話</th><th>メール</th></tr><tr><td>山田 太郎</td>"
        "<td><a href='tel:0312345678'>電話する</a></td>"
        "<td><a href='mailto:taro@example.jp'>送信</a></td></tr></table>"
    )
    assert root is not None
    (rec,) = records_from_html(root, "p")
    assert rec.fields["phone"] == "0312345678" and rec.fields["email"] == "taro@example.jp"


def test_bad_attribute_selectors_are_refused() -> None:
    with pytest.raises(ValueError, match="not a valid CSS selector"):
        compile_selectors({"record": "div", "fields": {"email": "a::attr(href"}})
