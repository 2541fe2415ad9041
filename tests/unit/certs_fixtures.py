"""Shared fixtures for the certs tests: a small federation PKI and sample certificates.

Not a conftest: the tests import what they need explicitly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from certs.ceremony import build_federation_pki
from certs.damage import DamageClass
from certs.federation import FederationConfig, NodeConfig, TownConfig
from certs.model import Certificate, CertificateType, Disaster, Flooding, HouseholdMember, IssuingPlace, Town
from certs.numbers import CertificateNumber
from certs.trust_list import TrustList

NOW = datetime(2024, 1, 10, 9, 0, tzinfo=timezone.utc)
MASHIKI = Town("434434", "益城町", "山田 太郎")
WAJIMA = Town("172049", "輪島市", "佐藤 花子")
RIKUZENTAKATA = Town("032107", "陸前高田市", "鈴木 一郎")
OUTSIDER = Town("432113", "宇土市", "高橋 次郎")  # in the federation, but not Mashiki's partner

# A realistic household: long address, householder living in the damaged dwelling.
ADDRESS = "熊本県上益城郡益城町大字宮園字北ノ前1234番地5 益城ハイツ203号室"
OTHER_ADDRESS = "熊本県上益城郡益城町大字木山字南小路2345番地6 木山第二団地B棟105号室"


def federation_config(*, wajima_alg: str = "ES256") -> FederationConfig:
    """Four towns; Mashiki's partners are Wajima and Rikuzentakata, not Uto."""
    return FederationConfig(
        name="テスト相互応援グループ",
        towns=(
            TownConfig(MASHIKI.code, MASHIKI.name, MASHIKI.mayor, (WAJIMA.code, RIKUZENTAKATA.code)),
            TownConfig(WAJIMA.code, WAJIMA.name, WAJIMA.mayor, (MASHIKI.code,)),
            TownConfig(RIKUZENTAKATA.code, RIKUZENTAKATA.name, RIKUZENTAKATA.mayor, (MASHIKI.code,)),
            TownConfig(OUTSIDER.code, OUTSIDER.name, OUTSIDER.mayor, ()),
        ),
        nodes=(
            NodeConfig("mashiki-1", MASHIKI.code),
            NodeConfig("wajima-1", WAJIMA.code, wajima_alg),
            NodeConfig("rikuzentakata-1", RIKUZENTAKATA.code, "EdDSA"),
            NodeConfig("uto-1", OUTSIDER.code),
        ),
    )


def build_pki(out: Path, **kwargs) -> TrustList:
    """Run the init ceremony into ``out`` at NOW."""
    return build_federation_pki(federation_config(**kwargs), out, NOW)


def certificate(
    node: str = "wajima-1", issuing_town: Town = WAJIMA, competent: Town = MASHIKI, sequence: int = 42, **changes
) -> Certificate:
    """A realistic 罹災証明書: 益城町's dwelling, issued by default at a Wajima node (代行)."""
    cert = Certificate(
        number=CertificateNumber(competent.code, node, sequence),
        cert_type=CertificateType.RISAI,
        householder_address=ADDRESS,
        householder_name="熊本 太郎",
        disaster=Disaster("令和6年能登半島地震", date(2024, 1, 1)),
        dwelling_address=ADDRESS,
        damage_class=DamageClass.DAIKIBO_HANKAI,
        competent_town=competent,
        issuing=IssuingPlace(node, issuing_town.code, issuing_town.name),
        issue_date=date(2024, 1, 10),
        members=(HouseholdMember("熊本 花子", "妻"), HouseholdMember("熊本 一郎", "長男")),
    )
    return replace(cert, **changes)


def worst_case_certificate() -> Certificate:
    """Every optional box filled, different long addresses, a place: the largest QR."""
    return certificate(
        householder_address=OTHER_ADDRESS,
        householder_name="熊本 太郎左衛門",
        members=(
            HouseholdMember("熊本 花子", "妻"), HouseholdMember("熊本 一郎", "長男"),
            HouseholdMember("熊本 さくら", "長女"), HouseholdMember("熊本 梅", "母"),
        ),
        flooding=Flooding.ABOVE_FLOOR,
        other_damage="車庫・物置の倒壊、ブロック塀の損壊",
        issuing=IssuingPlace("wajima-1", WAJIMA.code, WAJIMA.name, "輪島市役所 本庁舎 災害対策窓口"),
        supersedes=CertificateNumber(MASHIKI.code, "mashiki-1", 1234),
    )


def at(hours: float = 1) -> datetime:
    """A time shortly after NOW."""
    return NOW + timedelta(hours=hours)
