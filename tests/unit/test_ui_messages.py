"""Every stable error code the node can send has a Japanese message in the counter UI
(service/static/messages.js), and every stored code shown to a person has a label."""

from __future__ import annotations

import re
from pathlib import Path

from service.counter.records import Structure
from service.staff.accounts import ROLES

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = (ROOT / "service" / "static" / "messages.js").read_text()
# Dotted strings in the sources that are not error codes: audit actions, file, logger,
# topic and setting names, nested field names.
NOT_CODES = {
    "application.create", "application.judge", "application.read", "application.resurvey_request",
    "application_code.issue", "certificate.copy", "certificate.issue", "certificate.pdf", "certificate.read",
    "certificate.revoke", "resident.read", "resident.search", "survey.enter", "survey.read", "application.withdraw",
    "application.update_applicant", "agent.power_of_attorney", "agent.relation", "applicant.relationship",
    "applicant.delivery", "applicant.contact_address", "index.html", "root.pem",
    "service.errors", "service.main", "retention.bytes", "retention.ms", "risai.disaster", "risai.events",
    "risai.reason", "risai.town", "node.town_code", "nodes.id", "nodes.signing_alg", "nodes.town",
    "towns.code", "towns.partners", "trust-list.cbor",
    "certificate.archive_pdf", "service.transport", "ca.pem", "cert.pem", "key.pem", "keystore.pem",
    "package.json", "sw.js", "verifier.css", "verifier.js",
    "application.list", "certificate.list", "daikou.report", "service.casework",
}


def _source_codes() -> set[str]:
    found: set[str] = set()
    for folder in ("service", "certs"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', path.read_text()))
    return found - NOT_CODES


def _table_codes() -> set[str]:
    block = MESSAGES[MESSAGES.index("export const ERRORS"):MESSAGES.index("// Fallbacks")]
    return set(re.findall(r'^\s*"([a-z_.]+)": \["', block, flags=re.M))


def test_every_error_code_has_a_japanese_message():
    missing = sorted(_source_codes() - _table_codes())
    assert not missing, f"add these to service/static/messages.js ERRORS: {missing}"


def test_every_structure_and_role_is_translated():
    for code in [s.value for s in Structure]:
        assert re.search(rf'"?{re.escape(code)}"?: \["', MESSAGES), code
    for role in ROLES:
        assert re.search(rf"\b{role}: \[\"", MESSAGES), role
