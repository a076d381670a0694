"""Table-driven tests: every variant listed in DESIGN.md ("What Japanese data looks like")."""

from __future__ import annotations

import json
from datetime import date

import pytest

from matcher import (
    fold_variants,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal,
    normalize_text,
    parse_address,
    parse_birthdate,
)
from tests.matcher.conftest import PEER_DIR, require_peer

# ---------------------------------------------------------------- names
SAME_PERSON = ["山田 太郎", "山田太郎", "山田　太郎", "山田 太郎 様"]
SAME_READING = [
    "ﾔﾏﾀﾞ ﾀﾛｳ",
    "やまだ たろう",
    "ヤマダ タロウ",
    "ヤマダタロウ",
    "Yamada Tarou",
    "TAROU YAMADA",
    "Yamada Tarō",
    "YAMADA, Tarou",
    "Yamada Taroh",
]


@pytest.mark.parametrize("text", SAME_PERSON)
def test_name_kanji_forms(text: str) -> None:
    n = normalize_name(text)
    assert (n.family, n.given, n.script) == ("山田", "太郎", "kanji")


@pytest.mark.parametrize("text", SAME_READING)
def test_name_reading_forms(text: str) -> None:
    n = normalize_name(text)
    assert (n.family, n.given) == ("ヤマダ", "タロー")


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("斉藤", "斎藤"),
        ("濵田", "浜田"),
        ("濱田", "浜田"),
        ("澤田", "沢田"),
        ("廣田", "広田"),
        ("櫻井", "桜井"),
    ],
)
def test_variant_kanji_fold_keeps_written_form(written: str, canonical: str) -> None:
    assert fold_variants(written) == canonical
    n = normalize_name(written + " 花子")
    assert n.family == canonical
    assert n.family_written == written


def test_name_split_by_known_surname() -> None:
    assert normalize_name("佐々木小次郎").family == "佐々木"
    assert normalize_name("長谷川一").given == "一"
    assert normalize_name("ヤマダハナコ").family == "ヤマダ"


@pytest.mark.parametrize(("text", "family", "given"), [
    ("岡埼さくら", "岡埼", "さくら"),  # a typo hides the surname from the table: the script tells
    ("佐々木サクラ", "佐々木", "サクラ"),
    ("佐藤ゆり子", "佐藤", "ゆり子"),  # kana then kanji: the table decides
])  # fmt: skip
def test_name_split_where_kanji_gives_way_to_kana(text: str, family: str, given: str) -> None:
    n = normalize_name(text)
    assert (n.family_written, n.given_written) == (family, given)


@pytest.mark.parametrize(
    ("text", "kana"),
    [
        ("ﾕｳｺ", "ユーコ"),
        ("ゆうこ", "ユーコ"),
        ("ユウコ", "ユーコ"),
        ("ユーコ", "ユーコ"),
        ("Yūko", "ユーコ"),
        ("Yuuko", "ユーコ"),
        ("Ohno", "オーノ"),
        ("Oono", "オーノ"),
        ("Ōno", "オーノ"),
        ("おおの", "オーノ"),
        ("オウノ", "オーノ"),
        ("Hattori", "ハットリ"),
        ("Shin'ichi", "シンイチ"),
        ("Sampei", "サンペイ"),
        ("ヴァイオリン", "バイオリン"),
        ("ヰ", "イ"),
        ("ヱ", "エ"),
        ("ヂ", "ジ"),
        ("shi", "シ"),
        ("si", "シ"),
        ("tsu", "ツ"),
        ("tu", "ツ"),
        ("chi", "チ"),
        ("ti", "チ"),
        ("fu", "フ"),
        ("hu", "フ"),
        ("ji", "ジ"),
        ("zi", "ジ"),
    ],
)
def test_normalize_kana(text: str, kana: str) -> None:
    assert normalize_kana(text) == kana


# ---------------------------------------------------------------- addresses
KUDAN = [
    "東京都千代田区九段南一丁目2番3号",
    "千代田区九段南1-2-3",
    "九段南１丁目２－３",
    "東京都千代田区九段南1丁目2-3",
    "東京都 千代田区 九段南 １－２－３",
    "〒102-0074 東京都千代田区九段南1-2-3",
    "東京都千代田区九段南一丁目二番三号",
    "東京都千代田区九段南1ー2ー3",
    "東京都千代田区九段南1‐2‐3",
]


@pytest.mark.parametrize("text", KUDAN)
def test_address_forms(text: str) -> None:
    a = parse_address(text)
    assert (a.pref, a.city, a.town, a.chome, a.block) == (
        "東京都",
        "千代田区",
        "九段南一丁目",
        1,
        "2-3",
    )


@pytest.mark.parametrize(
    ("text", "building", "room"),
    [
        ("東京都千代田区九段南1-2-3 九段ハイツ101号室", "九段ハイツ", "101"),
        ("東京都千代田区九段南1-2-3-101", "", "101"),
        ("東京都千代田区九段南1-2-3 #101", "", "101"),
        ("東京都千代田区九段南1-2-3 グランドメゾン 1203", "グランドメゾン", "1203"),
        ("東京都千代田区九段南1-2-3", "", ""),
    ],
)
def test_address_building_and_room(text: str, building: str, room: str) -> None:
    a = parse_address(text)
    assert (a.block, a.building, a.room) == ("2-3", building, room)


@pytest.mark.parametrize(
    ("text", "pref", "city", "town"),
    [
        ("東京都小平市上水本町４丁目７－９", "東京都", "小平市", "上水本町四丁目"),
        (
            "千葉県千葉市花見川区さつきが丘２丁目３４－８",
            "千葉県",
            "千葉市花見川区",
            "さつきが丘二丁目",
        ),
        ("千葉県千葉市花見川区さつきヶ丘2-34-8", "千葉県", "千葉市花見川区", "さつきが丘二丁目"),
        ("千葉県千葉市花見川区さつきケ丘2-34-8", "千葉県", "千葉市花見川区", "さつきが丘二丁目"),
        ("三重県三重郡菰野町大字大強原2796", "三重県", "三重郡菰野町", "大字大強原"),
        ("三重県三重郡菰野町大強原2796", "三重県", "三重郡菰野町", "大字大強原"),
        ("三重県菰野町大強原2796", "三重県", "三重郡菰野町", "大字大強原"),
        ("小平市上水本町4-7-9", "東京都", "小平市", "上水本町四丁目"),  # prefecture omitted
        ("岐阜県飛驒市", "岐阜県", "飛騨市", ""),
        ("東京都江東区豊洲 四-2-27", "東京都", "江東区", "豊洲四丁目"),
        # prefecture omitted: the designated city's ward, not 小郡市 (福岡 + a short city match)
        ("福岡市中央区大名一丁目25番19号", "福岡県", "福岡市中央区", "大名一丁目"),
        ("福岡県福岡市中央区大名1-25-19", "福岡県", "福岡市中央区", "大名一丁目"),
        ("小郡市小郡255-1", "福岡県", "小郡市", "小郡"),
        ("蒲郡市旭町17-1", "愛知県", "蒲郡市", "旭町"),
        ("福島市杉妻町2-16", "福島県", "福島市", "杉妻町"),
    ],
)
def test_address_variants(text: str, pref: str, city: str, town: str) -> None:
    a = parse_address(text)
    assert (a.pref, a.city, a.town) == (pref, city, town)


def test_address_postal_code_infers_prefecture_and_city() -> None:
    a = parse_address("〒187-0022 上水本町4-7-9")
    assert (a.postal_code, a.pref, a.city) == ("1870022", "東京都", "小平市")


def test_address_blocks() -> None:
    assert parse_address("石川県七尾市藤橋町四十五番地1").block == "45-1"
    assert parse_address("神奈川県足柄下郡箱根町仙石原１２４５－３２９").block == "1245-329"
    assert parse_address("東京都町田市木曽東４の１４").block == "14"


@pytest.mark.parametrize("text", ["", "あいうえお", "12345", "東京都", "😀", "\x00", "-" * 500])
def test_address_unknown_is_empty_not_error(text: str) -> None:
    a = parse_address(text)
    assert a.town == ""


# ---------------------------------------------------------------- phones
@pytest.mark.parametrize(
    "text",
    [
        "03-1234-5678",
        "(03)1234-5678",
        "０３１２３４５６７８",
        "+81-3-1234-5678",
        "+81 (0)3 1234 5678",
        "03 1234 5678",
        "TEL:03-1234-5678",
    ],
)
def test_phone_forms(text: str) -> None:
    p = normalize_phone(text)
    assert (p.digits, p.kind, p.valid, p.masked) == ("0312345678", "landline", True, False)


@pytest.mark.parametrize(
    ("text", "digits", "kind"),
    [
        ("03-****-5678", "03????5678", "landline"),
        ("090-1234-xxxx", "0901234????", "mobile"),
        ("090-1234-XXXX", "0901234????", "mobile"),
        ("080-××××-1234", "080????1234", "mobile"),
    ],
)
def test_masked_phones(text: str, digits: str, kind: str) -> None:
    p = normalize_phone(text)
    assert (p.digits, p.kind, p.masked) == (digits, kind, True)
    assert p.matches(normalize_phone(digits.replace("?", "7")))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("090-1234-5678", "mobile"),
        ("070-1234-5678", "mobile"),
        ("050-1234-5678", "ip"),
        ("0120-123-456", "toll_free"),
        ("0800-123-4567", "toll_free"),
        ("06-1234-5678", "landline"),
    ],
)
def test_phone_kinds(text: str, kind: str) -> None:
    assert normalize_phone(text).kind == kind


def test_phone_not_a_number() -> None:
    assert normalize_phone("abc").digits == ""
    assert normalize_phone("12345").valid is False


# ---------------------------------------------------------------- dates
DAY = date(2008, 4, 5)


@pytest.mark.parametrize(
    "text",
    [
        "2008/4/5",
        "2008年4月5日",
        "平成20年4月5日",
        "H20.4.5",
        "平20.4.5",
        "20080405",
        "2008-04-05",
        "２００８／４／５",
        "h20/4/5",
        "平成二十年四月五日",
        "H.20.4.5",
    ],
)
def test_birthdate_forms(text: str) -> None:
    r = parse_birthdate(text)
    assert (r.start, r.end, r.precision) == (DAY, DAY, "day")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("昭和64年1月7日", date(1989, 1, 7), date(1989, 1, 7)),
        ("平成元年1月8日", date(1989, 1, 8), date(1989, 1, 8)),
        ("平成元年", date(1989, 1, 1), date(1989, 12, 31)),
        ("令和元年5月1日", date(2019, 5, 1), date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30), date(2019, 4, 30)),
        ("大正15年12月24日", date(1926, 12, 24), date(1926, 12, 24)),
        ("明治45年7月29日", date(1912, 7, 29), date(1912, 7, 29)),
        ("S64.1.7", date(1989, 1, 7), date(1989, 1, 7)),
        ("2008年4月", date(2008, 4, 1), date(2008, 4, 30)),
        ("2008/2", date(2008, 2, 1), date(2008, 2, 29)),
        ("2008年", date(2008, 1, 1), date(2008, 12, 31)),
    ],
)
def test_era_boundaries_and_partial_dates(text: str, start: date, end: date) -> None:
    r = parse_birthdate(text)
    assert (r.start, r.end) == (start, end)


@pytest.mark.parametrize(
    ("grade", "as_of", "start", "end"),
    [
        ("小1", date(2024, 4, 1), date(2017, 4, 2), date(2018, 4, 1)),  # 1 April: new school year
        ("小1", date(2024, 3, 31), date(2016, 4, 2), date(2017, 4, 1)),  # still the previous one
        ("小3", date(2024, 6, 1), date(2015, 4, 2), date(2016, 4, 1)),
        ("小学3年生", date(2024, 6, 1), date(2015, 4, 2), date(2016, 4, 1)),
        ("中1", date(2024, 6, 1), date(2011, 4, 2), date(2012, 4, 1)),
        ("高3", date(2024, 6, 1), date(2006, 4, 2), date(2007, 4, 1)),
        ("年長", date(2024, 6, 1), date(2018, 4, 2), date(2019, 4, 1)),
        ("年中", date(2024, 6, 1), date(2019, 4, 2), date(2020, 4, 1)),
        ("年少", date(2024, 6, 1), date(2020, 4, 2), date(2021, 4, 1)),
    ],
)
def test_school_grades(grade: str, as_of: date, start: date, end: date) -> None:
    r = parse_birthdate(grade, as_of)
    assert (r.start, r.end, r.precision) == (start, end, "grade")


def test_grade_boundary_children() -> None:
    r = parse_birthdate("小1", date(2024, 5, 1))
    assert r.contains(date(2018, 4, 1))  # born 1 April: the older year group
    assert not r.contains(date(2018, 4, 2))  # born 2 April: one year below
    assert r.contains(date(2017, 4, 2))


def test_age_as_of() -> None:
    r = parse_birthdate("10歳", date(2024, 5, 1))
    assert (r.start, r.end) == (date(2013, 5, 2), date(2014, 5, 1))


@pytest.mark.parametrize("text", ["小3", "10歳", "中1"])
def test_age_and_grade_need_a_date(text: str) -> None:
    assert not parse_birthdate(text).known


@pytest.mark.parametrize("text", ["", "abc", "2008/2/30", "平成0年", "小7", "H99.13.1"])
def test_birthdate_unknown(text: str) -> None:
    assert not parse_birthdate(text, date(2024, 1, 1)).known


# ---------------------------------------------------------------- postal, e-mail
@pytest.mark.parametrize(
    "text", ["〒102-0074", "102-0074", "1020074", "１０２－００７４", "〒 102 0074"]
)
def test_postal(text: str) -> None:
    assert normalize_postal(text) == "1020074"


def test_postal_rejects() -> None:
    assert normalize_postal("12-34567") == ""
    assert normalize_postal("abc") == ""


@pytest.mark.parametrize(
    "text",
    [
        "Taro.Yamada@Example.co.jp",
        "taro.yamada＠example.co.jp",
        "mailto:taro.yamada@example.co.jp",
        "<taro.yamada@example.co.jp>",
        "taro.yamada [at] example.co.jp",
        "ｔａｒｏ.ｙａｍａｄａ@example.co.jp",
    ],
)
def test_email(text: str) -> None:
    assert normalize_email(text) == "taro.yamada@example.co.jp"


def test_email_rejects() -> None:
    assert normalize_email("not an address") == ""


# ---------------------------------------------------------------- text
@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("ﾔﾏﾀﾞ　ﾀﾛｰ", "ヤマダタロー"),
        ("０３－１２３４－５６７８", "03-1234-5678"),
        ("スーパーーーー", "スーパー"),
        ("1ー2ー3", "1-2-3"),
        ("Coding the Matrix", "Coding the Matrix"),
        ("1467〜1487年", "1467~1487年"),
    ],
)
def test_normalize_text(text: str, out: str) -> None:
    assert normalize_text(text) == out


NEOLOGDN = PEER_DIR / "neologdn_cases.jsonl"
# Where our semantics deliberately differ from neologdn's default: we keep tildes as "~"
# (ranges: 1467~1487), read a dash after a Latin letter as a hyphen, and keep a space only
# between two Latin letters or digits.
_NEOLOGDN_DIFFERENT = {
    "majika━",
    "わ〰い",
    "チルダ~∼∾〜〰～",
    "1467〜1487年",
    "A ˗あ",
    "A ーあ",
    "A ～あ",
    "南アルプスの\u3000天然水-\u3000Ｓｐａｒｋｉｎｇ*\u3000Ｌｅｍｏｎ+\u3000レモン一絞り",
}


def _neologdn_cases() -> list[tuple[str, str]]:
    if not NEOLOGDN.exists():
        return []
    out = []
    for line in NEOLOGDN.read_text("utf-8").splitlines():
        case = json.loads(line)
        if (
            case["function"] == "normalize"
            and not case.get("kwargs")
            and case["input"] not in _NEOLOGDN_DIFFERENT
        ):
            out.append((case["input"], case["expected"]))
    return out


# Without the corpus, one case that skips or fails saying why (see require_peer).
@pytest.mark.parametrize(("text", "expected"), _neologdn_cases()
                         or [pytest.param("", "", id="corpus-missing")])  # fmt: skip
def test_neologdn_cases(text: str, expected: str) -> None:
    require_peer(NEOLOGDN)
    assert normalize_text(text) == expected
