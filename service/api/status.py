"""Status lists and the verifier bundle, for the whole federation, from this node's data.

Every node holds every certificate and revocation (replication), so any node can say what
each issuing node's certificates' status is. This node builds one list per issuing node,
signs them with its own key (its own town's delegation kid, which the trust list names as
a status-list signer) and serves:

- GET /api/v1/status-lists/{node_id}  (application/statuslist+cwt)
- GET /api/v1/verifier-bundle         (application/cbor, attachment risai-verifier-bundle.cbor)

Built lists are cached in memory and kept fresh by a background task: once a second it runs
cheap queries (each issuing node's highest sequence, one index probe each; count and newest
updated_at of the revocations; count and newest change of duplicate review items), none of
which reads every certificate, and rebuilds only when that changed, when the trust
list file changed, or when the lists are half-way to their ``ttl``. A download of a list or
the bundle makes the same check itself first, so a list served is never older than ttl/2
plus the time to notice a change; /verify reads the current build and never waits for one
(issue 10). The SQL is service/storage/status_lists.py and service/storage/duplicates.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import time
from typing import Any

from aiohttp import web

from certs.bundle import FILE_NAME, MEDIA_TYPE, build_bundle
from certs.errors import InvalidInput
from certs.numbers import validate_node_id
from certs.pki import delegation_of
from certs.status_list import DEFAULT_TTL, TYP, StatusList, federation_statuses, parse_status_list, sign_status_list
from service.api.common import now
from service.errors import InvalidRequest, NotFound, Unavailable
from service.storage.counter import open_repository
from service.web.appkeys import KEYRING, POOL, SETTINGS

CHECK_INTERVAL_S = 1.0
CACHE_CONTROL = "public, max-age=60"  # verifiers online re-fetch often; offline ones rely on exp
log = logging.getLogger("service.api.status")


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
    """The current Published, rebuilt when the data under it changed (see the module docstring).

    A background task (``run``) keeps it fresh, so /verify reads it without waiting; the
    list and bundle downloads check freshness themselves (``fresh=True``) before serving.
    """

    def __init__(self, ttl: dt.timedelta = DEFAULT_TTL) -> None:
        self.ttl = ttl
        self.current: Published | None = None
        self.builds = 0
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, app: web.Application, *, fresh: bool = True) -> Published:
        """The lists to serve now. ``fresh``: re-check the data first (at most once a second)
        and rebuild if it changed; otherwise the current build unless there is none yet.
        Builds run under a lock, so concurrent callers build once."""
        if not fresh and self.current is not None:
            return self.current
        async with self._lock:
            held = self.current is not None  # another caller may have built it while this one waited
            checked = held and time.monotonic() - self._checked_at < CHECK_INTERVAL_S
            if held and (checked or not fresh) and now() - self.current.built_at < self.ttl / 2:
                return self.current
            marker = await _marker(app)
            self._checked_at = time.monotonic()
            if self.current is None or marker != self.current.marker or now() - self.current.built_at >= self.ttl / 2:
                self.current = await _build(app, marker, self.ttl)
                self.builds += 1
            return self.current

    async def run(self, app: web.Application) -> None:
        """Keep the build fresh while the node runs (a failed check is logged and retried)."""
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            if app.get(KEYRING) is None or app[SETTINGS].keys.trust_list is None:
                continue  # a node without keys publishes no lists
            try:
                await self.get(app)
            except Exception as exc:  # noqa: BLE001 - database down, busy pool...: retried next second
                log.warning("status lists not refreshed", extra={"error": f"{type(exc).__name__}: {exc}"})


STATUS_LISTS: web.AppKey[StatusListCache] = web.AppKey("status_lists", StatusListCache)
_REFRESHER: web.AppKey[asyncio.Task] = web.AppKey("status_list_refresher", asyncio.Task)


async def start_refresher(app: web.Application) -> None:
    """on_startup: the background refresh of the status lists."""
    app[_REFRESHER] = asyncio.create_task(app[STATUS_LISTS].run(app), name="status-list-refresher")


async def stop_refresher(app: web.Application) -> None:
    """on_cleanup (before the pool closes)."""
    task = app.get(_REFRESHER)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _repository(app: web.Application):
    settings = app[SETTINGS]
    return open_repository(app[POOL], node_id=settings.node.id, town=settings.node.town_code,
                           timeout=settings.database.acquire_timeout_s)


def _issuing_nodes(app: web.Application) -> set[str]:
    """Every delegated node: each gets a list, even before its first certificate."""
    return {delegation_of(cert).node_id for cert in _ring(app).trust_list.delegations}


async def _marker(app: web.Application) -> tuple:
    path = app[SETTINGS].keys.trust_list
    stat = path.stat() if path is not None else None
    nodes = _issuing_nodes(app)
    async with _repository(app) as repo:
        marker = await repo.status_marker(nodes)
        review = await repo.review_marker()  # a duplicate's review opened or closed (issue 11)
    return *marker, review, stat.st_mtime_ns if stat else None, stat.st_size if stat else None


def _ring(app: web.Application) -> Any:
    ring = app.get(KEYRING)
    if ring is None:
        raise Unavailable("this node has no keys configured; it cannot sign or verify",
                          code="keys.not_configured")
    return ring


async def _build(app: web.Application, marker: tuple, ttl: dt.timedelta) -> Published:
    ring = _ring(app)
    settings = app[SETTINGS]
    if settings.keys.trust_list is None:
        raise Unavailable("this node has no trust list configured", code="keys.not_configured")
    nodes = _issuing_nodes(app)
    # One pooled connection for the reads, released before the CPU-bound signing.
    async with _repository(app) as repo:
        highest = await repo.highest_sequences(nodes)
        revoked = await repo.revoked_numbers()
        superseded = await repo.superseded_pairs()
        under_review = await repo.under_review_numbers()  # partition duplicates (status 2)
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


async def published(request: web.Request, *, fresh: bool = True) -> Published:
    """The current build: checked for changes first (the downloads below), or as the
    background refresh left it (``fresh=False``: /verify, which must not wait for a build)."""
    return await request.app[STATUS_LISTS].get(request.app, fresh=fresh)


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
