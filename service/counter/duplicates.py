"""One current 罹災証明書 per (household, dwelling, disaster): the rule, at the counter and
after a partition (DESIGN 3; docs/certs.md, "One current certificate").

**The triple.** A 罹災証明書 application names a household, a dwelling and a disaster. The
disaster is keyed by its registry id; an older free-text disaster ``{"name", "date"}``
is keyed by the id the registry gives that name and date (service.counter.disasters.
disaster_id), so a free-text application and a registered one for the same disaster are
the same triple. 被災証明 (kind ``hisai``) has no dwelling and is not subject to the rule.

**Current.** An application holds its triple unless it was withdrawn or rejected
(FREEING_STATUSES), or its current certificate was revoked. A superseded certificate
does not free it: supersession happens inside the application (再調査 → a new
certificate for the same application), whose new certificate is the current one.

**At the counter.** A second current application for a triple is refused with 409
``application.duplicate``, naming the existing application and its certificate (再交付 or
再調査 instead). Two simultaneous requests on one node are serialised by a transaction-
level lock on the triple (``lock_triple``), taken before the look-up, so the second sees
the first's committed application.

**After a partition** two nodes may each have accepted one. Every node runs ``review`` for
each triple touched by applied events (the replication consumer's post-apply step, and
after a local revocation): two or more current applications make one review item with a
key that is the same on every node (``review_item``); their current certificates are then
under review (``under_review``), in /verify, in the UI and as status 2 in the status lists,
until a supervisor revokes all but one; the next review closes the item.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Collection, Protocol, Sequence

from service.counter.access import RecordStore
from service.counter.application_records import Application
from service.counter.certificate_records import CertificateRecord
from service.counter.disasters import disaster_id
from service.errors import Conflict

KIND = "duplicate_certificate"  # the conflicts row kind of a review item
ENTITY_TYPE = "application_triple"  # its entity_type; entity_id is Triple.key
FREEING_STATUSES = frozenset({"withdrawn", "rejected"})


@dataclasses.dataclass(frozen=True)
class Triple:
    """(household, dwelling, disaster key): at most one current 罹災証明書 each."""

    household_id: str
    dwelling_id: str
    disaster: str

    @property
    def key(self) -> str:
        """The triple as one string (lock key, review item's entity id)."""
        return f"{self.household_id}/{self.dwelling_id}/{self.disaster}"

    @classmethod
    def parse(cls, key: str) -> "Triple":
        """The inverse of ``key`` (ids hold no "/": household and dwelling ids are registry
        ids, disaster keys D-YYYYMMDD-hex)."""
        household, dwelling, disaster = key.rsplit("/", 2)
        return cls(household, dwelling, disaster)


def disaster_key(disaster: dict[str, Any]) -> str:
    """The registry id, or for free text the id the registry gives its name and date."""
    if disaster.get("id"):
        return disaster["id"]
    return disaster_id(disaster["name"], dt.date.fromisoformat(disaster["date"]))


def triple_of(app: Application) -> Triple | None:
    """The application's triple, or None when the rule does not apply (被災証明)."""
    if app.kind != "risai" or not app.dwelling_id or not app.disaster:
        return None
    return Triple(app.household_id, app.dwelling_id, disaster_key(app.disaster))


def is_current(app: Application, revoked: Collection[str]) -> bool:
    """Whether the application holds its triple (see the module docstring)."""
    if app.status in FREEING_STATUSES:
        return False
    number = app.current_certificate
    return not number or number not in revoked


def first_received(apps: Sequence[Application]) -> list[Application]:
    """Applications in a deterministic order: received first, then by id."""
    return sorted(apps, key=lambda a: (a.received_at, a.application_id))


def review_item(triple: Triple, apps: Sequence[Application]) -> dict[str, Any]:
    """The review item for two or more current applications of one triple.

    Every field comes from the applications' ids and receipt times, so every node that sees
    the same applications records the same item (same key, same pair, same suggestion),
    whatever order the events arrived in. ``winner`` is only a suggestion (the application
    received first); nothing is decided until a supervisor revokes a certificate.
    """
    ordered = first_received(apps)
    ids = sorted(a.application_id for a in ordered)
    first, second = ordered[0], ordered[1]
    return {"conflict_key": f"{KIND}/{triple.key}/{'+'.join(ids)}", "kind": KIND,
            "entity_type": ENTITY_TYPE, "entity_id": triple.key,
            "local_version": first.application_id, "local_state": _summary(first),
            "remote_version": second.application_id, "remote_state": _summary(second),
            "winner": first.application_id}


def _summary(app: Application) -> dict[str, Any]:
    return {"application_id": app.application_id, "certificate": app.current_certificate,
            "received_node": app.received_node, "received_at": app.received_at}


class DuplicateStore(RecordStore, Protocol):
    """What the rule needs from storage (index-backed; see service.storage.duplicates)."""

    async def applications_for(self, household_id: str, dwelling_id: str) -> list[Application]:
        """Every application of this household for this dwelling."""

    async def revoked_among(self, numbers: Sequence[str]) -> set[str]:
        """Which of these certificate numbers are revoked."""

    async def lock_triple(self, key: str) -> None:
        """Serialise use cases on one triple until the current transaction ends."""

    async def save_review(self, triple_key: str, item: dict[str, Any] | None) -> None:
        """Record ``item`` (idempotent) and close the triple's other open items, or close
        them all when ``item`` is None."""


async def current_applications(store: DuplicateStore, triple: Triple) -> list[Application]:
    """The triple's current applications, received first."""
    apps = [a for a in await store.applications_for(triple.household_id, triple.dwelling_id)
            if triple_of(a) == triple]
    revoked = await store.revoked_among([a.current_certificate for a in apps if a.current_certificate])
    return first_received([a for a in apps if is_current(a, revoked)])


async def refuse_duplicate(store: DuplicateStore, new: Application) -> None:
    """409 application.duplicate when the new application's triple is held already.

    Call inside the receiving transaction, before the write: the triple's lock is held to
    its end, so a concurrent receive of the same triple waits and then sees this one.
    """
    triple = triple_of(new)
    if triple is None:
        return
    await store.lock_triple(triple.key)
    held = await current_applications(store, triple)
    if not held:
        return
    existing = held[0]
    number = existing.current_certificate
    action = "再交付 (copy) or 再調査 (re-survey)" if number else "continue that application"
    raise Conflict(
        f"この世帯・住家・災害の申請は既にあります（{existing.application_id}）/ household "
        f"{triple.household_id} already applied for dwelling {triple.dwelling_id} and this disaster: "
        f"{existing.application_id}" + (f", certificate {number}" if number else "") + f"; {action}",
        code="application.duplicate",
        fields=[{"field": "dwelling_id", "reason": f"already applied: {existing.application_id}",
                 "code": "application.duplicate", "application_id": existing.application_id,
                 "certificate": number, "status": existing.status}])


async def review(store: DuplicateStore, triple: Triple) -> dict[str, Any] | None:
    """Record (or close) the triple's review item from the data held now; idempotent."""
    apps = await current_applications(store, triple)
    item = review_item(triple, apps) if len(apps) >= 2 else None
    await store.save_review(triple.key, item)
    return item


async def triple_of_certificate(store: RecordStore, number: str) -> tuple[Triple | None, Application | None]:
    """(triple, application) of the application a certificate was issued for."""
    cert = await store.load(CertificateRecord, number)
    app = await store.load(Application, cert.application_id) if cert and cert.application_id else None
    return (triple_of(app) if app else None), app


async def under_review(store: DuplicateStore, number: str) -> dict[str, Any] | None:
    """``{"state": "under_review", "applications", "certificates"}`` when certificate
    ``number`` is the current certificate of one of two or more current applications of
    its triple; otherwise None."""
    triple, app = await triple_of_certificate(store, number)
    if triple is None or app is None or app.current_certificate != number:
        return None
    apps = await current_applications(store, triple)
    if len(apps) < 2 or app.application_id not in {a.application_id for a in apps}:
        return None
    return {"state": "under_review", "triple": triple.key,
            "applications": [a.application_id for a in apps],
            "certificates": [a.current_certificate for a in apps]}


async def review_events(store: DuplicateStore, applications: Sequence[Application],
                        revoked: Sequence[str] = ()) -> int:
    """The post-apply step: review every triple touched by applied events (these
    applications, and the certificates ``revoked``). Returns how many triples."""
    triples = {t for app in applications if (t := triple_of(app)) is not None}
    for number in revoked:
        if (triple := (await triple_of_certificate(store, number))[0]) is not None:
            triples.add(triple)
    for triple in sorted(triples, key=lambda t: t.key):
        await review(store, triple)
    return len(triples)
