"""Normalisation memoised by name part gives what normalising from scratch gives; features
survive the trip back from a worker process."""

from __future__ import annotations

import pickle

from matcher import features
from matcher.features import listing_features, person_features
from matcher.mail import normalize_email
from matcher.names import normalize_name

NAMES = [
    ("髙橋 一郎", "タカハシ イチロウ"), ("高橋 一郎", "たかはし いちろう"),
    ("山田　花子", "ﾔﾏﾀﾞ ﾊﾅｺ"), ("ヤマダ ハナコ", ""), ("やまだ はなこ", "ヤマダ ハナコ"),
    ("山田 花子様", "ヤマダ ハナコ"), ("山田花子", "ヤマダハナコ"),
    ("Taro YAMADA", "ヤマダ タロウ"), ("渡邊 ヨシ子", "ワタナベ ヨシコ"),
    ("ｻｲﾄｳ 齋藤", "サイトウ サイトウ"), ("", "ヤマダ タロウ"), ("山田 太郎", ""),
]  # fmt: skip


def test_features_do_not_depend_on_what_was_seen_before() -> None:
    rows = [{"record_id": "X", "name": n, "name_kana": k} for n, k in NAMES]
    features._PARTS.clear()
    first = [(person_features(r), listing_features(r)) for r in rows]
    features._PARTS.clear()
    again = [(person_features(r), listing_features(r)) for r in reversed(rows)][::-1]
    assert first == again
    assert features._PARTS  # the parts were kept


def test_common_case_agrees_with_the_name_parser() -> None:
    for name, kana in NAMES[:3]:
        f = person_features({"name": name, "name_kana": kana})
        n, k = normalize_name(name), normalize_name(kana)
        assert (f.fam, f.giv, f.fam_w, f.giv_w) == (n.family, n.given, n.family_written,
                                                    n.given_written)  # fmt: skip
        assert (f.fam_k, f.giv_k) == (k.family, k.given)


def test_email_absent_or_empty() -> None:
    assert normalize_email("") == ""
    assert normalize_email("Taro@Example.JP") == "taro@example.jp"


def test_features_pickle_round_trip() -> None:
    rows = [{"name": n, "name_kana": k, "address": "東京都千代田区九段南一丁目2番3号 101号室",
             "birthdate": "H20.4.5", "phone": "03-1234-5678", "email": "a@example.jp",
             "guardian_name": "山田 花子", "age": "10"} for n, k in NAMES]  # fmt: skip
    feats = [listing_features(r) for r in rows]
    back = pickle.loads(pickle.dumps(feats, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == feats and all(type(b) is type(f) for b, f in zip(back, feats, strict=True))
    assert back[0].place is back[1].place  # one address, one Place (as in the sender)
