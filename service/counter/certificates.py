"""Issued certificates at the counter: read, status, copies (再交付), revocation, verification.

Use cases over :class:`service.counter.access.RecordStore`. A certificate's state is the
rule of certs.state (issued, superseded by another, revoked); revoking twice returns the
first revocation (certs.state.revoke is idempotent). Issuing is service.counter.issuance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from certs import state as cert_state
from certs.boxes import PrintedBoxes
from certs.encoding import decode_certificate
from certs.errors import CertsError
from certs.model import Certificate
from certs.numbers import CertificateNumber
from certs.pdf import ArchiveMark, CopyMark
from certs.trust_list import TrustList
from certs.verify import verify
from service.counter import duplicates, printing
from service.counter.access import Actor, RecordStore, audit_other_towns, needs_reason
from service.counter.certificate_records import CertificateCopy, CertificateRecord, Revocation
from service.errors import Conflict, NotFound


async def certificate_status(store: RecordStore, number: str) -> dict[str, Any]:
    """issued / superseded (by) / revoked (reason, at), from this node's data, as JSON. An
    issued certificate of a duplicate accepted during a partition also carries
    ``under_review`` (service.counter.duplicates.under_review)."""
    revocation = await store.load(Revocation, number)
    if revocation is not None:
        return {"state": "revoked", "reason": revocation.reason, "at": revocation.at}
    successors = await store.find_records(CertificateRecord, "supersedes", number, limit=1)
    if successors:
        return {"state": "superseded", "by": successors[0].number}
    review = await duplicates.under_review(store, number)
    return {"state": "issued", "under_review": review} if review else {"state": "issued"}


def as_state(status: dict[str, Any]) -> cert_state.CertificateStatus:
    """The certs.state value of a status from :func:`certificate_status`."""
    if status["state"] == "revoked":
        return cert_state.Revoked(status["reason"])
    if status["state"] == "superseded":
        return cert_state.Superseded(CertificateNumber.parse(status["by"]))
    return cert_state.Issued()


async def load_certificate(store: RecordStore, number: str) -> CertificateRecord:
    """The stored certificate record or 404 certificate.not_found."""
    cert = await store.load(CertificateRecord, number)
    if cert is None:
        raise NotFound(f"no certificate {number} on this node", code="certificate.not_found")
    return cert


async def read_certificate(store: RecordStore, actor: Actor, number: str, *,
                           action: str = "certificate.read") -> tuple[CertificateRecord, dict, int]:
    """(record, status, number of copies), audited as ``action`` for another town's data."""
    async with store.transaction():
        cert = await load_certificate(store, number)
        status = await certificate_status(store, number)
        copies = await store.find("certificate_copy", "number", number, limit=10_000)
        await audit_other_towns(store, actor, towns={cert.competent_town}, action=action,
                                subject_type="certificate", subject_id=number)
    return cert, status, len(copies)


def printed_content(record: CertificateRecord) -> Certificate:
    """What the paper shows: the QR's signed content plus the stored printed boxes (members,
    other damage, place), which are checked against the digest the QR carries."""
    boxes = record.printed_boxes
    return decode_certificate(
        record.qr, PrintedBoxes.from_record(boxes) if boxes is not None else None).certificate


async def printable(store: RecordStore, actor: Actor, number: str, *, copy_no: int, archive: bool,
                    at: dt.datetime) -> tuple[CertificateRecord, CopyMark | None, ArchiveMark | None]:
    """(record, copy mark, archive mark) for a print, audited; a withdrawn certificate is
    refused unless an archive copy is asked for (service.counter.printing)."""
    async with store.transaction():
        cert = await load_certificate(store, number)
        copy = await printing.load_copy(store, number, copy_no)
        status = await certificate_status(store, number)
        copy_mark, archive_mark = printing.print_marks(number, status, archive, copy,
                                                       at.astimezone(printing.JST).date())
        await audit_other_towns(store, actor, towns={cert.competent_town},
                                action="certificate.archive_pdf" if archive else "certificate.pdf",
                                subject_type="certificate", subject_id=number)
    return cert, copy_mark, archive_mark


async def reissue_copy(store: RecordStore, actor: Actor, number: str, copy_reason: dict | None, *,
                       at: dt.datetime, place: str | None = None) -> tuple[CertificateRecord, int, printing.CopyReason]:
    """再交付: the same number and QR, recorded as copy n with its reason (紛失 / 汚損 / 追加)
    and where it was handed out (``place``: a kiosk names itself); only of a current certificate."""
    async with store.transaction():
        cert = await load_certificate(store, number)
        reason = printing.copy_reason(copy_reason or {})  # after the lookup: unknown number is 404 first
        status = await certificate_status(store, number)
        if not isinstance(as_state(status), cert_state.Issued):
            raise Conflict(f"certificate {number} is {status['state']}; a copy is not allowed",
                           code="certificate.not_current")
        needs_reason(actor, {cert.competent_town})
        copy_no = len(await store.find("certificate_copy", "number", number, limit=10_000)) + 1
        copy = CertificateCopy(number, at.isoformat(), store.node_id, actor.staff.staff_id, copy_no=copy_no,
                               copy_reason=reason.name.lower(), place=place)
        await store.save(copy, insert_only=True)
        await audit_other_towns(store, actor, towns={cert.competent_town}, action="certificate.copy",
                                subject_type="certificate", subject_id=number)
    return cert, copy_no, reason


async def revoke_certificate(store: RecordStore, actor: Actor, number: str, reason: str, *,
                             at: dt.datetime) -> tuple[Revocation, bool]:
    """Revoke (its own insert-only event); returns (revocation, created).

    Idempotent, by certs.state.revoke: a second revoke writes nothing and returns the first
    revocation with its reason.
    """
    async with store.transaction():
        cert = await load_certificate(store, number)
        needs_reason(actor, {cert.competent_town})
        existing = await store.load(Revocation, number)
        current = as_state(await certificate_status(store, number))
        revoked = cert_state.revoke(current, reason)
        if existing is not None:
            return existing, False
        revocation = Revocation(number, at.isoformat(), store.node_id, actor.staff.staff_id,
                                reason=revoked.reason)
        await store.save(revocation, insert_only=True)
        # A revocation may settle a duplicate's review (the other certificate is valid again).
        await duplicates.review_events(store, [], [number])
        await audit_other_towns(store, actor, towns={cert.competent_town},
                                action="certificate.revoke", subject_type="certificate", subject_id=number)
    return revocation, True


def _number_in(qr: str) -> str | None:
    """The 整理番号 claimed by the QR (unverified: only to fetch its status), or None."""
    try:
        return str(decode_certificate(qr).certificate.number)
    except CertsError:
        return None


async def verify_here(store: RecordStore, qr: str, trust_list: TrustList, at: dt.datetime,
                      status_lists: dict | None = None) -> dict:
    """The Verdict of a QR, with superseded/revoked taken from this node's data and under
    review (and the list's age) from the federation's status lists this node publishes."""
    statuses: dict[str, Any] = {}
    printed: PrintedBoxes | None = None
    # verify() is synchronous and calls the lookup once with the decoded number; the status
    # is fetched first from the QR's own number so the lookup is a dict read.
    number = _number_in(qr)
    record = await store.load(CertificateRecord, number) if number is not None else None
    if record is not None:
        statuses[number] = await certificate_status(store, number)
        # The printed boxes this node holds are checked against the QR's digest too.
        if record.printed_boxes is not None:
            printed = PrintedBoxes.from_record(record.printed_boxes)

    def lookup(num: CertificateNumber) -> cert_state.CertificateStatus | None:
        status = statuses.get(str(num))
        return as_state(status) if status is not None else None  # None: unknown here

    verdict = verify(qr, trust_list, at, status_lookup=lookup, printed_boxes=printed,
                     status_lists=status_lists)
    body = verdict.to_dict()
    body["status"] = statuses.get(body["number"]) if body["number"] else None
    return body
