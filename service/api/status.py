"""Status lists and the verifier bundle, for the whole federation, from this node's data.

Every node holds every certificate and revocation (replication), so any node can say what
each issuing node's certificates' status is. This node builds one list per issuing node,
signs them with its own key (its own town's delegation kid, which the trust list names as
a status-list signer) and serves:

- GET /api/v1/status-lists/{node_id}  (application/statuslist+cwt)
- GET /api/v1/verifier-bundle         (application/cbor, attachment risai-verifier-bundle.cbor)

Built lists are cached in memory. A request runs two cheap queries (count and newest
updated_at of certificates and revocations; count and newest change of duplicate review
items) at most once a second, and rebuilds only when that changed, when the trust list file changed, or when the lists are half-way to their
``ttl``, so a list served is never older than ttl/2 plus the time to notice a change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import time
from typing import Any

from aiohttp import web

from certs.bundle import FILE_NAME, MEDIA_TYPE, build_bundle
from certs.numbers import validate_node_id
from certs.errors import InvalidInput
from certs.pki import delegation_of
from certs.status_list import DEFAULT_TTL, TYP, StatusList, federation_statuses, parse_status_list, sign_status_list
from service.api.common import now, repository
from service.api.context import keyring
from service.web.appkeys import SETTINGS
from service.errors import InvalidRequest, NotFound, Unavailable

CHECK_INTERVAL_S = 1.0
CACHE_CONTROL = "public, max-age=60"  # verifiers online re-fetch often; offline ones rely on exp

MARKER_SQL = ("SELECT count(*), max(updated_at) FROM entities"
              " WHERE entity_type IN ('certificate', 'revocation')")
HIGHEST_SQL = (r"SELECT m[1] AS node, max(m[2]::bigint) AS top FROM ("
               r" SELECT regexp_match(entity_id, '^\d{6}-([a-z0-9-]+)-(\d+)$') AS m FROM entities"
               r" WHERE entity_type = 'certificate') s WHERE m IS NOT NULL GROUP BY 1")
REVOKED_SQL = "SELECT entity_id FROM entities WHERE entity_type = 'revocation'"
SUPERSEDED_SQL = ("SELECT state->>'supersedes' AS old, entity_id AS new FROM entities"
                  " WHERE entity_type = 'certificate' AND state->>'supersedes' IS NOT NULL")


@dataclasses.dataclass(frozen=True)
class Published:
    """One build: the signed lists and the bundle, with their ETags."""

    marker: tuple
    built_at: dt.datetime
    signed: dict[str, bytes]
    parsed: dict[str, StatusList]
    bundle: bytes

    def etag(self, data: bytes) -> str:
        """A strong ETag over the exact bytes."""
        return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class StatusListCache:
    """The current Published, rebuilt when the data under it changed (see the module docstring)."""

    def __init__(self, ttl: dt.timedelta = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self.current: Published | None = None
        self.builds = 0
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, request: web.Request) -> Published:
        """The lists to serve now; rebuilds under a lock so concurrent requests build once."""
        async with self._lock:
            fresh = self.current is not None and time.monotonic() - self._checked_at < CHECK_INTERVAL_S
            if fresh and now() - self.current.built_at < self.ttl / 2:
                return self.current
            marker = await _marker(request)
            self._checked_at = time.monotonic()
            if self.current is None or marker != self.current.marker or now() - self.current.built_at >= self.ttl / 2:
                self.current = await _build(request, marker, self.ttl)
                self.builds += 1
            return self.current


STATUS_LISTS: web.AppKey[StatusListCache] = web.AppKey("status_lists", StatusListCache)


async def _marker(request: web.Request) -> tuple:
    path = request.app[SETTINGS].keys.trust_list
    stat = path.stat() if path is not None else None
    async with repository(request) as repo:
        count, newest = await repo.conn.fetchrow(MARKER_SQL)
        review = await repo.review_marker()  # a duplicate's review opened or closed (issue 11)
    return count, newest, review, stat.st_mtime_ns if stat else None, stat.st_size if stat else None


async def _build(request: web.Request, marker: tuple, ttl: dt.timedelta) -> Published:
    ring = keyring(request)
    settings = request.app[SETTINGS]
    if settings.keys.trust_list is None:
        raise Unavailable("this node has no trust list configured", code="keys.not_configured")
    # One pooled connection for the three reads, released before the CPU-bound signing.
    async with repository(request) as repo:
        highest = {r["node"]: r["top"] for r in await repo.conn.fetch(HIGHEST_SQL)}
        revoked = [r["entity_id"] for r in await repo.conn.fetch(REVOKED_SQL)]
        superseded = [(r["old"], r["new"]) for r in await repo.conn.fetch(SUPERSEDED_SQL)]
        under_review = await repo.under_review_numbers()  # partition duplicates (status 2)
    for cert in ring.trust_list.delegations:  # every delegated node gets a list, even before its first certificate
        highest.setdefault(delegation_of(cert).node_id, 0)
    trust_bytes = settings.keys.trust_list.read_bytes()
    built_at = now()
    work = (federation_statuses(highest, revoked, superseded, under_review), ring, settings.node.id, built_at, ttl, trust_bytes)
    return await asyncio.get_running_loop().run_in_executor(None, _sign_all, marker, *work)


def _sign_all(marker: tuple, lists: dict, ring: Any, signer_node: str, built_at: dt.datetime,
              ttl: dt.timedelta, trust_bytes: bytes) -> Published:
    signed = {node: sign_status_list(node, statuses, successors, ring.event_signer, signer_node, built_at, ttl=ttl)
              for node, (statuses, successors) in sorted(lists.items())}
    # Read back what was signed, as a verifier would: a list this node cannot verify
    # (e.g. its key is not a status-list signer in the trust list) is an error, not served.
    parsed = {node: parse_status_list(data, ring.trust_list) for node, data in signed.items()}
    bundle = build_bundle(ring.trust_list.root, trust_bytes, list(signed.values()), built_at)
    return Published(marker, built_at, signed, parsed, bundle)


async def published(request: web.Request) -> Published:
    """The current build (for /verify and the handlers below)."""
    return await request.app[STATUS_LISTS].get(request)


def _cached(request: web.Request, published_: Published, data: bytes, content_type: str,
            extra: dict[str, str]) -> web.Response:
    etag = published_.etag(data)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL,
               "Last-Modified": published_.built_at.strftime("%a, %d %b %Y %H:%M:%S GMT"), **extra}
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type=content_type, headers=headers)


async def status_list(request: web.Request) -> web.Response:
    """GET /api/v1/status-lists/{node_id}: the signed status list of one issuing node."""
    node_id = request.match_info["node_id"]
    try:
        validate_node_id(node_id)
    except InvalidInput as exc:
        raise InvalidRequest.about("node_id", exc.message, "invalid.node_id") from None
    current = await published(request)
    data = current.signed.get(node_id)
    if data is None:
        raise NotFound(f"no issuing node {node_id} in this federation", code="status_list.unknown_node")
    listed = current.parsed[node_id]
    return _cached(request, current, data, TYP, {
        "X-Status-List-Issued-At": listed.issued_at.isoformat(),
        "X-Status-List-Expires-At": listed.expires_at.isoformat(), "X-Status-List-Signer": listed.signer_node})


async def verifier_bundle(request: web.Request) -> web.Response:
    """GET /api/v1/verifier-bundle: pinned root, trust list and every status list, one file."""
    current = await published(request)
    return _cached(request, current, current.bundle, MEDIA_TYPE, {
        "Content-Disposition": f'attachment; filename="{FILE_NAME}"',
        "X-Bundle-Created-At": current.built_at.isoformat()})
