"""What may be printed: the rules behind GET /certificates/{n}/pdf (issue 11). Pure rules
and one read over the store; the handler is service.api.certificates.certificate_pdf.

- A current certificate prints normally; ``?copy=N`` prints 再交付 copy N with its mark.
- A revoked or superseded certificate is refused (409 certificate.not_current, with the
  reason or the superseding number), unless ``?archive=true`` by a supervisor or auditor:
  then it prints as an archive copy with a large 失効 / 差替え mark across the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certs.errors import CertsError
from certs.pdf import ArchiveMark, CopyMark, CopyReason, check_seal_image
from certs.town_code import validate_town_code
from service.config import ConfigError
from service.errors import Conflict, Forbidden, InvalidRequest, NotFound

ARCHIVE_ROLES = ("supervisor", "auditor")
COUNTER_ROLES = ("clerk", "supervisor")
COPY_REASONS = {r.value: r for r in CopyReason} | {r.name.lower(): r for r in CopyReason}
JST = dt.timezone(dt.timedelta(hours=9))


def archive_requested(raw: str, staff: Any) -> bool:
    """``?archive=true``: only supervisors and auditors; a plain print needs a counter role."""
    raw = raw.lower()
    if raw not in ("true", "false", "1", "0"):
        raise InvalidRequest.about("archive", "must be true or false", "invalid.type")
    archive = raw in ("true", "1")
    roles = ARCHIVE_ROLES if archive else COUNTER_ROLES
    if not staff.has_any(roles):
        needed = ", ".join(roles)
        raise Forbidden(f"this needs one of the roles: {needed}", code="auth.role",
                        fields=[{"field": "roles", "reason": needed, "code": "auth.role"}])
    return archive


def print_marks(number: str, status: dict[str, Any], archive: bool, copy: dict[str, Any] | None,
                today: dt.date) -> tuple[CopyMark | None, ArchiveMark | None]:
    """The marks for this print, or Conflict when a withdrawn certificate would print as valid."""
    state = status["state"]
    if state == "issued":
        if archive:
            raise Conflict(f"certificate {number} is current; an archive copy is only for withdrawn certificates",
                           code="certificate.current")
        return (copy_mark(copy) if copy else None), None
    detail = status.get("reason", "") if state == "revoked" else status.get("by", "")
    if not archive:
        what = f"revoked ({detail})" if state == "revoked" else f"superseded by {detail}"
        ja = f"失効しています（{detail}）" if state == "revoked" else f"整理番号 {detail} に差し替えられています"
        field = {"field": "number", "reason": what, "code": f"certificate.{state}"}
        if state == "superseded":
            field["superseded_by"] = detail
        raise Conflict(f"証明書 {number} は{ja}。印刷できません / certificate {number} is {what}; "
                       "it cannot be printed (archive copy: supervisor or auditor, archive=true)",
                       code="certificate.not_current", fields=[field])
    return None, ArchiveMark(state, detail, today)


def copy_mark(record: dict[str, Any]) -> CopyMark:
    """The mark of a stored 再交付 copy record; one made before reasons were recorded prints
    "記録なし / not recorded" rather than a guessed reason."""
    reason = COPY_REASONS.get(record.get("copy_reason") or "")
    made = dt.datetime.fromisoformat(record["at"]).astimezone(JST).date()
    return CopyMark(int(record["copy_no"]), made, reason)


async def load_copy(repo: Any, number: str, copy_no: int) -> dict[str, Any] | None:
    """The 再交付 record ``copy_no`` of ``number`` (None for 0: the original); 404 if absent."""
    if copy_no == 0:
        return None
    record = await repo.get("certificate_copy", f"{number}/copy-{copy_no}")
    if record is None:
        raise NotFound(f"certificate {number} has no copy {copy_no}", code="certificate.copy_not_found")
    return record


def copy_reason(body: dict[str, Any]) -> CopyReason:
    """The required ``copy_reason`` of a 再交付 request: 紛失 / 汚損 / 追加 (or lost / damaged / additional)."""
    raw = body.get("copy_reason")
    reason = COPY_REASONS.get(raw) if isinstance(raw, str) else None
    if reason is None:
        raise InvalidRequest.about("copy_reason", "must be one of 紛失 (lost), 汚損 (damaged), 追加 (additional)",
                                   "invalid.copy_reason")
    return reason


class SealConfigError(ConfigError):
    """A seal image that cannot be printed: the node refuses to start, naming the file."""


@dataclass(frozen=True)
class SealImages:
    """Town seal images (PNG bytes by town code), read and checked once at start-up."""

    by_town: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def load(cls, seal_dir: Path | None) -> "SealImages":
        if seal_dir is None:
            return cls()
        if not Path(seal_dir).is_dir():
            raise SealConfigError(f"setting printing.seal_dir: {seal_dir} is not a folder")
        images = {}
        for path in sorted(Path(seal_dir).iterdir()):
            if path.suffix.lower() != ".png":
                continue
            try:
                validate_town_code(path.stem)
            except CertsError:
                raise SealConfigError(f"seal image {path}: name it by the town's code (434434.png)") from None
            data = path.read_bytes()
            if (problem := check_seal_image(data)) is not None:
                raise SealConfigError(f"seal image {path} {problem}")
            images[path.stem] = data
        return cls(images)

    def for_town(self, town_code: str) -> bytes | None:
        """The seal to print for ``town_code``'s certificates, or None (公印省略)."""
        return self.by_town.get(town_code)
