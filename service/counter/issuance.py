"""Issuing a 罹災証明書 (or 被災証明) for an application, in durable numbered steps.

    0. wait for this process's other issuer of the application   (in-process; no connection held)
       then take ONE pooled connection for steps 1-5
    1. reserve the per-node sequence number   ┐ one transaction, committed before signing
    2. record the intent                      ┘ (the application row is locked FOR UPDATE)
    3. build the content                        (pure: certs.model.Certificate)
    4. sign                                     (the node key, under the competent town's delegation)
    5. store the certificate (insert-only) and the application's new state, with their
       outbox events, and close the intent     (one transaction, one record_changes call)
    6. give the connection back, then wait for Kafka's ack per the durability setting
       (DESIGN 4): the wait holds no connection, so a slow broker cannot drain the pool

Why no connection is ever held while waiting for another (issue 10): step 0 waits on an
asyncio lock, not on a database lock held by a pooled session, and step 6 waits with no
connection at all. Across processes sharing the database, the application row lock of
steps 1 and 5 and the unique open intent (``issuance_intents_open``) still allow one
certificate only: an issuer that finds another process's open intent gives its connection
back, waits and looks again; it never signs a second certificate. An open intent of this
process (its issuer failed before storing) is abandoned at once, another's when stale.

The use case depends only on :class:`IssuanceStore` (below, its own port; in PostgreSQL the
service.storage.repository.Repository that ``connect`` opens), a clock value and the
callables in :class:`IssuanceContext`, so the unit tests run it against a tiny fake. It
works on typed records (Application, CertificateRecord); the store turns them into their
replicated state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Protocol, Sequence, TypeVar

from certs.boxes import PrintedBoxes
from certs.damage import DamageClass
from certs.encoding import encode_certificate
from certs.keys import Signer
from certs.model import Certificate, CertificateType, Disaster, Flooding, IssuingPlace, Town
from certs.numbers import CertificateNumber
from replication.events import Change, Event
from service.counter import lifecycle
from service.counter.application_records import Application
from service.counter.certificate_records import CertificateRecord
from service.counter.record_state import RecordBase
from service.counter.records import Inundation, Survey
from service.errors import Conflict, NotFound, Unavailable

JST = dt.timezone(dt.timedelta(hours=9))

# Another process's open intent older than this is from an issuer that stopped (crashed,
# or its connection died) between steps 2 and 5; a live one takes milliseconds, or fails
# within the statement timeout (30 s, storage.db.create_pool).
STALE_INTENT_S = 60.0
# How long an issuer waits for another process's issuer of the same application before
# it answers 503 issuance.in_progress (retry: the reply is then the first one's certificate).
IN_PROGRESS_WAIT_S = 5.0
R = TypeVar("R", bound=RecordBase)


class IssuanceStore(Protocol):
    """What issuance needs from storage (and nothing more), on one connection."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One database transaction."""

    async def get(self, entity_type: str, entity_id: str, *, for_update: bool = False) -> dict | None:
        """The held state of one entity, or None."""

    async def load(self, record_type: type[R], entity_id: str, *, for_update: bool = False) -> R | None:
        """The typed record with this id, or None; ``for_update`` row-locks it."""

    async def get_refs(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """Held states of several entities of any types in one read (missing ones absent)."""

    def change_of(self, record: RecordBase, *, insert_only: bool = False) -> Change:
        """A typed record as a change to record with the others."""

    async def record(self, changes: Sequence[Change]) -> list[Event]:
        """Record changes (entities + outbox) in the current transaction, in one call."""

    def audit_change(self, **fields: Any) -> Change:
        """The audit record for ``fields`` as a change to record with the others."""

    async def reserve_number(self, node_id: str) -> int:
        """The next 整理番号 sequence of ``node_id`` (never handed out twice)."""

    async def open_intent(self, number: str, application_id: str, purpose: str,
                          staff_id: str | None, issuer: str) -> bool:
        """Record that ``number`` is about to be signed; False if one is open already."""

    async def close_intent(self, number: str, *, abandoned: str | None = None) -> bool:
        """Mark the intent completed, or abandoned with a reason; False if it was not open."""

    async def abandon_stale_intents(self, application_id: str, reason: str, *, older_than_s: float,
                                    issuer: str) -> int:
        """Abandon open intents of an application left by ``issuer`` or older than
        ``older_than_s`` (issuers that stopped before storing)."""


Connect = Callable[[], contextlib.AbstractAsyncContextManager[IssuanceStore]]


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it (bounded memory).

    ``owner`` names this set of locks in the intents it opens: an open intent with the
    owner's name, seen while holding the owner's lock, was left by a failed issuer.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.owner = uuid.uuid4().hex

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


# This process's issuers (step 0). Per process by nature: across processes the database
# decides (see the module docstring).
ISSUERS = KeyedLocks()


class _InProgress(Exception):
    """Another process holds an open intent for the application (step 2 refused)."""


@dataclasses.dataclass(frozen=True)
class IssuanceContext:
    """Who issues and with what: this node, its keys, town names, audit and durability."""

    node_id: str
    node_town: str
    staff_id: str | None
    staff_town: str | None
    signer_for: Callable[[str, dt.datetime], Signer]  # raises KeyFileError (→ 403)
    town_info: Callable[[str], tuple[str, str] | None]  # code → (name, mayor) from the trust list
    audit_reason: Callable[[], str] = lambda: ""  # raises 422 audit.reason_required when absent
    staff: Any = None  # the Staff object, passed to the audit record
    place: str | None = None
    acknowledge: Callable[[Event], Awaitable[str]] | None = None
    before_store: Callable[[], Awaitable[None]] | None = None  # test hook: widens the race
    issuers: KeyedLocks = ISSUERS


@dataclasses.dataclass(frozen=True)
class IssueResult:
    """The stored certificate; ``existing`` when an earlier issuance is returned instead."""

    number: str
    certificate: CertificateRecord | None  # None: issued, but the record is not on this node yet
    existing: bool
    replication: str


async def issue_certificate(connect: Connect, ctx: IssuanceContext, application_id: str,
                            now: dt.datetime) -> IssueResult:
    """Issue for ``application_id`` (idempotent: an issued application returns its certificate).

    ``connect()`` opens the store on one pooled connection; it is held for steps 1-5 only.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + IN_PROGRESS_WAIT_S
    while True:
        try:
            # 0. A second issuer in this process waits here holding nothing, then finds
            #    the application issued in step 1 and returns that certificate.
            async with ctx.issuers.hold(application_id), connect() as store:
                result, event = await _issue(store, ctx, application_id, now)
            break
        except _InProgress:
            # Another process is between steps 2 and 5: look again shortly, holding nothing.
            if loop.time() >= deadline:
                raise _busy(application_id) from None
            await asyncio.sleep(0.05)
    if event is None:
        return result
    # 6. After commit only, with no connection held: the certificate is ours whatever Kafka
    #    says; the reply says whether it is also replicated (or pending, availability first).
    replication = await ctx.acknowledge(event) if ctx.acknowledge else "not configured"
    return dataclasses.replace(result, replication=replication)


def _busy(application_id: str) -> Unavailable:
    return Unavailable(f"application {application_id} is being issued by another process; retry",
                       code="issuance.in_progress", retry_after=1)


async def _issue(store: IssuanceStore, ctx: IssuanceContext, application_id: str,
                 now: dt.datetime) -> tuple[IssueResult, Event | None]:
    prepared = await _reserve(store, ctx, application_id, now)
    if isinstance(prepared, IssueResult):
        return prepared, None
    app, inputs, signer, number, supersedes = prepared
    # 3. Build the content outside any transaction: pure, and no lock is held longer.
    cert = build_certificate(app, inputs, ctx, number, now, supersedes)
    # 4. Sign. Nothing leaves the node before step 5 commits, so a crash here only
    #    leaves an open intent (its number is never reused).
    qr = encode_certificate(cert, signer, now)
    event, record = await _store(store, ctx, app, cert, qr, now)
    return IssueResult(str(number), record, False, ""), event


async def _reserve(store: IssuanceStore, ctx: IssuanceContext, application_id: str,
                   now: dt.datetime) -> Any:
    async with store.transaction():
        # The row lock serialises issuers of this application across processes for this
        # transaction; the open intent (step 2) carries that on through the signing.
        app = await store.load(Application, application_id, for_update=True)
        if app is None:
            raise NotFound(f"no application {application_id}", code="application.not_found")
        if app.status in lifecycle.ISSUED and app.current_certificate:
            held = await store.load(CertificateRecord, app.current_certificate)
            return IssueResult(app.current_certificate, held, True, "already issued")
        lifecycle.next_status(app, "issue")  # 409 unless judged / rejudged (received for 被災証明)
        # Check the delegation before reserving: a node that may not sign for this town
        # gets a clear 403 and consumes no number.
        signer = ctx.signer_for(app.competent_town, now)
        inputs = await load_inputs(store, app)
        _audit_needed(ctx, app)  # ask for the reason now, before anything is written
        # An open intent of this process is left over (we hold its lock for this
        # application); another process's is live unless it is this old.
        await store.abandon_stale_intents(application_id, "issuer stopped before storing",
                                          older_than_s=STALE_INTENT_S, issuer=ctx.issuers.owner)
        # 1. The number: the row lock on this node's sequence row is held to commit.
        number = CertificateNumber(app.competent_town, ctx.node_id, await store.reserve_number(ctx.node_id))
        # 2. The intent, committed with the number before anything is signed. Refused when
        #    another process's issuer holds a live one: roll back (the number is not used).
        purpose = "hisai" if app.kind == "hisai" else ("reissue" if app.current_certificate else "issue")
        if not await store.open_intent(str(number), application_id, purpose, ctx.staff_id, ctx.issuers.owner):
            raise _InProgress(application_id)
    supersedes = app.current_certificate if app.kind == "risai" else None
    return app, inputs, signer, number, supersedes


async def _store(store: IssuanceStore, ctx: IssuanceContext, app: Application, cert: Certificate,
                 qr: str, now: dt.datetime) -> tuple[Event, CertificateRecord]:
    number = str(cert.number)
    try:
        async with store.transaction():
            # Re-read under a row lock: a replicated change may have arrived since step 2.
            current = await store.load(Application, app.application_id, for_update=True)
            if current != app:
                raise Conflict("the application changed while the certificate was being signed; "
                               "try again", code="application.changed")
            if ctx.before_store is not None:
                await ctx.before_store()
            # Close the intent first, before record_changes takes the node-wide locks: if
            # it was abandoned meanwhile (this issuer looked stale), this certificate is not
            # stored, so a second certificate can never be.
            if not await store.close_intent(number):
                raise Conflict("this issuance was abandoned as stale; try again",
                               code="issuance.abandoned")
            record = certificate_record(cert, qr, app, ctx, now)
            issued = lifecycle.advance(app, "issue", at=now.isoformat(), node=ctx.node_id, staff=ctx.staff_id,
                                       current_certificate=number, certificates=(*app.certificates, number))
            # 5. One record_changes for everything this transaction writes: one clock tick
            #    and one short hold of the entity-store lock. The certificate is insert-only:
            #    a second insert of the same number with other content fails.
            changes = [store.change_of(record, insert_only=True), store.change_of(issued)]
            if reason := _audit_needed(ctx, app):
                changes.append(store.audit_change(
                    staff=ctx.staff, action="certificate.issue", subject_type="certificate",
                    subject_id=number, town_code=app.competent_town, reason=reason))
            event, *_ = await store.record(changes)
    except BaseException:
        async with store.transaction():
            await store.close_intent(number, abandoned="store failed")
        raise
    return event, record


def _audit_needed(ctx: IssuanceContext, app: Application) -> str | None:
    """The reason, when staff act on another town's resident data (DESIGN 6)."""
    if ctx.staff_town is None:
        return None
    towns = app.towns()
    if towns == {ctx.staff_town}:
        return None
    return ctx.audit_reason()


async def load_inputs(store: IssuanceStore, app: Application) -> dict[str, Any]:
    """The records the certificate is built from: household, householder, dwelling, survey."""
    refs = [("household", app.household_id), ("dwelling", app.dwelling_id), ("survey", app.survey_id)]
    held = await store.get_refs([r for r in refs if r[1]])
    household = held.get(refs[0])
    if household is None:
        raise Conflict(f"household {app.household_id} is not on this node", code="application.data_missing")
    householder = await store.get("resident", household["householder_id"])
    dwelling, survey = held.get(refs[1]), held.get(refs[2])
    if householder is None or (app.kind == "risai" and (dwelling is None or survey is None)):
        raise Conflict("records of this application are not on this node yet", code="application.data_missing")
    return {"household": household, "householder": householder, "dwelling": dwelling, "survey": survey}


def build_certificate(app: Application, inputs: dict, ctx: IssuanceContext, number: CertificateNumber,
                      now: dt.datetime, supersedes: str | None) -> Certificate:
    """Step 3: the unified-form content. The class comes from the judgement, never typed."""
    competent = ctx.town_info(app.competent_town)
    own = ctx.town_info(ctx.node_town)
    if competent is None or own is None:
        raise Conflict("town missing from the trust list", code="trust_list.town_missing")
    householder = inputs["householder"]
    risai = app.kind == "risai"
    survey = Survey.from_state(inputs["survey"]) if inputs["survey"] else None
    flooding = survey.flooding if survey else None  # 床上/床下浸水 as the survey recorded it
    return Certificate(
        number=number,
        cert_type=CertificateType.RISAI if risai else CertificateType.HISAI,
        householder_address=inputs["household"]["address"],
        householder_name=f"{householder['family_name']} {householder['given_name']}",
        disaster=Disaster(app.disaster["name"], dt.date.fromisoformat(app.disaster["date"])),
        dwelling_address=inputs["dwelling"]["location"] if risai else app.property["location"],
        damage_class=DamageClass.from_code(app.damage_class) if risai else None,
        competent_town=Town(app.competent_town, *competent),
        issuing=IssuingPlace(ctx.node_id, ctx.node_town, own[0], ctx.place),
        issue_date=now.astimezone(JST).date(),
        flooding=Flooding.ABOVE_FLOOR if flooding is Inundation.ABOVE_FLOOR
        else Flooding.BELOW_FLOOR if flooding is Inundation.BELOW_FLOOR else None,
        other_damage=app.property["description"] if not risai else None,
        supersedes=CertificateNumber.parse(supersedes) if supersedes else None,
    )


def certificate_record(cert: Certificate, qr: str, app: Application, ctx: IssuanceContext,
                       now: dt.datetime) -> CertificateRecord:
    """The replicated, insert-only record of one certificate (the QR holds the content)."""
    return CertificateRecord(
        number=str(cert.number), application_id=app.application_id,
        cert_type=cert.cert_type.value, qr=qr, signed_at=now.isoformat(),
        issue_date=cert.issue_date.isoformat(), competent_town=cert.competent_town.code,
        issuing_node=ctx.node_id, issuing_town=ctx.node_town, on_behalf=cert.on_behalf,
        damage_class=cert.damage_class.code if cert.damage_class else None,
        supersedes=str(cert.supersedes) if cert.supersedes else None,
        dwelling_id=app.dwelling_id, survey_id=app.survey_id, staff_id=ctx.staff_id,
        # The QR carries only a digest of the printed optional boxes (members, other
        # damage, place detail); their text is kept here so the PDF can be re-rendered
        # and checked against that digest.
        printed_boxes=PrintedBoxes.of(cert).to_record(),
    )
