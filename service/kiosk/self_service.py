"""The kiosk's use cases (issue 13): what an identified resident may do at a kiosk.

A kiosk session belongs to one resident; everything here is scoped to that resident's
household, checked before any read or write is passed on: another household's dwelling,
application or certificate is 403 ``kiosk.other_household`` whether or not it exists, so
ids cannot be probed. The rules themselves are the counter's (service.counter.*): this
module only adds the scope and acts as a :class:`KioskActor`, so a kiosk read or write of
another town's data is audited like a clerk's, with the kiosk and its centre as the actor
and a fixed reason (the resident identified themself). Pure over the counter's ports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from service.counter import applications, certificates, lifecycle
from service.counter.access import Actor, RecordStore, audit_other_towns
from service.counter.application_records import Application
from service.counter.certificate_records import CertificateRecord
from service.counter.residents import ResidentStore, read_resident
from service.errors import Forbidden, NotFound

REASONS = {"card": "避難所キオスクで本人確認（マイナンバーカード）/ resident identified at a kiosk by card",
           "code": "避難所キオスクで本人確認（受付コード）/ resident identified at a kiosk by one-time code"}


@dataclasses.dataclass(frozen=True)
class KioskActor:
    """The kiosk as the acting party (in the place of a member of staff): a device at a centre
    of this node's town. ``staff_id`` is ``kiosk:<id>``; ``username`` names the centre."""

    kiosk_id: str
    centre: str
    town_code: str  # the centre's town: the node's

    @property
    def staff_id(self) -> str:
        return f"kiosk:{self.kiosk_id}"

    @property
    def display_name(self) -> str:
        return f"キオスク {self.kiosk_id}（{self.centre}）"

    @property
    def username(self) -> str:
        return f"kiosk:{self.kiosk_id}@{self.centre}"


@dataclasses.dataclass(frozen=True)
class Resident:
    """Who the kiosk session is for."""

    town_code: str
    resident_id: str
    method: str  # card | code


def kiosk_actor(device: KioskActor, resident: Resident) -> Actor:
    """The counter's Actor for this kiosk: the stated reason is the identification itself."""
    return Actor(device, lambda: REASONS[resident.method], kiosk_id=device.kiosk_id)


def _other_household(what: str) -> Forbidden:
    return Forbidden(f"a kiosk session can only use its own household's {what}", code="kiosk.other_household")


async def _household_of(store: RecordStore, resident: Resident) -> str:
    state = await store.get("resident", resident.resident_id)
    if state is None or state["town_code"] != resident.town_code:
        raise NotFound("the identified resident is not known on this node (yet)", code="kiosk.resident_unknown")
    return state["household_id"]


async def my_household(store: ResidentStore, device: KioskActor, resident: Resident) -> dict[str, Any]:
    """The resident, their household and its dwellings (audited when another town's)."""
    await _household_of(store, resident)
    person, household, dwellings = await read_resident(store, kiosk_actor(device, resident), resident.resident_id)
    return {"resident": _person(person), "household": household, "dwellings": dwellings}


def _person(state: dict[str, Any]) -> dict[str, Any]:
    keep = ("resident_id", "town_code", "household_id", "family_name", "given_name", "family_kana",
            "given_kana", "name", "kana", "birth_date", "address", "is_householder")
    return {k: v for k, v in state.items() if k in keep}


async def apply(store: RecordStore, device: KioskActor, resident: Resident, parsed: dict[str, Any], *,
                town: str, at: dt.datetime) -> tuple[dict[str, Any], str]:
    """Receive an application from the kiosk: the applicant is the identified resident, the
    dwelling (罹災証明書) must be one of their household's; the counter's rules do the rest."""
    household = await _household_of(store, resident)
    if parsed["kind"] == "risai":
        dwelling = await store.get("dwelling", parsed["dwelling_id"])
        if dwelling is None or household not in dwelling["household_ids"]:
            raise _other_household("dwellings")
    parsed = {**parsed, "applicant": resident.resident_id, "channel": "kiosk"}
    app, code = await applications.receive_application(store, kiosk_actor(device, resident), parsed,
                                                       town=town, at=at)
    return public(app, {}), code


async def my_applications(store: RecordStore, device: KioskActor, resident: Resident) -> list[dict[str, Any]]:
    """The household's applications, newest first, as the applicant sees them; each read of
    another town's application audited, all in one transaction (one commit per screen)."""
    async with store.transaction():
        household = await _household_of(store, resident)
        found = await store.find_records(Application, "household_id", household, limit=200)
        found.sort(key=lambda a: a.received_at, reverse=True)
        return [await _view(store, device, resident, app) for app in found]


async def my_application(store: RecordStore, device: KioskActor, resident: Resident,
                         application_id: str) -> dict[str, Any]:
    """One of the household's applications; 403 for any other id."""
    async with store.transaction():
        household = await _household_of(store, resident)
        app = await store.load(Application, application_id)
        if app is None or app.household_id != household:
            raise _other_household("applications")
        return await _view(store, device, resident, app)


async def _view(store: RecordStore, device: KioskActor, resident: Resident, app: Application) -> dict[str, Any]:
    """The applicant's view of one application, its read audited (in the caller's transaction)."""
    states = {n: await certificates.certificate_status(store, n) for n in app.certificates}
    await audit_other_towns(store, kiosk_actor(device, resident), towns=applications.towns_of(app),
                            action="application.read", subject_type="application", subject_id=app.application_id)
    return public(app, states)


def public(app: Application, states: dict[str, dict]) -> dict[str, Any]:
    """The tracking view plus what the kiosk shows beside it (dwelling, disaster)."""
    return {**lifecycle.public_view(app, states), "dwelling_id": app.dwelling_id,
            "disaster": app.disaster, "property": app.property}


async def my_certificates(store: RecordStore, device: KioskActor, resident: Resident) -> list[dict[str, Any]]:
    """Every certificate of the household's applications with its state (issued / revoked /
    superseded), newest first; only an issued one may be printed."""
    out = []
    async with store.transaction():  # every read audited, one commit for the screen
        household = await _household_of(store, resident)
        for app in await store.find_records(Application, "household_id", household, limit=200):
            for number in app.certificates:
                cert = await store.load(CertificateRecord, number)
                if cert is None:
                    continue  # not replicated here yet
                status = await certificates.certificate_status(store, number)
                out.append({"number": number, "application_id": app.application_id,
                            "cert_type": cert.cert_type, "issue_date": cert.issue_date,
                            "damage_class": cert.damage_class, "dwelling_id": cert.dwelling_id,
                            "competent_town": cert.competent_town, "status": status,
                            "printable": status["state"] == "issued"})
                await audit_other_towns(store, kiosk_actor(device, resident), towns={cert.competent_town},
                                        action="certificate.read", subject_type="certificate", subject_id=number)
    out.sort(key=lambda c: c["issue_date"], reverse=True)
    return out


async def _own_certificate(store: RecordStore, resident: Resident, number: str) -> None:
    household = await _household_of(store, resident)
    cert = await store.load(CertificateRecord, number)
    app = cert and cert.application_id and await store.load(Application, cert.application_id)
    if not app or app.household_id != household:
        raise _other_household("certificates")


async def print_copy(store: RecordStore, device: KioskActor, resident: Resident, number: str,
                     copy_reason: dict[str, Any], *, at: dt.datetime) -> tuple[CertificateRecord, int, Any]:
    """再交付 at the kiosk: the counter's copy rule (only a current certificate), recorded as a
    copy with this kiosk as the place."""
    await _own_certificate(store, resident, number)
    return await certificates.reissue_copy(store, kiosk_actor(device, resident), number, copy_reason, at=at,
                                           place=device.username)


async def printable_copy(store: RecordStore, device: KioskActor, resident: Resident, number: str,
                         copy_no: int, *, at: dt.datetime) -> tuple[CertificateRecord, Any, Any]:
    """The record and copy mark to render copy ``copy_no`` (the counter's print rule)."""
    await _own_certificate(store, resident, number)
    return await certificates.printable(store, kiosk_actor(device, resident), number, copy_no=copy_no,
                                        archive=False, at=at)


async def disasters_for(store: Any, resident: Resident) -> list[dict[str, Any]]:
    """The registered disasters that struck the resident's town, newest first."""
    return [d for d in await store.list_disasters(500) if resident.town_code in d.get("towns", [])]
