"""Search keys of names and readings: width, case, kana and variant-kanji folding.

Pure. Folding is for search only; records keep the registered form.
"""

from __future__ import annotations

import unicodedata

# Variant kanji common in names, folded for search only (records keep the registered form).
_VARIANTS = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "碕": "崎", "齋": "斎", "齊": "斎", "斉": "斎",
    "邊": "辺", "邉": "辺", "嶋": "島", "嶌": "島", "澤": "沢", "濱": "浜", "櫻": "桜",
    "廣": "広", "國": "国", "德": "徳", "眞": "真", "實": "実", "榮": "栄", "惠": "恵",
    "藏": "蔵", "冨": "富", "槇": "槙", "曽": "曾", "萬": "万", "龍": "竜", "瀧": "滝",
})
_HIRA_TO_KATA = str.maketrans({chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)} | {"ゝ": "ヽ", "ゞ": "ヾ"})
_DROP = str.maketrans("", "", "・")


def to_katakana(text: str) -> str:
    """Fold ひらがな to カタカナ (lossless); other characters are unchanged."""
    return text.translate(_HIRA_TO_KATA)


def search_key(text: str) -> str:
    """Normalise a name or reading for search.

    NFKC (full/half width), case folding, hiragana folded to katakana, spaces, middle
    dots dropped, and common variant kanji (髙→高, 﨑→崎, 齋→斎…)
    folded, so that "ﾀｶﾊｼ", "たかはし" and "タカハシ" match, and so do "髙橋" and "高橋".
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = folded.translate(_HIRA_TO_KATA).translate(_VARIANTS).translate(_DROP)
    return "".join(folded.split())


def address_key(text: str) -> str:
    """Normalise an address for search: NFKC (全角 １２３ and ｱ fold to 123 and ア) and
    no white space. The SQL twin is risai_address_key (migration 0360); both sides of a
    comparison fold, so an address typed exactly as stored always matches."""
    return "".join(unicodedata.normalize("NFKC", text).split())
