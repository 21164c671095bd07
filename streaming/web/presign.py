"""Presigned WebSocket URLs for a web app's pages, from the app's own server.

The page asks ``GET /presign?language-code=en-US&sample-rate=16000`` (whatever path the
app mounts); the server checks the app's authorisation hook and its fixed limits, and
answers ``{"url": ..., "expires": 60}`` with a URL valid that long. The browser never
chooses the credentials, the region or the endpoint, and asks for nothing outside what
:class:`PresignPolicy` allows. Responses are never cached (``Cache-Control: no-store``);
cross-origin pages get CORS headers only for the origins the policy names.

:func:`decide` is the whole decision (pure); :func:`aiohttp_presign_handler` and
:class:`AsgiPresignApp` (Starlette, FastAPI or any ASGI server) are thin adapters.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sigv4 import Credentials

from ..proto.connection import MAX_PRESIGN_EXPIRES, default_endpoint, presign_websocket
from ..proto.endpoints import check_endpoint, check_region
from ..proto.errors import ParameterError
from ..proto.params import Operation, StreamParams
from .limits import PageLimits, foreign_origin, hook_allows, page_params, query_pairs

__all__ = [
    "AsgiPresignApp",
    "Authorize",
    "PresignPolicy",
    "PresignReply",
    "PresignRequest",
    "aiohttp_presign_handler",
    "decide",
]

_OPERATIONS: Final = {
    "transcription": Operation.TRANSCRIPTION,
    "medical": Operation.MEDICAL,
    "call-analytics": Operation.CALL_ANALYTICS,
}
_NO_STORE: Final = {"cache-control": "no-store, max-age=0", "pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class PresignRequest:
    """What the handler sees of the browser's request (any framework's request maps onto it)."""

    method: str
    query: str
    headers: Mapping[str, str]  # lower-case names
    client: str | None = None


@dataclass(frozen=True, slots=True)
class PresignReply:
    status: int
    headers: dict[str, str]
    body: bytes


Authorize = Callable[[PresignRequest], "bool | Awaitable[bool | None] | None"]
"""The app's own check: return (or await) False to refuse; raise PermissionError to refuse
with its message. It sees the request (cookies, tokens, the client address)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PresignPolicy:
    """What the server signs, whatever the page asks.

    ``credentials`` may be a callable, called for every URL: temporary credentials (an
    assumed role's session token) are fetched or refreshed there. ``endpoint`` defaults to
    the region's WebSocket endpoint. ``params`` names further service parameters (wire
    names, e.g. ``show-speaker-label``) a page may set; ``allowed_origins`` the origins of
    pages on other sites that may call (CORS).
    """

    region: str
    credentials: Credentials | Callable[[], Credentials]
    endpoint: str | None = None
    operations: frozenset[str] = frozenset({"transcription"})
    languages: frozenset[str] = frozenset({"en-US"})
    sample_rates: frozenset[int] = frozenset({8000, 16000, 44100, 48000})
    encodings: frozenset[str] = frozenset({"pcm"})
    params: frozenset[str] = frozenset()
    max_expires: int = 60
    allowed_origins: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_region(self.region)
        if self.endpoint is not None:
            check_endpoint(self.endpoint, "websocket")
        if not 1 <= self.max_expires <= MAX_PRESIGN_EXPIRES:
            raise ParameterError("max_expires", f"max_expires must be 1..{MAX_PRESIGN_EXPIRES} seconds")
        unknown = sorted(set(self.operations) - set(_OPERATIONS))
        if unknown:
            raise ParameterError("operations", f"unknown operations {unknown}; choose from {sorted(_OPERATIONS)}")
        self.page_limits.check()

    @property
    def page_limits(self) -> PageLimits:
        return PageLimits(
            languages=self.languages, sample_rates=self.sample_rates, encodings=self.encodings, params=self.params
        )


def _reply(status: int, document: object, origin_headers: Mapping[str, str]) -> PresignReply:
    headers = {"content-type": "application/json", **_NO_STORE, **origin_headers}
    return PresignReply(status, headers, json.dumps(document).encode())


def _refusal(status: int, code: str, message: str, origin_headers: Mapping[str, str]) -> PresignReply:
    return _reply(status, {"error": {"code": code, "message": message}}, origin_headers)


def _cors(request: PresignRequest, policy: PresignPolicy) -> dict[str, str] | None:
    """CORS headers for an allowed cross-origin page, {} for a same-origin one, None to refuse."""
    origin = foreign_origin(request.headers)
    if origin is None:
        return {"vary": "Origin"}
    if origin not in policy.allowed_origins:
        return None
    return {
        "access-control-allow-origin": request.headers["origin"],
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, OPTIONS",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
        "vary": "Origin",
    }


def decide(
    request: PresignRequest, policy: PresignPolicy, *, authorized: bool, now: _dt.datetime, reason: str | None = None
) -> PresignReply:
    """The reply to one request, once the app's hook said whether it is ``authorized``
    (``reason``: what the hook said when it refused)."""
    cors = _cors(request, policy)
    if cors is None:
        return _refusal(403, "OriginNotAllowed", "pages of this origin may not ask for URLs", {"vary": "Origin"})
    if request.method == "OPTIONS":
        return PresignReply(204, {**_NO_STORE, **cors}, b"")
    if request.method not in ("GET", "POST"):
        return _refusal(405, "MethodNotAllowed", f"{request.method} is not allowed; use GET", cors)
    if not authorized:
        return _refusal(401, "Unauthorized", reason or "the app refused this request", cors)
    try:
        operation, params, expires = _read(request.query, policy)
        credentials = policy.credentials() if callable(policy.credentials) else policy.credentials
        endpoint = policy.endpoint or default_endpoint(policy.region, "websocket")
        url = presign_websocket(params, endpoint, credentials, policy.region, now, expires)
    except ParameterError as exc:
        return _refusal(400, "BadRequestException", str(exc), cors)
    expires_at = (now + _dt.timedelta(seconds=expires)).isoformat()
    return _reply(200, {"url": url, "expires": expires, "expiresAt": expires_at, "operation": operation}, cors)


def _read(query: str, policy: PresignPolicy) -> tuple[str, StreamParams, int]:
    operation = dict(query_pairs(query)).get("operation", "transcription")
    if operation not in policy.operations:
        raise ParameterError("operation", f"operation {operation!r} is not offered here ({sorted(policy.operations)})")
    params, controls = page_params(query, _OPERATIONS[operation], policy.page_limits, controls=("operation", "expires"))
    return operation, params, _expires(controls.get("expires"), policy)


def _expires(text: str | None, policy: PresignPolicy) -> int:
    if text is None:
        return policy.max_expires
    if not text.isdigit() or not 1 <= int(text) <= policy.max_expires:
        raise ParameterError("expires", f"expires must be 1..{policy.max_expires} seconds")
    return int(text)


async def _authorized(authorize: Authorize | None, request: PresignRequest) -> tuple[bool, str | None]:
    if authorize is None or request.method == "OPTIONS":
        return True, None
    return await hook_allows(lambda: authorize(request))


async def answer(
    request: PresignRequest, policy: PresignPolicy, authorize: Authorize | None, clock: Callable[[], _dt.datetime]
) -> PresignReply:
    """Run the app's hook, then :func:`decide`."""
    ok, why = await _authorized(authorize, request)
    return decide(request, policy, authorized=ok, now=clock(), reason=why)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def aiohttp_presign_handler(
    policy: PresignPolicy, authorize: Authorize | None = None, *, clock: Callable[[], _dt.datetime] = _now
) -> Callable[[Any], Awaitable[Any]]:
    """An aiohttp handler: ``app.router.add_route("*", "/presign", aiohttp_presign_handler(policy, hook))``."""
    from aiohttp import web  # noqa: PLC0415 - an optional extra

    async def handler(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen = PresignRequest(
            request.method,
            request.query_string,
            {k.lower(): v for k, v in request.headers.items()},
            str(peer[0]) if peer else None,
        )
        reply = await answer(seen, policy, authorize, clock)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    return handler


class AsgiPresignApp:
    """An ASGI app (mount it in Starlette or FastAPI: ``app.mount("/presign", AsgiPresignApp(policy))``)."""

    def __init__(
        self, policy: PresignPolicy, authorize: Authorize | None = None, *, clock: Callable[[], _dt.datetime] = _now
    ) -> None:
        self.policy = policy
        self.authorize = authorize
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        headers = _asgi_headers(scope.get("headers", ()))
        client = scope.get("client")
        seen = PresignRequest(
            scope["method"], scope.get("query_string", b"").decode("latin-1"), headers, client[0] if client else None
        )
        reply = await answer(seen, self.policy, self.authorize, self.clock)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": reply.body})


def _asgi_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
