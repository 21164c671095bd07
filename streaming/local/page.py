"""The local endpoint's browser page: live captions from a web page, as an app would do it.

``GET /`` serves the page. It asks ``GET /presign`` for a presigned WebSocket URL (the
endpoint plays the app's backend, which holds the credentials), opens the WebSocket,
streams the microphone (or the bundled recording, ``GET /demo.pcm``) as bare AudioEvents
the way browsers do, and renders the captions: settled finals, and the partial line with
its unstable words dimmed. ``/?source=file&speed=4`` starts by itself (for tests).
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Final

from aiohttp import web

from ..data import BROWSER_MODULE, DEMO_AUDIO
from ..proto.connection import presign_websocket
from ..proto.errors import ParameterError
from .decoding import AudioPipeline
from .ports import PageHost

__all__ = ["FAVICON", "install"]

FAVICON: Final = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect x="2" y="5" width="28" height="19" rx="4" fill="#2563eb"/>'
    b'<path d="M9 24v6l7-6z" fill="#2563eb"/>'
    b'<rect x="7" y="11" width="12" height="2.5" rx="1.2" fill="#fff"/>'
    b'<rect x="7" y="16" width="18" height="2.5" rx="1.2" fill="#fff"/></svg>'
)
"""A caption bubble: the page's icon (SVG; browsers take it at /favicon.ico)."""


def install(app: web.Application, endpoint: PageHost) -> None:
    """Add the page's routes to the endpoint's WebSocket application."""
    cache: dict[str, bytes] = {}

    async def page(_: web.Request) -> web.Response:
        if not endpoint.page_enabled:
            raise web.HTTPNotFound(text="the page is off on this endpoint (serve --page to turn it on)")
        return web.Response(text=PAGE, content_type="text/html")

    async def presign(request: web.Request) -> web.Response:
        from ..proto.params import Operation, params_from_query  # noqa: PLC0415

        if not endpoint.page_enabled:
            # Signing for whoever asks is a page for this machine, not for a network.
            return web.json_response({"error": "the page and /presign are off on this endpoint"}, status=403)

        try:
            params = params_from_query(Operation.TRANSCRIPTION, list(request.query.items()))
        except ParameterError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        credentials = next(iter(endpoint.credentials.values()))
        url = presign_websocket(
            params, endpoint.websocket_url, credentials, endpoint.region or "us-east-1", endpoint.clock(), 60
        )
        return web.json_response({"url": url})

    async def demo_pcm(_: web.Request) -> web.Response:
        if "pcm" not in cache:
            cache["pcm"] = await asyncio.get_running_loop().run_in_executor(None, _decode_demo)
        return web.Response(body=cache["pcm"], content_type="application/octet-stream")

    async def module(_: web.Request) -> web.Response:
        """The browser module (streaming.web): the page uses it, and so may any app's page."""
        if "js" not in cache:
            cache["js"] = BROWSER_MODULE.read_bytes()
        return web.Response(body=cache["js"], content_type="text/javascript", headers={"cache-control": "no-cache"})

    async def favicon(_: web.Request) -> web.Response:
        return web.Response(body=FAVICON, content_type="image/svg+xml", headers={"cache-control": "max-age=86400"})

    app.router.add_get("/", page)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/presign", presign)
    app.router.add_get("/demo.pcm", demo_pcm)
    app.router.add_get("/streamscribe.js", module)


def _decode_demo() -> bytes:

    pipeline = AudioPipeline("flac", 16000)
    decoded = pipeline.feed(DEMO_AUDIO.read_bytes())
    return decoded.channels[0] + pipeline.flush().channels[0]


PAGE = (resources.files("streaming.local") / "page.html").read_text(encoding="utf-8")
