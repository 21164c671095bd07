"""The local endpoint: a strict, offline stand-in for Transcribe streaming.

``async with LocalEndpoint() as ep:`` serves HTTP/2 (TLS with ALPN h2, or h2c with
``tls="none"``) on ``ep.http2_url`` and WebSocket on ``ep.websocket_url``. Every request
signature and every chunk signature is verified with :mod:`sigv4`; parameters are
validated with the client's own rules (:mod:`streaming.params`); audio is decoded and
recognised with pocketsphinx.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import re
import resource
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from aiohttp import web

import sigv4
from sigv4 import Credentials

from ..aio.credentials import DEV_CREDENTIALS
from ..proto.errors import (
    AccessDeniedException,
    BadRequestException,
    ConflictException,
    InvalidSignatureException,
    LimitExceededException,
    ParameterError,
    SerializationException,
    ServiceError,
    UnknownServiceError,
    UnrecognizedClientException,
)
from ..proto.params import Operation, StreamParams, new_session_id, params_from_headers, params_from_query
from .connections import LISTEN_BACKLOG, ConnectionGuard, default_connection_limits
from .faults import FaultPlan
from .jobstore import MAX_POST_CALL_JOBS, JobStore
from .resources import Resources, load_resources, requested_names
from .stream import Limits, ServerStream, StreamSummary
from .tls import ServerCertificates, mint_self_signed, server_context

__all__ = ["DEV_CREDENTIALS", "LocalEndpoint"]

log = logging.getLogger("streamscribe.local")
MAX_JOB_BODY: Final = 1 << 20  # bytes of a job API request body


def _not_found(what: str) -> str:
    return f"The requested {what} couldn't be found. Check the {what} name and try your request again."


OpenResult = ServiceError | tuple[ServerStream, dict[str, str]]


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
        return OSError(
            exc.errno, f"cannot listen on {self._url_host}:{port}: {exc.strerror} (is another server running there?)"
        )

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
            if stream.outcome == "open":
                stream.outcome = "ended by server shutdown"
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
        app.router.add_post("/", self._job_api)
        app.router.add_get("/jobs/call-analytics/{name}/transcript.json", self._job_transcript)

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

    async def _job_api(self, request: web.Request) -> web.Response:
        """One AWS JSON-protocol call (X-Amz-Target), signature verified (see :mod:`.jobs`)."""
        request_id = str(uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        service = "voiceid" if target.startswith("VoiceID.") else "transcribe"
        headers = list(request.headers.items())
        try:
            body = await self._job_body(request)
            try:
                sigv4.verify_request(
                    request.method,
                    request.path_qs,
                    headers,
                    credentials=self.credentials,
                    now=self.clock(),
                    region=self.region,
                    service=service,
                    body=body,
                )
            except sigv4.VerificationError as exc:
                raise _auth_error(exc) from exc
            except sigv4.SigningError as exc:
                raise InvalidSignatureException(str(exc)) from exc
            scripted = self.faults.job_call()
            if scripted is not None:
                raise scripted
            try:
                document = json.loads(body) if body else {}
            except ValueError as exc:
                raise SerializationException(f"The request body is not JSON: {exc}") from exc
            except RecursionError as exc:
                raise SerializationException("The request body is not JSON: it nests too deeply.") from exc
            response = self.jobs.handle(target, document)
        except ServiceError as exc:
            exc.request_id = request_id
            _log_refusal(exc, target or "(no X-Amz-Target)", headers, request.path_qs)
            return web.Response(
                status=exc.status,
                body=json.dumps({"__type": exc.code, "message": exc.message}).encode(),
                headers={
                    "content-type": request.headers.get("content-type", "application/x-amz-json-1.1"),
                    "x-amzn-errortype": exc.code,
                    "x-amzn-requestid": request_id,
                },
            )
        log.info("job request=%s %s", request_id, target)
        return web.Response(
            body=json.dumps(response).encode(),
            headers={"content-type": request.headers.get("content-type", ""), "x-amzn-requestid": request_id},
        )

    async def _job_body(self, request: web.Request) -> bytes:
        """The whole body (a signature covers all of it, however many TCP segments it took),
        at most MAX_JOB_BODY bytes, within the idle timeout."""
        if request.content_length is not None and request.content_length > MAX_JOB_BODY:
            raise SerializationException(f"The request body is over {MAX_JOB_BODY} bytes.")
        body = bytearray()
        try:
            async with asyncio.timeout(self.limits.idle_timeout):
                while chunk := await request.content.read(64 * 1024):
                    body += chunk
                    if len(body) > MAX_JOB_BODY:
                        raise SerializationException(f"The request body is over {MAX_JOB_BODY} bytes.")
        except TimeoutError as exc:
            raise SerializationException(
                f"The request body did not arrive within {self.limits.idle_timeout:g} s."
            ) from exc
        return bytes(body)

    async def _job_transcript(self, request: web.Request) -> web.Response:
        transcript = self.jobs.transcript(request.match_info["name"])
        if transcript is None:
            raise web.HTTPNotFound(text="no such transcript (yet)")
        return web.Response(body=transcript, content_type="application/json")

    # -- opening streams ---------------------------------------------------------------------

    def open_http2_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult:
        return self._open(
            method,
            "POST",
            target,
            headers,
            lambda now: sigv4.verify_request(
                method,
                target,
                headers,
                credentials=self.credentials,
                now=now,
                region=self.region,
                service="transcribe",
            ),
            lambda op: params_from_headers(op, headers),
            websocket=False,
        )

    def open_websocket_stream(self, method: str, target: str, headers: list[tuple[str, str]]) -> OpenResult:
        query = target.partition("?")[2]
        return self._open(
            method,
            "GET",
            target,
            headers,
            lambda now: sigv4.verify_presigned_request(
                method,
                target,
                headers,
                credentials=self.credentials,
                now=now,
                region=self.region,
                service="transcribe",
            ),
            lambda op: params_from_query(op, sigv4.canonical.parse_query(query)),
            websocket=True,
        )

    def _open(
        self,
        method: str,
        want_method: str,
        target: str,
        headers: list[tuple[str, str]],
        verify: Callable[[_dt.datetime], sigv4.VerifiedRequest],
        parse: Callable[[Operation], StreamParams],
        *,
        websocket: bool,
    ) -> OpenResult:
        """Open a stream, or refuse the request; either way one log line says so."""
        # A request target is origin-form ("/path?query"): split it, never parse it as a URL
        # (urlsplit raises on "//[x", which a stranger can send; the fuzzer found it).
        path = target.partition("?")[0]
        outcome = self._open_or_refuse(method, want_method, path, headers, verify, parse, websocket=websocket)
        if isinstance(outcome, ServiceError):
            _log_refusal(outcome, f"{method} {path}", headers, target)
        return outcome

    def _open_or_refuse(
        self,
        method: str,
        want_method: str,
        path: str,
        headers: list[tuple[str, str]],
        verify: Callable[[_dt.datetime], sigv4.VerifiedRequest],
        parse: Callable[[Operation], StreamParams],
        *,
        websocket: bool,
    ) -> OpenResult:
        request_id = str(uuid.uuid4())
        found = Operation.from_path(path)
        if found is None or found[1] != websocket:
            return _with_id(
                UnknownServiceError("UnknownOperationException", f"No operation at {path}", status=404),
                request_id,
            )
        operation = found[0]
        if method != want_method:
            return _with_id(
                UnknownServiceError("UnknownOperationException", f"{method} is not allowed on {path}", status=405),
                request_id,
            )
        now = self.clock()
        try:
            verified = verify(now)
        except sigv4.VerificationError as exc:
            return _with_id(_auth_error(exc), request_id)
        except sigv4.SigningError as exc:
            return _with_id(InvalidSignatureException(str(exc)), request_id)
        try:
            params = parse(operation)
        except (ParameterError, sigv4.SigningError) as exc:
            return _with_id(BadRequestException(str(exc)), request_id)
        missing = self._check_resources(params)
        if missing is not None:
            return _with_id(BadRequestException(missing), request_id)
        # The quota is per protocol: HTTP/2 streams and WebSocket streams are counted apart.
        if sum(1 for s in self.streams.values() if s.allow_unsigned == websocket) >= self.max_streams:
            protocol = "WebSocket" if websocket else "HTTP/2"
            return _with_id(
                LimitExceededException(
                    f"You have reached your limit of {self.max_streams} concurrent {protocol} streams. Try again later."
                ),
                request_id,
            )
        session_id = params.session_id or new_session_id()
        scripted = self.faults.refuse_open(operation, session_id)
        if scripted is not None:
            return _with_id(scripted, request_id)
        previous = self.streams.get(session_id)
        if previous is not None and previous.access_key_id != verified.access_key_id:
            # Only the identity that owns a session may take it over (the pair is public).
            return _with_id(ConflictException("The session ID is in use by a stream of another identity."), request_id)
        if previous is not None:
            previous.abort(
                ConflictException("A new stream with the same session ID has started; this stream is ended.")
            )
            self.streams.pop(session_id, None)
        stream = ServerStream(
            params,
            request_id=request_id,
            session_id=session_id,
            verifier=verified.chunk_verifier(),
            allow_unsigned=websocket,
            engine=self.engine,
            limits=self.limits,
            clock=self.clock,
            resources=self.resources,
            faults=self.faults.for_stream(operation, session_id),
        )
        stream.access_key_id = verified.access_key_id
        self.streams[session_id] = stream
        response = {
            "content-type": "application/vnd.amazon.eventstream",
            "x-amzn-request-id": request_id,
            **params.with_session_id(session_id).to_headers(),
        }
        return stream, response

    def _check_resources(self, params: StreamParams) -> str | None:
        """Why the named vocabularies, filters or language model cannot serve this request."""
        language = params.get("language_code")
        options = set(params.get("language_options", ()))  # type: ignore[arg-type]
        tables: tuple[tuple[str, str, Mapping[str, Any]], ...] = (
            ("vocabulary_name", "vocabulary", self.resources.vocabularies),
            ("vocabulary_filter_name", "vocabulary filter", self.resources.filters),
            ("language_model_name", "language model", self.resources.language_models),
        )
        for name, what, table in tables:
            languages: dict[str, str] = {}
            for item in requested_names(params, name):
                resource = table.get(item)
                if resource is None:
                    return _not_found(what)
                code = resource.language_code
                if language is not None and code != language:
                    # As the API reference says: "If the languages don't match, the [resource]
                    # isn't applied. There are no errors or warnings" (TextRules skips it).
                    continue
                if language is None and code not in options:
                    return f"The {what} {item} is for {code}, which is not one of the language options."
                if code in languages:
                    return f"Only one {what} per language may be named: {languages[code]} and {item} are both {code}."
                languages[code] = item
        return None

    def close_stream(self, stream: ServerStream) -> None:
        """Release a stream's slot and record how it ended (once, whoever calls first)."""
        if stream.released:
            return
        stream.released = True
        if self.streams.get(stream.session_id) is stream:
            del self.streams[stream.session_id]
        if stream.outcome == "open":
            stream.outcome = "client went away"
        summary = stream.summarize()
        self.completed.append(summary)
        log.info("%s", summary.line)
        if stream.outcome == "completed" and self.websocket_url:
            name = stream.session_id
            url = f"{self.http_url}/jobs/call-analytics/{name}/transcript.json"
            if self.jobs.post_call(stream, url):
                log.info("call analytics job %s created for the post-call analytics", name)


_CREDENTIAL_RE: Final = re.compile(r"Credential=([A-Z0-9]{1,128})(?:/|%2F)")


def _access_key(headers: list[tuple[str, str]], target: str) -> str:
    """The access key a request claims (from its Authorization header or presigned URL)."""
    for name, value in headers:
        if name.lower() == "authorization":
            match = _CREDENTIAL_RE.search(value)
            if match:
                return match[1]
    match = _CREDENTIAL_RE.search(target)
    return match[1] if match else "none"


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def _log_refusal(error: ServiceError, what: str, headers: list[tuple[str, str]], target: str) -> None:
    """One line for a refused request: which, who (the access key it claims), and why."""
    log.info(
        "refused request=%s %s key=%s status=%d %s: %s",
        error.request_id,
        what,
        _access_key(headers, target),
        error.status,
        error.code,
        error.message,
    )


def _with_id(error: ServiceError, request_id: str) -> ServiceError:
    error.request_id = request_id
    return error


def _auth_error(exc: sigv4.VerificationError) -> ServiceError:
    if isinstance(exc, sigv4.UnknownAccessKeyError):
        return UnrecognizedClientException("The security token included in the request is invalid.")
    if isinstance(exc, sigv4.MissingAuthError):
        return AccessDeniedException(f"Missing Authentication Token: {exc}")
    return InvalidSignatureException(str(exc))
