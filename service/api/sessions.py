"""Staff login, logout and who is logged in, over HTTP (DESIGN 6): parse, call
service.staff.sessions, reply. The cookie and CSRF checks on every request are
service.web.auth's.

Login takes only ``application/json`` from the node's own origin, which a cross-site form
cannot send, so login CSRF (logging a victim into an attacker's account) is refused.
"""

from __future__ import annotations

from aiohttp import web

from risai_errors import Kind
from service.api.common import plain_json_object
from service.errors import Forbidden, InvalidRequest, ServiceError
from service.staff.sessions import authenticate, end_session, start_session
from service.web.appkeys import POOL, SETTINGS
from service.web.auth import AUTH_POLICY, COOKIE_NAME, LOGIN_PATH, LOGIN_THROTTLE, SESSION, SESSIONS, current_staff


class UnsupportedMediaType(ServiceError):
    kind, code = Kind.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"


def _check_login_request(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise UnsupportedMediaType("login takes a JSON body (Content-Type: application/json)",
                                   code="auth.json_required")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
        raise Forbidden("login from another origin is refused", code="csrf.origin")
    if origin == "null":
        raise Forbidden("login from an opaque origin is refused", code="csrf.origin")


async def _login_body(request: web.Request) -> tuple[str, str, str]:
    body = await plain_json_object(request)
    problems = [{"field": f, "reason": "required text", "code": "invalid.required"}
                for f in ("town_code", "username", "password")
                if not isinstance(body.get(f), str) or not body.get(f)]
    if problems:
        raise InvalidRequest("town_code, username and password are required", fields=problems)
    return body["town_code"], body["username"], body["password"]


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    policy = request.app[AUTH_POLICY]
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="Strict", path="/",
                        secure=request.app[SETTINGS].secure_cookies,
                        max_age=int(policy.session_ttl.total_seconds()))


async def login(request: web.Request) -> web.Response:
    """POST /api/v1/auth/login {town_code, username, password}."""
    _check_login_request(request)
    town, username, password = await _login_body(request)
    app = request.app
    staff = await authenticate(app[POOL], app[LOGIN_THROTTLE], app[AUTH_POLICY], town, username, password)
    token, csrf = await start_session(app[POOL], staff, app[AUTH_POLICY], app[SESSIONS], old=request.get(SESSION),
                                      user_agent=request.headers.get("User-Agent"),
                                      acquire_timeout=app[SETTINGS].database.acquire_timeout_s)
    response = web.json_response({"staff": staff.public(), "csrf_token": csrf})
    _set_cookie(request, response, token)
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /api/v1/auth/logout: end the session (CSRF-checked by the middleware)."""
    session = request.get(SESSION)
    if session is not None:
        await end_session(request.app[POOL], session, request.app[SESSIONS])
    response = web.json_response({"logged_out": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    """GET /api/v1/auth/me: who is logged in, and the CSRF token for this session."""
    staff = current_staff(request)
    session = request[SESSION]
    return web.json_response({"staff": staff.public(),
                              "csrf_token": session.csrf_token if session else None})


def setup_routes(app: web.Application) -> None:
    """The auth routes (registered first by service.api.routes.setup_api)."""
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_post("/api/v1/auth/logout", logout)
    app.router.add_get("/api/v1/auth/me", me)
