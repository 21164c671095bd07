"""Captions in a web app, both ways: the page talks to the service with a presigned URL, or through a relay.

Run it against a local endpoint of its own (one command, no AWS account):

    python examples/webapp/app.py --local
    # open http://127.0.0.1:8000/ and press a button (the page asks for the microphone)

or against Amazon Transcribe with your AWS credentials (the server's; the page never sees them):

    python examples/webapp/app.py --region us-east-1

The app's own authorisation is a stand-in: ``/`` hands the page a session cookie, and the
presign handler and the relay serve only requests that carry it. Put your own check in
``authorize``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hmac
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from sigv4 import Credentials
from streaming import TranscribeStreamingClient, credentials_for
from streaming.web import BROWSER_MODULE, PresignPolicy, RelayPolicy, aiohttp_presign_handler, aiohttp_relay_handler

PAGE = (Path(__file__).parent / "index.html").read_text(encoding="utf-8")
COOKIE = "captions-session"


def make_app(
    *,
    region: str,
    credentials: Credentials,
    websocket_endpoint: str | None = None,
    http2_endpoint: str | None = None,
    ca_file: str | None = None,
    presign_clock: Callable[[], dt.datetime] | None = None,
) -> web.Application:
    """The app: its page, the browser module, /presign and /relay (endpoints default to the region's)."""
    sessions: set[str] = set()

    def signed_in(headers: Mapping[str, str]) -> bool:
        """The request carries a session cookie this app handed out (the stand-in for your check)."""
        cookies = (part.strip().split("=", 1) for part in headers.get("cookie", "").split(";") if "=" in part)
        cookie = dict(cookies).get(COOKIE)
        return cookie is not None and any(hmac.compare_digest(cookie, s) for s in sessions)

    def authorize_presign(request: Any) -> bool:
        return signed_in(request.headers)

    def authorize_relay(headers: Mapping[str, str], query: str) -> bool:
        return signed_in(headers)

    presign = PresignPolicy(
        region=region,
        credentials=credentials,
        endpoint=websocket_endpoint,
        params=frozenset({"enable-partial-results-stabilization", "partial-results-stability"}),
        max_expires=30,
    )
    relay = RelayPolicy(
        client=lambda: TranscribeStreamingClient(
            region=region, credentials=credentials, endpoint=http2_endpoint, ca_file=ca_file
        ),
        params=frozenset({"enable-partial-results-stabilization", "partial-results-stability"}),
        max_connections=20,
    )

    async def index(request: web.Request) -> web.Response:
        response = web.Response(text=PAGE, content_type="text/html", headers={"cache-control": "no-store"})
        if request.query.get("signed-in", "yes") == "yes":  # ?signed-in=no: a visitor without a session
            session = secrets.token_urlsafe(24)
            sessions.add(session)
            response.set_cookie(COOKIE, session, httponly=True, samesite="Strict")
        return response

    async def module(_: web.Request) -> web.FileResponse:
        return web.FileResponse(BROWSER_MODULE, headers={"content-type": "text/javascript"})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/streamscribe.js", module)
    clock = {"clock": presign_clock} if presign_clock is not None else {}
    app.router.add_route("*", "/presign", aiohttp_presign_handler(presign, authorize_presign, **clock))
    app.router.add_get("/relay", aiohttp_relay_handler(relay, authorize_relay))
    return app


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", action="store_true", help="start a local endpoint (no AWS account needed)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if args.local:
        from streaming.local import DEV_CREDENTIALS, LocalEndpoint  # noqa: PLC0415

        # The local endpoint, like the service, takes WebSockets only from pages it knows:
        # the browser's presigned-URL connection comes from this app's page.
        origins = [f"http://{host}:{args.port}" for host in ("127.0.0.1", "localhost")]
        async with LocalEndpoint(tls="none", allowed_origins=origins) as endpoint:
            app = make_app(
                region=args.region,
                credentials=DEV_CREDENTIALS,
                websocket_endpoint=endpoint.websocket_url,
                http2_endpoint=endpoint.http2_url,
            )
            await _run(app, args.port)
    else:
        await _run(make_app(region=args.region, credentials=credentials_for(None)), args.port)


async def _run(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"captions app: http://127.0.0.1:{port}/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
