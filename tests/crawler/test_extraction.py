"""Extraction units: encodings, header labels, value kinds, free text, files."""

from __future__ import annotations

import io

import pytest

from crawler.encoding import decode, detect
from crawler.fields import classify_value, field_for_header
from crawler.files import FileRefused, records_from_csv, records_from_xlsx
from crawler.safety import is_public, refusal
from crawler.spiders.generic import listing_key
from crawler.tables import parse_html, records_from_html
from crawler.text_records import records_from_text

JA = "山田 太郎,やまだ たろう,東京都千代田区九段南一丁目2番3号,髙橋 﨑子\n" * 20


@pytest.mark.parametrize(
    ("encoding", "declared", "expected"),
    [
        ("utf-8", None, "utf-8"),
        ("cp932", "Shift_JIS", "cp932"),
        ("cp932", None, "cp932"),
        ("euc_jp", "EUC-JP", "euc_jp"),
        ("euc_jp", None, "euc_jp"),
        ("cp932", "utf-8", "cp932"),  # header lies: UTF-8
        ("euc_jp", "Shift_JIS", "euc_jp"),  # header lies: Shift_JIS
        ("cp932", "iso-8859-1", "cp932"),  # Latin-1 "decodes" anything: never believed
    ],
)
def test_encoding_detected_even_when_the_header_lies(
    encoding: str, declared: str | None, expected: str
) -> None:
    text = JA if encoding != "euc_jp" else JA.replace("髙", "高").replace("﨑", "崎")
    body = text.encode(encoding)
    assert detect(body, declared) == expected
    ctype = f"text/html; charset={declared}" if declared else None
    assert decode(body, ctype)[0] == text


def test_bom_wins() -> None:
    assert decode("\ufeff名簿".encode("utf-8-sig"))[0].endswith("名簿")


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("氏名", "name"), ("お名前", "name"), ("名前", "name"), ("フリガナ", "name_kana"),
        ("ふりがな", "name_kana"), ("カナ", "name_kana"), ("性別", "gender"),
        ("生年月日", "birthdate"), ("誕生日", "birthdate"), ("年齢", "age"), ("学年", "grade"),
        ("保護者名", "guardian_name"), ("保護者氏名", "guardian_name"), ("〒", "postal_code"),
        ("郵便番号", "postal_code"), ("住所", "address"), ("所在地", "address"),
        ("電話", "phone"), ("TEL", "phone"), ("メール", "email"), ("メールアドレス", "email"),
        ("No.", "row_id"), ("備考", None), ("notes", None),
    ],
)  # fmt: skip
def test_header_labels(label: str, field: str | None) -> None:
    assert field_for_header(label) == field


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("〒102-0074", "postal_code"), ("１０２－００７４", "postal_code"),
        ("03-1234-5678", "phone"), ("(03)1234-5678", "phone"), ("090-1234-xxxx", "phone"),
        ("03-****-5678", "phone"), ("+81-3-1234-5678", "phone"), ("taro@example.jp", "email"),
        ("平成20年4月5日", "birthdate"), ("H20.4.5", "birthdate"), ("20080405", "birthdate"),
        ("小3", "grade"), ("年長", "grade"), ("ヤマダ タロウ", "kana_text"),
        ("山田 太郎", "name_text"), ("千代田区九段南1-2-3", "address"),
    ],
)  # fmt: skip
def test_value_kinds(value: str, kind: str) -> None:
    assert kind in classify_value(value)


def test_free_text_lines_and_labelled_blocks() -> None:
    text = (
        "今日の名簿です\n"
        "山田 太郎 | ヤマダ タロウ | 男 | 2008/4/5 | 〒102-0074 | "
        "東京都千代田区九段南1-2-3 | TEL:03-1234-5678\n"
        "\n氏名：佐藤 花子\n住所：大阪府大阪市北区梅田1-1-1\n電話：06-1111-2222\n\n"
        "ただの文章 | もう一つ\n"
    )
    recs = records_from_text(text, "t")
    assert [r.fields.get("name") for r in recs] == ["山田 太郎", "佐藤 花子"]
    assert recs[0].fields["phone"] == "03-1234-5678" and recs[0].fields["gender"] == "男"
    assert recs[1].fields["address"] == "大阪府大阪市北区梅田1-1-1"


def test_headerless_table_and_label_value_layouts() -> None:
    cells = [
        ["山田 太郎", "ヤマダ タロウ", "102-0074", "東京都千代田区九段南1-2-3", "03-1234-5678"],
        ["佐藤 花子", "サトウ ハナコ", "530-0001", "大阪府大阪市北区梅田1-1-1", "06-1111-2222"],
    ]
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells)
    pairs = [("お名前", "鈴木 一郎"), ("TEL", "045-111-2222"), ("ご住所", "横浜市中区1-1")]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs)
    page = f"<table>{rows}</table><dl>{dl}</dl>"
    root = parse_html(page)
    assert root is not None
    recs = records_from_html(root, "p")
    assert [r.fields["name"] for r in recs] == ["山田 太郎", "佐藤 花子", "鈴木 一郎"]
    assert (
        recs[0].fields["name_kana"] == "ヤマダ タロウ"
        and recs[1].fields["postal_code"] == "530-0001"
    )


def test_csv_sniffs_tabs_and_keeps_unknown_columns() -> None:
    body = "氏名\t電話番号\t備考\n山田 太郎\t03-1234-5678\tVIP\n".encode("cp932")
    (rec,) = records_from_csv(body, "text/csv", "f")
    assert rec.fields == {"name": "山田 太郎", "phone": "03-1234-5678"} and rec.extra == {
        "備考": "VIP"
    }


def test_xlsx_zip_bomb_refused() -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 50_000_000 + b"</a>")
    with pytest.raises(FileRefused, match="zip bomb"):
        records_from_xlsx(buf.getvalue(), "f")


def test_address_guard() -> None:
    assert not is_public("169.254.169.254") and not is_public("10.1.2.3")
    assert not is_public("::1") and not is_public("::ffff:127.0.0.1") and is_public("8.8.8.8")
    assert refusal("http://127.0.0.1:8000/", None)
    assert refusal("http://127.0.0.1:8000/x", {("127.0.0.1", 8000)}) is None
    assert refusal("http://127.0.0.1:8001/x", {("127.0.0.1", 8000)})
    assert refusal("ftp://example.com/", None)


def test_pagination_shares_a_listing_key() -> None:
    assert listing_key("http://h:1/list?page=3&cat=a") == listing_key("http://h:1/list?cat=a")
    assert listing_key("http://h/list/page/2") == listing_key("http://h/list")
