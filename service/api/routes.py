"""All counter API routes, registered by one call: ``setup_api(app)`` in create_app."""

from __future__ import annotations

from aiohttp import web

from service.api import (
    applications,
    batch_print,
    casework,
    casework_report,
    certificates,
    conflicts,
    disasters,
    imports,
    kiosk_enrolment,
    kiosk_identity,
    quarantine,
    residents,
    sessions,
    staff,
    status,
    surveys,
    verification,
)
from service.api.common import reply
from service.api.kiosk import setup_kiosk_api
from service.web import openapi

V1 = "/api/v1"


async def openapi_document(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json."""
    return reply(openapi.document(), headers={"Cache-Control": "public, max-age=300"})


def setup_api(app: web.Application) -> None:
    """Register the counter API's routes and its shutdown hook."""
    r = app.router
    sessions.setup_routes(app)
    kiosk_identity.setup_routes(app)
    kiosk_enrolment.setup_routes(app)
    r.add_get(f"{V1}/openapi.json", openapi_document)
    r.add_get(f"{V1}/residents", residents.search_residents)
    r.add_get(f"{V1}/residents/{{resident_id}}", residents.get_resident)
    r.add_get(f"{V1}/dwellings", residents.search_dwellings)
    r.add_get(f"{V1}/dwellings/{{dwelling_id}}", residents.get_dwelling)
    r.add_post(f"{V1}/disasters", disasters.create_disaster)
    r.add_get(f"{V1}/disasters", disasters.list_disasters)
    r.add_get(f"{V1}/disasters/{{disaster_id}}", disasters.get_disaster)
    r.add_post(f"{V1}/applications", applications.create_application)
    r.add_get(f"{V1}/applications", casework.list_applications)
    r.add_get(f"{V1}/certificates", casework.list_certificates)
    r.add_get(f"{V1}/exports/applications", casework.export_applications)
    r.add_get(f"{V1}/exports/certificates", casework.export_certificates)
    r.add_get(f"{V1}/reports/daikou", casework_report.daikou_report)
    r.add_get(f"{V1}/statistics", casework_report.statistics_figures)
    r.add_get(f"{V1}/applications/{{application_id}}", applications.get_application)
    r.add_get(f"{V1}/applications/{{application_id}}/tracking", applications.track_application)
    r.add_get(f"{V1}/tracking", applications.track_by_code)
    r.add_post(f"{V1}/applications/{{application_id}}/resurvey-request", applications.request_resurvey)
    r.add_post(f"{V1}/applications/{{application_id}}/withdrawal", applications.withdraw_application)
    r.add_post(f"{V1}/applications/{{application_id}}/applicant", applications.update_applicant)
    r.add_post(f"{V1}/applications/{{application_id}}/surveys", surveys.enter_survey)
    r.add_get(f"{V1}/applications/{{application_id}}/surveys", surveys.list_surveys)
    r.add_get(f"{V1}/surveyors", surveys.list_surveyors)
    r.add_post(f"{V1}/applications/{{application_id}}/judgement", surveys.judge)
    r.add_post(f"{V1}/applications/{{application_id}}/certificate", certificates.issue)
    r.add_get(f"{V1}/certificates/{{number}}", certificates.get_certificate)
    r.add_get(f"{V1}/certificates/{{number}}/pdf", certificates.certificate_pdf)
    r.add_post(f"{V1}/certificates/{{number}}/copies", certificates.reissue_copy)
    r.add_post(f"{V1}/certificates/{{number}}/revoke", certificates.revoke)
    r.add_post(f"{V1}/verify", verification.verify_certificate)
    r.add_get(f"{V1}/trust-list", verification.trust_list)
    r.add_get(f"{V1}/status-lists/{{node_id}}", status.status_list)
    r.add_get(f"{V1}/verifier-bundle", status.verifier_bundle)
    r.add_post(f"{V1}/imports", imports.start_import)
    r.add_get(f"{V1}/imports/{{job_id}}", imports.import_status)
    r.add_post(f"{V1}/batch-prints", batch_print.start_batch)
    r.add_get(f"{V1}/batch-prints/{{job_id}}", batch_print.batch_status)
    r.add_get(f"{V1}/batch-prints/{{job_id}}/pdf", batch_print.batch_pdf)
    r.add_post(f"{V1}/imports/{{job_id}}/resume", imports.resume_import)
    r.add_get(f"{V1}/conflicts", conflicts.list_conflicts)
    r.add_post(f"{V1}/conflicts/{{conflict_id}}/resolve", conflicts.resolve_conflict)
    r.add_get(f"{V1}/replication/freshness", conflicts.replication_freshness)
    r.add_get(f"{V1}/replication/quarantine", quarantine.list_quarantine)
    r.add_post(f"{V1}/replication/quarantine/{{quarantine_id}}/replay", quarantine.replay_quarantined)
    r.add_get(f"{V1}/staff", staff.list_staff)
    r.add_post(f"{V1}/staff", staff.create_staff)
    r.add_post(f"{V1}/staff/{{staff_id}}", staff.change_staff)
    r.add_post(f"{V1}/staff/{{staff_id}}/password", staff.reset_password)
    setup_kiosk_api(app)
    app.on_startup.append(imports.start_jobs)
    app.on_startup.append(batch_print.start_batches)
    app.on_shutdown.append(batch_print.stop_batches)
    app.on_startup.append(casework_report.start_town_names)
    app.on_shutdown.append(casework_report.stop_town_names)
    app[status.STATUS_LISTS] = status.StatusListCache()
    app.on_startup.append(status.start_refresher)
    app.on_shutdown.append(status.stop_refresher)
    app.on_shutdown.append(imports.cancel_jobs)
