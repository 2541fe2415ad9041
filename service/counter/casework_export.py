"""CSV exports of the casework lists, as Excel users in Japanese offices expect them.

Two encodings (docs/api.md, "Exports"):

- ``utf-8``: UTF-8 with a BOM (Excel then opens it as UTF-8), every character kept.
- ``cp932``: Shift_JIS as Windows writes it (Python's ``cp932`` codec). Characters that
  CP932 lacks are handled explicitly: the look-alikes that JIS X 0208 and CP932 map to
  different code points (〜 WAVE DASH, − MINUS SIGN, ‖, ¢, £, ¬, — EM DASH) become the
  CP932 character a Windows user types for them; anything else (for example 𠮷, emoji, or
  a 外字 that slipped in) becomes 〓 (下駄記号, the customary mark for a missing character),
  and :class:`Encoded` counts how many were replaced so the export can say so.

Rows end in CRLF. A cell that starts with = + @ or a tab gets a leading ' so a spreadsheet
shows it as text instead of running it as a formula. Dates are JST. Pure: no I/O.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from typing import Any, Callable, Iterable

from certs.damage import DamageClass

JST = dt.timezone(dt.timedelta(hours=9))
GETA = "〓"
# JIS X 0208 mappings (as macOS and many web forms produce them) → the CP932 look-alike.
CP932_FOLD = str.maketrans({
    "\u301c": "\uff5e",  # 〜 WAVE DASH → ～ FULLWIDTH TILDE
    "\u2212": "\uff0d",  # − MINUS SIGN → －
    "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥
    "\u00a2": "\uffe0",  # ¢ → ￠
    "\u00a3": "\uffe1",  # £ → ￡
    "\u00ac": "\uffe2",  # ¬ → ￢
    "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
})
ENCODINGS = ("utf-8", "cp932")

STATUS_JA = {
    "received": "受付", "surveyed": "調査済", "judged": "判定済", "issued": "交付済",
    "resurvey_requested": "再調査依頼", "resurveyed": "再調査済", "rejudged": "再判定済",
    "reissued": "再交付済",
}
STATE_JA = {"issued": "有効", "superseded": "差替え", "revoked": "失効"}
KIND_JA = {"risai": "罹災証明書", "hisai": "被災証明書"}
CHANNEL_JA = {"counter": "窓口", "kiosk": "キオスク", "mail": "郵送"}


def _class(code: str | None) -> str:
    return DamageClass.from_code(code).label_ja if code else ""


def _jst(at: Any) -> str:
    if isinstance(at, dt.datetime):
        return at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
    return "" if at is None else str(at)


Column = tuple[str, Callable[[dict[str, Any]], Any]]

APPLICATION_COLUMNS: tuple[Column, ...] = (
    ("申請番号 (application_id)", lambda r: r["application_id"]),
    ("受付日時JST (received_at)", lambda r: _jst(r["received_at"])),
    ("状態 (status)", lambda r: STATUS_JA.get(r["status"], r["status"])),
    ("種別 (kind)", lambda r: KIND_JA.get(r["kind"], r["kind"])),
    ("管轄市町村 (competent_town)", lambda r: r["competent_town"]),
    ("申請者 (applicant)", lambda r: r["applicant_name"]),
    ("所在地 (location)", lambda r: r["location"]),
    ("災害 (disaster)", lambda r: r["disaster_name"]),
    ("受付ノード (received_node)", lambda r: r["received_node"]),
    ("受付市町村 (received_town)", lambda r: r["received_town"]),
    ("受付方法 (channel)", lambda r: CHANNEL_JA.get(r["channel"], r["channel"])),
    ("被害の程度 (damage_class)", lambda r: _class(r["damage_class"])),
    ("証明書番号 (certificate)", lambda r: r["current_certificate"]),
)

CERTIFICATE_COLUMNS: tuple[Column, ...] = (
    ("整理番号 (number)", lambda r: r["number"]),
    ("交付日 (issue_date)", lambda r: r["issue_date"].isoformat() if r["issue_date"] else ""),
    ("世帯主氏名 (householder)", lambda r: r["householder_name"]),
    ("被災住家の所在地 (dwelling)", lambda r: r["location"]),
    ("被害の程度 (damage_class)", lambda r: _class(r["damage_class"])),
    ("種別 (type)", lambda r: KIND_JA.get(r["cert_type"], r["cert_type"])),
    ("管轄市町村 (competent_town)", lambda r: r["competent_town"]),
    ("交付ノード (issuing_node)", lambda r: r["issuing_node"]),
    ("交付市町村 (issuing_town)", lambda r: r["issuing_town"]),
    ("代行 (on_behalf)", lambda r: "代行" if r["on_behalf"] else ""),
    ("交付者 (staff)", lambda r: r["staff_name"] or r["staff_id"]),
    ("交付者ID (staff_id)", lambda r: r["staff_id"]),
    ("状態 (state)", lambda r: STATE_JA.get(r["state"], r["state"])),
    ("差替え先 (superseded_by)", lambda r: r["superseded_by"]),
    ("再交付 (copies)", lambda r: r["copies"]),
    ("申請番号 (application_id)", lambda r: r["application_id"]),
    ("災害 (disaster)", lambda r: r["disaster_name"]),
)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "@", "\t") else text


@dataclasses.dataclass
class Encoder:
    """Turns rows into CSV bytes in one of :data:`ENCODINGS`; counts CP932 replacements."""

    columns: tuple[Column, ...]
    encoding: str
    replaced: int = 0

    def header(self) -> bytes:
        """The BOM (UTF-8 only) and the header row."""
        head = self._encode(self._lines([[name for name, _ in self.columns]]))
        return ("\ufeff".encode() if self.encoding == "utf-8" else b"") + head

    def rows(self, rows: Iterable[dict[str, Any]]) -> bytes:
        """The CSV lines of ``rows``."""
        return self._encode(self._lines([[_cell(get(r)) for _, get in self.columns] for r in rows]))

    @staticmethod
    def _lines(rows: list[list[str]]) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(rows)
        return out.getvalue()

    def _encode(self, text: str) -> bytes:
        if self.encoding == "utf-8":
            return text.encode("utf-8")
        text = text.translate(CP932_FOLD)
        try:
            return text.encode("cp932")
        except UnicodeEncodeError:
            return self._encode_slowly(text)

    def _encode_slowly(self, text: str) -> bytes:
        out = bytearray()
        for char in text:
            try:
                out += char.encode("cp932")
            except UnicodeEncodeError:
                self.replaced += 1
                out += GETA.encode("cp932")
        return bytes(out)


def cp932_safe(text: str) -> tuple[str, int]:
    """``text`` as the CP932 export writes it (folded, unknown characters as 〓), and how
    many characters were replaced."""
    encoder = Encoder((), "cp932")
    return encoder._encode(text).decode("cp932"), encoder.replaced
