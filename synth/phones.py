"""Plausible Japanese phone numbers and e-mail addresses for synthetic households.

Owns the area-code table (city first, then prefecture) and the number formats: landlines whose
area code fits the address, mobiles (090/080/070), fax numbers, and e-mail addresses.
"""

from __future__ import annotations

import random

from synth.rand import randint, randrange

# Municipalities with their own short area code; matched as a prefix of the city name, so
# 札幌市中央区 takes 011. Checked before the prefecture table.
CITY_AREA_CODES: tuple[tuple[str, str, str], ...] = (
    ("北海道", "札幌市", "011"), ("宮城県", "仙台市", "022"), ("埼玉県", "さいたま市", "048"),
    ("千葉県", "千葉市", "043"), ("神奈川県", "横浜市", "045"), ("神奈川県", "川崎市", "044"),
    ("新潟県", "新潟市", "025"), ("静岡県", "静岡市", "054"), ("静岡県", "浜松市", "053"),
    ("愛知県", "名古屋市", "052"), ("京都府", "京都市", "075"), ("大阪府", "大阪市", "06"),
    ("大阪府", "豊中市", "06"), ("大阪府", "堺市", "072"), ("兵庫県", "神戸市", "078"),
    ("兵庫県", "尼崎市", "06"), ("岡山県", "岡山市", "086"), ("広島県", "広島市", "082"),
    ("福岡県", "福岡市", "092"), ("福岡県", "北九州市", "093"), ("熊本県", "熊本市", "096"),
    ("鹿児島県", "鹿児島市", "099"), ("沖縄県", "那覇市", "098"), ("東京都", "八王子市", "042"),
    ("東京都", "町田市", "042"), ("埼玉県", "所沢市", "04"), ("千葉県", "柏市", "04"),
)  # fmt: skip

# Codes in use elsewhere in each prefecture (main city first); rural numbers get a longer code.
PREFECTURE_AREA_CODES: dict[str, tuple[str, ...]] = {
    "北海道": ("011", "0123", "0138", "0166", "0154", "0155"),
    "青森県": ("017", "0172", "0178"), "岩手県": ("019", "0197", "0193"),
    "宮城県": ("022", "0225", "0229"), "秋田県": ("018", "0182", "0185"),
    "山形県": ("023", "0235", "0238"), "福島県": ("024", "0242", "0246", "0248"),
    "茨城県": ("029", "0280", "0294", "0299"), "栃木県": ("028", "0282", "0285", "0287"),
    "群馬県": ("027", "0270", "0276", "0279"), "埼玉県": ("048", "049", "04"),
    "千葉県": ("043", "047", "04", "0436", "0470"), "東京都": ("03", "042"),
    "神奈川県": ("045", "044", "046", "0463", "0465"), "新潟県": ("025", "0258", "0254"),
    "富山県": ("076", "0763", "0765"), "石川県": ("076", "0761", "0768"),
    "福井県": ("0776", "0770", "0778"), "山梨県": ("055", "0553", "0555"),
    "長野県": ("026", "0263", "0265", "0266"), "岐阜県": ("058", "0572", "0584"),
    "静岡県": ("054", "053", "055", "0537"), "愛知県": ("052", "0564", "0566", "0532", "0568"),
    "三重県": ("059", "0594", "0598"), "滋賀県": ("077", "0748", "0749"),
    "京都府": ("075", "0774", "0773"), "大阪府": ("06", "072"),
    "兵庫県": ("078", "079", "0798"), "奈良県": ("0742", "0743", "0744", "0745"),
    "和歌山県": ("073", "0736", "0739"), "鳥取県": ("0857", "0859"),
    "島根県": ("0852", "0853", "0855"), "岡山県": ("086", "0865", "0868"),
    "広島県": ("082", "084", "0848"), "山口県": ("083", "0834", "0835"),
    "徳島県": ("088", "0883", "0884"), "香川県": ("087", "0877", "0875"),
    "愛媛県": ("089", "0897", "0898"), "高知県": ("088", "0887", "0880"),
    "福岡県": ("092", "093", "0942", "0940"), "佐賀県": ("0952", "0954", "0955"),
    "長崎県": ("095", "0956", "0957"), "熊本県": ("096", "0965", "0968"),
    "大分県": ("097", "0977", "0978"), "宮崎県": ("0985", "0986", "0982"),
    "鹿児島県": ("099", "0995", "0994"), "沖縄県": ("098", "0980"),
}  # fmt: skip

# RFC 2606 reserves .example, so a synthetic address can never reach a real inbox; the labels
# mimic the carrier and free-mail mix of 2014.
EMAIL_DOMAINS = (
    "docomo.ne.example", "ezweb.ne.example", "softbank.ne.example", "i.softbank.example",
    "yahoo.co.example", "gmail.example", "hotmail.co.example", "nifty.example", "ocn.example",
)  # fmt: skip


def area_code(pref: str, city: str, rng: random.Random) -> str:
    """An area code that fits the municipality (03 for Tokyo's wards, 052 for Nagoya, …)."""
    if pref == "東京都" and city.endswith("区"):
        return "03"
    for p, c, code in CITY_AREA_CODES:
        if p == pref and city.startswith(c):
            return code
    codes = PREFECTURE_AREA_CODES.get(pref, ("03",))
    return codes[randrange(rng, len(codes))]


def _digits(rng: random.Random, n: int) -> str:
    # Local exchange numbers never start with 0 or 1 (those are prefixes and special services).
    return str(randint(rng, 2, 9)) + "".join(str(randrange(rng, 10)) for _ in range(n - 1))


def landline(rng: random.Random, pref: str, city: str) -> str:
    """A ten-digit fixed-line number, hyphenated after the area code: 03-1234-5678."""
    code = area_code(pref, city, rng)
    exchange = _digits(rng, 6 - len(code))
    return f"{code}-{exchange}-{randrange(rng, 10000):04d}"


def mobile(rng: random.Random) -> str:
    """An eleven-digit mobile number; 070 was only opened to mobiles in 2013, so it is rarer."""
    r = rng.random()
    prefix = "090" if r < 0.55 else "080" if r < 0.93 else "070"
    return f"{prefix}-{randint(rng, 1000, 9999)}-{randrange(rng, 10000):04d}"


def fax_for(rng: random.Random, phone: str) -> str:
    """A household fax line: often the phone's next number, else another number on the exchange."""
    head, _, last = phone.rpartition("-")
    if rng.random() < 0.6:
        return f"{head}-{(int(last) + 1) % 10000:04d}"
    return f"{head}-{randrange(rng, 10000):04d}"


def email(rng: random.Random, given_romaji: str, surname_romaji: str, birth_year: int) -> str:
    """An e-mail address made the way people make them: name parts, a birth year, digits."""
    g, s = given_romaji.lower(), surname_romaji.lower()
    style = randrange(rng, 5)
    if style == 0:
        local = f"{g}.{s}"
    elif style == 1:
        local = f"{g}{birth_year % 100:02d}"
    elif style == 2:
        local = f"{s}_{g}{randrange(rng, 100)}"
    elif style == 3:
        local = f"{g[:1]}{s}{randrange(rng, 1000)}"
    else:
        local = f"{g}-{s}.{birth_year}"
    return f"{local}@{EMAIL_DOMAINS[randrange(rng, len(EMAIL_DOMAINS))]}"
