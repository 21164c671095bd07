"""The local endpoint: a strict, offline stand-in for Transcribe streaming.

``async with LocalEndpoint() as ep:`` serves HTTP/2 (TLS with ALPN h2, or h2c with
``tls="none"``) on ``ep.http2_url`` and WebSocket on ``ep.websocket_url``. Every request
signature and every chunk signature is verified with :mod:`sigv4`; parameters are
validated with the client's own rules (:mod:`streaming.proto.params`); audio is decoded and
recognised with pocketsphinx.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import errno
import resource
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from sigv4 import Credentials

from ..proto.credentials import DEV_CREDENTIALS
from ..proto.errors import (
    ConflictException,
    ParameterError,
    ServiceError,
)
from ..proto.params import Operation, new_session_id
from .admission import Gate, OpenRequest, admit
from .connections import LISTEN_BACKLOG, ConnectionGuard, default_connection_limits
from .faults import FaultPlan
from .jobapi import JobApi
from .jobstore import MAX_POST_CALL_JOBS, JobStore
from .logs import log, log_refusal
from .ports import OpenResult
from .resources import Resources, load_resources
from .stream import ServerStream, StreamSummary
from .streamcore import Limits
from .tls import ServerCertificates, mint_self_signed, server_context

__all__ = [
    "LocalEndpoint",
]


class LocalEndpoint:
    """See the module docstring. Ports 0 pick free ports; ``tls`` is ``"self-signed"``,
    ``"none"`` or a ``(cert_file, key_file)`` pair."""

    operations: Final = tuple(Operation)

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int | None = 0,
        tls: str | tuple[Path, Path] = "self-signed",
        ca_out: Path | None = None,
        credentials: Iterable[Credentials] = (DEV_CREDENTIALS,),
        engine: str = "pocketsphinx",
        max_streams: int = 25,
        idle_timeout: float = 15.0,
        max_duration: float = 4 * 3600.0,
        region: str | None = None,
        clock: Callable[[], _dt.datetime] | None = None,
        resources: str | Path | Mapping[str, Any] | None = None,
        page: bool | None = None,
        allowed_origins: Iterable[str] = (),
        reuse_port: bool = False,
        max_connections: int | None = None,
        max_connections_per_client: int | None = None,
        max_post_call_jobs: int = MAX_POST_CALL_JOBS,
    ) -> None:
        if engine not in ("pocketsphinx", "none"):
            raise ParameterError("engine", f"engine must be 'pocketsphinx' or 'none', not {engine!r}")
        self.host = host
        self.reuse_port = reuse_port  # several processes share the ports (serve --workers)
        self.port = port
        self.ws_port = ws_port
        self.tls = tls
        self.ca_out = ca_out
        self.credentials = {c.access_key_id: c for c in credentials}
        self.engine = engine
        self.max_streams = max_streams
        self.limits = Limits(idle_timeout=idle_timeout, max_duration=max_duration)
        total, per_client = default_connection_limits(max_streams, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        total = max_connections or total
        # Both ports share the bound: open descriptors are the process's, not a port's.
        self.guard = ConnectionGuard(total, min(max_connections_per_client or per_client, total))
        self.region = region
        self.clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self.resources: Resources = load_resources(resources)
        self.faults = FaultPlan(self.resources.faults)
        self.jobs = JobStore(self.resources.raw, clock=self.clock, max_post_call_jobs=max_post_call_jobs)
        self.gate = Gate(self.credentials, region, max_streams, self.resources, self.faults)
        self.job_api = JobApi(
            self.jobs,
            self.faults,
            credentials=self.credentials,
            region=region,
            clock=self.clock,
            body_timeout=self.limits.idle_timeout,
        )
        # The page and its /presign sign for anyone who asks: on by default only on loopback.
        self.page_enabled = is_loopback(host) if page is None else page
        self.allowed_origins = frozenset(o.rstrip("/") for o in allowed_origins)
        self.certificates: ServerCertificates | None = None
        self.streams: dict[str, ServerStream] = {}
        self.connections: set[Any] = set()
        self.http_handlers_served: set[Any] = set()  # HTTP-port connections that sent a request
        # The most recent finished streams, for tests and diagnostics (bounded: a server
        # that runs for weeks must not keep every stream it ever served).
        self.completed: deque[StreamSummary] = deque(maxlen=1024)
        self._servers: list[asyncio.Server] = []
        self._runner: web.AppRunner | None = None
        self.http2_url = ""
        self.websocket_url = ""

    @property
    def ca_file(self) -> Path | None:
        return self.certificates.ca_file if self.certificates else None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> LocalEndpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on both ports (then write ``ca_out``); on any failure nothing stays open."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    def _listen_error(self, exc: OSError, port: int | None) -> OSError:
        return OSError(exc.errno, f"cannot listen on {self._url_host}:{port}: {exc.strerror}{listen_hint(exc)}")

    async def _start(self) -> None:
        from .h2server import serve_http2_connection  # noqa: PLC0415
        from .wsserver import build_websocket_app, guard_http_server  # noqa: PLC0415

        if self.port and self.ws_port and self.port == self.ws_port:
            raise ParameterError("ws_port", f"the HTTP/2 and WebSocket ports must differ (both are {self.port})")

        h2_context = ws_context = None
        if self.tls != "none":
            if self.tls == "self-signed":
                self.certificates = mint_self_signed()
                cert, key = self.certificates.cert_file, self.certificates.key_file
            else:
                assert isinstance(self.tls, tuple)
                cert, key = self.tls
            h2_context = server_context(cert, key, alpn=["h2"])
            ws_context = server_context(cert, key, alpn=["http/1.1"])
        try:
            server = await asyncio.start_server(
                lambda r, w: serve_http2_connection(self, r, w),
                self.host,
                self.port,
                ssl=h2_context,
                reuse_port=self.reuse_port or None,
                backlog=LISTEN_BACKLOG,
            )
        except OSError as exc:
            raise self._listen_error(exc, self.port) from exc
        self._servers.append(server)
        self.port = server.sockets[0].getsockname()[1]
        scheme = "https" if h2_context else "http"
        self.http2_url = f"{scheme}://{self._url_host}:{self.port}"
        if self.ws_port is not None:
            # keepalive_timeout: a connection idle between requests is closed (the time to
            # the first request is bounded by guard_http_server).
            self._runner = web.AppRunner(
                build_websocket_app(self), access_log=None, keepalive_timeout=self.limits.idle_timeout
            )
            await self._runner.setup()
            assert self._runner.server is not None  # made by setup()
            guard_http_server(self._runner.server, self)
            site = web.TCPSite(
                self._runner,
                self.host,
                self.ws_port,
                ssl_context=ws_context,
                reuse_port=self.reuse_port or None,
                backlog=LISTEN_BACKLOG,
            )
            try:
                await site.start()
            except OSError as exc:
                raise self._listen_error(exc, self.ws_port) from exc
            bound = site._server  # aiohttp keeps the listening server here
            assert isinstance(bound, asyncio.Server)
            self.ws_port = bound.sockets[0].getsockname()[1]
            ws_scheme = "wss" if ws_context else "ws"
            self.websocket_url = f"{ws_scheme}://{self._url_host}:{self.ws_port}"
        if self.ca_out is not None and self.certificates is not None:
            # Only once both ports are ours: a second server on a taken port must not
            # replace the CA that clients of the running one trust.
            Path(self.ca_out).write_bytes(self.certificates.ca_file.read_bytes())

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def listening_line(self) -> str:
        line = f"listening http2={self.http2_url}"
        return line + (f" websocket={self.websocket_url}" if self.websocket_url else "")

    async def close(self) -> None:
        for stream in self.streams.values():
            stream.lifecycle.shut_down()
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection.shutdown()
        for _ in range(100):  # handlers end as their sockets close
            if not self.connections:
                break
            await asyncio.sleep(0.01)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_page_routes(self, app: web.Application) -> None:
        """The browser page and its helpers, and the job APIs, on the HTTP (WebSocket) port."""
        from .page import install  # noqa: PLC0415

        install(app, self)
        self.job_api.install(app)

    def origin_allowed(self, origin: str | None) -> bool:
        """A browser's WebSocket may come from this endpoint's own page or a listed origin;
        clients that send no Origin (every SDK) are not browsers and are not asked."""
        if origin is None:
            return True
        origin = origin.rstrip("/")
        if origin in self.allowed_origins:
            return True
        own = {self.http_url, self.http_url.replace("127.0.0.1", "localhost")}
        return self.page_enabled and origin in own

    @property
    def http_url(self) -> str:
        """The HTTP port's base URL (page, job APIs): the WebSocket URL with an HTTP scheme."""
        return self.websocket_url.replace("ws", "http", 1)

    # -- opening streams ---------------------------------------------------------------------

    def open_http2_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult:
        return self._open(OpenRequest(method, target, headers, websocket=False))

    def open_websocket_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult:
        return self._open(OpenRequest(method, target, headers, websocket=True))

    def _open(self, request: OpenRequest) -> OpenResult:
        """Open a stream, or refuse the request (:func:`.admission.admit` decides); either
        way one log line says so."""
        request_id = str(uuid.uuid4())
        decision = admit(
            request,
            self.gate,
            now=self.clock(),
            fresh_session_id=new_session_id(),
            open_streams=sum(1 for s in self.streams.values() if s.allow_unsigned == request.websocket),
            session_owners={sid: s.access_key_id for sid, s in self.streams.items()},
        )
        if isinstance(decision, ServiceError):
            decision.request_id = request_id
            log_refusal(decision, f"{request.method} {request.path}", request.headers, request.target)
            return decision
        previous = self.streams.pop(decision.session_id, None) if decision.takes_over else None
        if previous is not None:
            previous.abort(
                ConflictException("A new stream with the same session ID has started; this stream is ended.")
            )
        stream = ServerStream(
            decision.params,
            request_id=request_id,
            session_id=decision.session_id,
            verifier=decision.verified.chunk_verifier(),
            allow_unsigned=request.websocket,
            engine=self.engine,
            limits=self.limits,
            clock=self.clock,
            resources=self.resources,
            faults=self.faults.for_stream(decision.operation, decision.session_id),
        )
        stream.access_key_id = decision.verified.access_key_id
        self.streams[decision.session_id] = stream
        return stream, decision.response_headers(request_id)

    def close_stream(self, stream: ServerStream) -> None:
        """Release a stream's slot and record how it ended (once, whoever calls first)."""
        if stream.released:
            return
        stream.released = True
        if self.streams.get(stream.session_id) is stream:
            del self.streams[stream.session_id]
        stream.lifecycle.released()
        summary = stream.summarize()
        self.completed.append(summary)
        log.info("%s", summary.line)
        if stream.outcome == "completed" and self.websocket_url:
            name = stream.session_id
            url = f"{self.http_url}/jobs/call-analytics/{name}/transcript.json"
            if self.jobs.post_call(stream, url):
                log.info("call analytics job %s created for the post-call analytics", name)


def listen_hint(exc: OSError) -> str:
    """Why a listening socket could not be had, in the user's terms (appended to its error)."""
    if exc.errno == errno.EADDRINUSE:
        return " (is another server running there? pick another port, or 0 for any)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return " (no interface of this machine has that address: use 127.0.0.1, or 0.0.0.0 for all)"
    if exc.errno == errno.EACCES:
        return " (ports below 1024 need root: pick a higher one)"
    return ""


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")
