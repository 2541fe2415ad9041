"""QR size: every realistic certificate fits version 15 at level M (DESIGN 5).

"Realistic" bounds: addresses of up to 44 characters in both fields (prefecture, county
and town, 大字 and 字, lot number, building and room), up to 8 household members, every
optional box filled (flooding, other damage up to 100 characters, the place up to 40,
supersedes), names of up to 3+3 kanji, town names of up to 5, a disaster name of up to 14
("平成30年北海道胆振東部地震"), node ids of up to 15 characters. Kanji are drawn uniformly from about 400 that occur in
names, so the text compresses worse than real addresses do. The printed boxes are bound by a digest, so their
length does not matter; the householder address leaves the QR only when it must.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from certs.boxes import PRINTED_ONLY, PrintedBoxes
from certs.damage import DamageClass
from certs.encoding import MAX_QR_CHARS, decode_certificate, encode_certificate, make_qr
from certs.keys import EDDSA, ES256, SoftwareSigner, generate_private_key
from certs.model import Certificate, CertificateType, Disaster, Flooding, HouseholdMember, IssuingPlace, Town
from certs.numbers import CertificateNumber
from tests.unit.certs_fixtures import NOW, OTHER_ADDRESS, WAJIMA, worst_case_certificate

SIGNERS = {alg: SoftwareSigner(generate_private_key(alg), bytes(8)) for alg in (ES256, EDDSA)}
MEMBERS = tuple(HouseholdMember(f"熊本 {name}", relation) for name, relation in [
    ("花子", "妻"), ("一郎", "長男"), ("さくら", "長女"), ("梅", "母"),
    ("次郎", "次男"), ("三郎", "三男"), ("桜子", "次女"), ("竹蔵", "父")])

# Kanji that occur in place and personal names (about 400): real text draws from a pool
# like this, which is what lets zlib shrink it. Drawing uniformly from it is still harsher
# than real addresses, which repeat 県, 郡, 町, 大字, 番地 and the town's own name.
NAME_KANJI = sorted(set(
    "北海道青森岩手宮城秋田山形福島茨栃木群馬埼玉千葉東京神奈川新潟富石福井梨長野岐阜静岡愛知三重滋賀京都大阪"
    "兵庫奈良和歌鳥取根広徳香媛高知佐熊本分崎鹿児沖縄上下中西南小原谷沢浜松竹梅桜花岩村市区郡県府町字丁目番地号"
    "益輪陸前田輪宇土関白河郷里内外平野浦津岡尾瀬戸橋口坂台見丘森林春夏秋冬朝日月星雲雪霧風波岸磯港湾入江州浅深"
    "清水泉湯温池沼泊渡船舟宿駅場所寺社宮院堂神仏天地人子男女太郎次三四五六七八九十百千万一二吉良善美真和正義信"
    "忠孝仁智勇明光輝照昭平成令元治文武安康寿福徳栄昌盛隆興豊富貴金銀銅鉄玉宝珠宗家門屋敷城館邸殿庄園畑堀塚墓"
    "藤佐伊加斎須鈴渡辺菅菊桐柳杉桧楠榎椎栗柿桃李杏梨柚橘菜稲麦粟豆芝草葉茂蔵倉庫蔵町新旧古今本末初終始元祖父"
    "母兄弟姉妹妻夫長次孫叔伯甥姪嫁婿義"))
kanji = st.sampled_from(NAME_KANJI)
MAX_ADDRESS = 44
katakana = st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA)


def word(alphabet=kanji, low: int = 2, high: int = 4) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=low, max_size=high)


@st.composite
def addresses(draw) -> str:
    """A Japanese address: 県 + 郡町 + 大字 + 字 + lot + building and room, at most MAX_ADDRESS chars."""
    parts = [draw(word()) + "県", draw(word()) + "郡", draw(word()) + draw(st.sampled_from("市町村")),
             "大字" + draw(word()), "字" + draw(word()),
             f"{draw(st.integers(1, 9999))}番地{draw(st.integers(1, 99))}",
             " " + draw(word(katakana, 3, 8)) + draw(st.sampled_from(["ハイツ", "マンション", "第二団地B棟"])),
             f"{draw(st.integers(101, 1999))}号室"]
    return "".join(parts)[:MAX_ADDRESS]


def names() -> st.SearchStrategy[str]:
    return st.builds(lambda a, b: f"{a} {b}", word(kanji, 1, 3), word(kanji, 1, 3))


@st.composite
def worst_certificates(draw) -> Certificate:
    """Every box filled, different long addresses, 8 members, long names."""
    competent = Town("434434", draw(word(kanji, 2, 4)) + "町", draw(names()))
    node = draw(st.from_regex(r"[a-z]{4,12}-[0-9]{1,2}", fullmatch=True))
    dwelling = draw(addresses())
    sequence = draw(st.integers(1, 10**7))
    members = tuple(HouseholdMember(draw(names()), draw(word(kanji, 1, 3))) for _ in range(8))
    return Certificate(
        number=CertificateNumber(competent.code, node, sequence),
        cert_type=CertificateType.RISAI,
        householder_address=draw(addresses().filter(lambda a: a != dwelling)),
        householder_name=draw(names()),
        disaster=Disaster("令和" + str(draw(st.integers(1, 30))) + "年" + draw(word(kanji, 2, 7)) + "地震",
                          date(2024, 1, 1)),
        dwelling_address=dwelling,
        damage_class=draw(st.sampled_from(DamageClass)),
        competent_town=competent,
        issuing=IssuingPlace(node, WAJIMA.code, draw(word(kanji, 2, 4)) + "市", draw(word(kanji, 10, 40))),
        issue_date=date(2024, 3, 31),
        members=members,
        flooding=Flooding.ABOVE_FLOOR,
        other_damage=draw(word(kanji, 20, 100)),
        supersedes=CertificateNumber(competent.code, draw(st.from_regex(r"[a-z]{4,12}-[0-9]{1,2}", fullmatch=True)),
                                     sequence + draw(st.integers(1, 10**6))),
    )


def _assert_fits(qr_string: str) -> None:
    qr = make_qr(qr_string)
    assert len(qr_string) <= MAX_QR_CHARS, len(qr_string)
    assert qr.version <= 15 and qr.error in ("M", "Q", "H") and qr.mode == "alphanumeric", (qr.version, qr.error)


def test_max_qr_chars_is_the_capacity_of_version_15_m():
    assert make_qr("A" * MAX_QR_CHARS).version == 15
    assert make_qr("A" * (MAX_QR_CHARS + 1)).version == 16


def test_eight_members_every_box_and_two_long_addresses_fit():
    cert = replace(worst_case_certificate(), members=MEMBERS, householder_address=OTHER_ADDRESS)
    for signer in SIGNERS.values():
        qr = encode_certificate(cert, signer, NOW)
        _assert_fits(qr)
        assert decode_certificate(qr, PrintedBoxes.of(cert)).certificate == cert


@settings(max_examples=60, deadline=None)
@given(worst_certificates(), st.sampled_from([ES256, EDDSA]))
def test_worst_realistic_certificates_fit_version_15(cert, alg):
    qr = encode_certificate(cert, SIGNERS[alg], NOW)
    _assert_fits(qr)
    decoded = decode_certificate(qr)
    assert decoded.certificate.householder_address in (cert.householder_address, PRINTED_ONLY)
    assert decode_certificate(qr, PrintedBoxes.of(cert)).certificate == cert
