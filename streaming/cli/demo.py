"""``make demo`` / ``streamscribe demo``: live captions from a bundled recording.

Starts the local endpoint in-process (TLS with a freshly minted CA), streams the bundled
speech recording over HTTP/2 and then over WebSocket at real time, and shows the captions
as they arrive: partial text updating in place, final lines settling, a progress bar, and
a summary at the end. Off a TTY it prints plain final lines.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

from ..aio.audio import FlacSource
from ..aio.client import TranscribeStreamingClient
from ..data import DEMO_AUDIO
from .display import CaptionPrinter

__all__ = [
    "run_demo",
]


async def run_demo(
    *, speed: float = 1.0, transport: str = "both", out: TextIO | None = None, tty: bool | None = None
) -> int:
    from ..local import LocalEndpoint  # noqa: PLC0415 - needs the local extra

    out = out or sys.stdout
    status = out if tty is False else sys.stderr
    logging.getLogger("streamscribe.local").setLevel(logging.WARNING)  # the captions are the show
    transports = ["http2", "websocket"] if transport == "both" else [transport]
    async with LocalEndpoint(tls="self-signed", port=0, ws_port=0) as endpoint:
        for name in transports:
            url = endpoint.http2_url if name == "http2" else endpoint.websocket_url
            source = FlacSource(DEMO_AUDIO)
            label = "HTTP/2" if name == "http2" else "WebSocket"
            status.write(
                f"\n== {label}: {DEMO_AUDIO.name} ({source.duration:.0f} s) through the local endpoint at {url}\n"
            )
            status.flush()
            client = TranscribeStreamingClient(endpoint=url, transport=name, ca_file=str(endpoint.ca_file))  # type: ignore[arg-type]
            printer = CaptionPrinter(out, total_seconds=source.duration, tty=tty, status=status)
            async with client.start_stream_transcription(
                language_code="en-US",
                media_sample_rate_hz=source.sample_rate,
                media_encoding=source.media_encoding,
                # No partial-results stabilization: it freezes early words into the final (as the
                # service's does, trading accuracy for steadier partials); the demo shows the best words.
            ) as stream:
                sender = asyncio.create_task(stream.send_from(source, speed=speed))
                async for event in stream:
                    printer.event(event, stream.stats)
                await sender
            printer.finish(stream.stats)
    return 0
