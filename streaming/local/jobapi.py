"""The job status APIs over HTTP: AWS JSON-protocol calls (``X-Amz-Target``), signature verified.

Served on the endpoint's HTTP port (``POST /``) beside the page; the answers come from the
:class:`~streaming.local.jobstore.JobStore`, and post-call transcripts are served at
``/jobs/call-analytics/<name>/transcript.json``. A body is read whole (a signature covers
all of it), at most :data:`MAX_JOB_BODY` bytes, within the idle timeout.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Final

from aiohttp import web

import sigv4
from sigv4 import Credentials

from ..proto.errors import InvalidSignatureException, SerializationException, ServiceError
from .admission import auth_error
from .faults import FaultPlan
from .jobstore import JobStore
from .logs import log, log_refusal

__all__ = ["MAX_JOB_BODY", "JobApi"]

MAX_JOB_BODY: Final = 1 << 20  # bytes of a job API request body


class JobApi:
    """The job API's two routes, for one endpoint's job store."""

    def __init__(
        self,
        jobs: JobStore,
        faults: FaultPlan,
        *,
        credentials: Mapping[str, Credentials],
        region: str | None,
        clock: Callable[[], _dt.datetime],
        body_timeout: float,
    ) -> None:
        self.jobs = jobs
        self.faults = faults
        self.credentials = credentials
        self.region = region
        self.clock = clock
        self.body_timeout = body_timeout

    def install(self, app: web.Application) -> None:
        app.router.add_post("/", self.call)
        app.router.add_get("/jobs/call-analytics/{name}/transcript.json", self.transcript)
        app.router.add_get("/jobs/call-analytics/{name}/redacted-transcript.json", self.redacted_transcript)

    async def call(self, request: web.Request) -> web.Response:
        """One AWS JSON-protocol call (X-Amz-Target), signature verified (see :mod:`.jobstore`)."""
        request_id = str(uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        headers = list(request.headers.items())
        try:
            response = self._answer(target, headers, request.method, request.path_qs, await self._body(request))
        except ServiceError as exc:
            exc.request_id = request_id
            log_refusal(exc, target or "(no X-Amz-Target)", headers, request.path_qs)
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

    def _answer(self, target: str, headers: list[tuple[str, str]], method: str, path: str, body: bytes) -> object:
        service = "voiceid" if target.startswith("VoiceID.") else "transcribe"
        try:
            sigv4.verify_request(
                method,
                path,
                headers,
                credentials=self.credentials,
                now=self.clock(),
                region=self.region,
                service=service,
                body=body,
            )
        except sigv4.VerificationError as exc:
            raise auth_error(exc) from exc
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
        return self.jobs.handle(target, document)

    async def _body(self, request: web.Request) -> bytes:
        """The whole body (a signature covers all of it, however many TCP segments it took),
        at most MAX_JOB_BODY bytes, within the idle timeout."""
        if request.content_length is not None and request.content_length > MAX_JOB_BODY:
            raise SerializationException(f"The request body is over {MAX_JOB_BODY} bytes.")
        body = bytearray()
        try:
            async with asyncio.timeout(self.body_timeout):
                while chunk := await request.content.read(64 * 1024):
                    body += chunk
                    if len(body) > MAX_JOB_BODY:
                        raise SerializationException(f"The request body is over {MAX_JOB_BODY} bytes.")
        except TimeoutError as exc:
            raise SerializationException(f"The request body did not arrive within {self.body_timeout:g} s.") from exc
        return bytes(body)

    async def redacted_transcript(self, request: web.Request) -> web.Response:
        return await self.transcript(request, redacted=True)

    async def transcript(self, request: web.Request, *, redacted: bool = False) -> web.Response:
        transcript = self.jobs.transcript(request.match_info["name"], redacted=redacted)
        if transcript is None:
            raise web.HTTPNotFound(text="no such transcript (yet)")
        return web.Response(body=transcript, content_type="application/json")
