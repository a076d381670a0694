"""The clause library: the legal basis a letter cites, in Japanese, and which letter cites which.

Owns the default wording of each clause (keyed like ``appi-19``), the merge of the legal team's
edits over those defaults, and the default choice of clauses per letter kind. The wording is a
conservative first draft for counsel: each clause states what the provision says and, at most,
how the office reads it; none asserts a fact the letter does not prove. Each names its law
rather than saying 同法, so that any selection, in any order, reads correctly.

Numbering is the current one (APPI as amended in 2020/2021, in force April 2022; the Unfair
Competition Prevention Act after the 2018 and 2023 amendments, trade-secret acts in Art. 2(1)
items 4-10).

A note for counsel: items 6 and 9 of the UCPA reach a business that learns of the wrongful
acquisition or disclosure after it obtained the data, but Art. 19(1) exempts use and disclosure
within the scope of a transaction by which a party acquired the secret in good faith and
without gross negligence. A business that bought a list before our letter may invoke it; the
APPI clauses do not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from notices.letter import Clause, LetterKind

_DEFAULTS: tuple[Clause, ...] = (
    Clause(
        key="appi-19",
        title="個人情報保護法第19条（不適正な利用の禁止）",
        text="個人情報保護法（個人情報の保護に関する法律）第19条は、個人情報取扱事業者が、違法又は不当な行為を"
        "助長し、又は誘発するおそれがある方法により個人情報を利用することを禁じています。"
        "不正に持ち出された個人情報であることを知りながら、又は容易に知り得る状況で、"
        "これを利用し、又は第三者に提供することは、同条に違反するおそれがあります。",
    ),
    Clause(
        key="appi-20-1",
        title="個人情報保護法第20条第1項（適正な取得）",
        text="個人情報保護法第20条第1項は、偽りその他不正の手段により個人情報を取得することを禁じています。"
        "個人情報保護委員会のガイドラインは、不正の手段で取得されたことを知り、又は容易に"
        "知ることができるにもかかわらず個人情報を取得することも、これに当たる例として"
        "挙げています。",
    ),
    Clause(
        key="appi-27-2",
        title="個人情報保護法第27条第2項（オプトアウトによる第三者提供）",
        text="個人情報保護法第27条第2項は、本人の同意を得ないで個人データを第三者に提供する手続（いわゆる"
        "オプトアウト）について、所定の事項をあらかじめ本人に通知し、又は本人が容易に知り得る"
        "状態に置くとともに、個人情報保護委員会に届け出ることを求めています。さらに同項"
        "ただし書により、同法第20条第1項の規定に違反して取得された個人データ及び他の事業者"
        "からこの手続により提供された個人データ（その複製又は加工したものを含みます。）は、"
        "この手続によって第三者に提供することができません。",
    ),
    Clause(
        key="appi-30",
        title="個人情報保護法第30条（第三者提供を受ける際の確認等）",
        text="個人情報保護法第30条第1項は、第三者から個人データの提供を受ける際に、提供者の氏名又は名称及び"
        "住所（法人にあってはその代表者の氏名）並びに提供者による当該個人データの取得の経緯を"
        "確認することを求め、同条第3項及び第4項は、その記録の作成と保存を求めています。",
    ),
    Clause(
        key="appi-179",
        title="個人情報保護法第179条（個人情報データベース等不正提供罪）",
        text="個人情報保護法第179条は、個人情報取扱事業者の役員若しくは従業者又はこれらであった者が、"
        "その業務に関して取り扱った個人情報データベース等（その全部又は一部を複製し、又は"
        "加工したものを含みます。）を、自己若しくは第三者の不正な利益を図る目的で提供し、"
        "又は盗用する行為を処罰の対象としています。本件データは、当社の顧客データベースの"
        "複製に由来するものと当社は考えております。",
    ),
    Clause(
        key="ucpa-2-1-6",
        title="不正競争防止法第2条第1項第6号（取得後に不正取得を知った営業秘密の使用等）",
        text="不正競争防止法第2条第1項第6号は、営業秘密を取得した後に、その営業秘密について"
        "不正取得行為が介在したことを知って、又は重大な過失により知らないで、これを使用し、"
        "又は開示する行為を不正競争と定めています。当社の顧客情報は、当社が秘密として管理する"
        "事業活動に有用な情報であって公然と知られていないものであり、同条第6項の営業秘密に"
        "当たるものと当社は考えております。",
    ),
    Clause(
        key="ucpa-2-1-9",
        title="不正競争防止法第2条第1項第9号（取得後に不正開示を知った営業秘密の使用等）",
        text="不正競争防止法第2条第1項第9号は、営業秘密を取得した後に、その営業秘密について不正開示行為があったこと"
        "又は不正開示行為が介在したことを知って、又は重大な過失により知らないで、これを使用し、"
        "又は開示する行為を不正競争と定めています。本書により、貴社は本件データについて"
        "これらの行為が介在したことをご承知いただいたものと考えます。",
    ),
    Clause(
        key="ucpa-3",
        title="不正競争防止法第3条（差止請求権）",
        text="不正競争防止法第3条第1項は、不正競争によって営業上の利益を侵害され、又は侵害されるおそれが"
        "ある者が、侵害の停止又は予防を請求できることを定め、同条第2項は、侵害の行為を組成"
        "した物の廃棄その他の侵害の停止又は予防に必要な行為を請求できることを定めています。",
    ),
)

DEFAULT_KEYS: tuple[str, ...] = tuple(c.key for c in _DEFAULTS)

# The first letter asks; it cites the duties and the injunction, not a crime, so that it
# cannot be read as a threat of prosecution. The final notice, sent before legal steps, adds
# the crime through which the data left the office.
_CITED: Mapping[LetterKind, tuple[str, ...]] = {
    LetterKind.CEASE_USE: (
        "appi-19",
        "appi-20-1",
        "appi-27-2",
        "appi-30",
        "ucpa-2-1-6",
        "ucpa-2-1-9",
        "ucpa-3",
    ),
    LetterKind.REMINDER: (
        "appi-19",
        "appi-20-1",
        "appi-27-2",
        "appi-30",
        "ucpa-2-1-6",
        "ucpa-2-1-9",
        "ucpa-3",
    ),
    LetterKind.FINAL: DEFAULT_KEYS,
}


def defaults() -> dict[str, Clause]:
    """The clauses as shipped, before any edit by the legal team."""
    return {c.key: c for c in _DEFAULTS}


def library(overrides: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Clause]:
    """The defaults with the legal team's edits on top: ``{key: (title, text)}``.

    An edit of a key the defaults lack adds a clause (counsel may cite a provision we did not
    foresee). An empty title or text is refused rather than printed as a blank paragraph.
    Pure: the caller reads the edits from wherever they are stored.
    """
    merged = defaults()
    for key, (title, text) in (overrides or {}).items():
        if not key.strip() or not title.strip() or not text.strip():
            raise ValueError(f"clause {key!r}: key, title and text must not be empty")
        merged[key] = Clause(key=key, title=title.strip(), text=text.strip())
    return merged


def clauses_for(kind: LetterKind, library: Mapping[str, Clause]) -> tuple[Clause, ...]:
    """The clauses a letter of this kind cites by default, in the order printed."""
    return tuple(library[key] for key in _CITED[kind])
