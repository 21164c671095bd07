"""One client process of ``python -m benchmarks scale`` (run by it, pinned to its own core).

    python -m benchmarks.scale_client IMPL TRANSPORT STREAMS SECONDS URL

IMPL is ``streamscribe`` or ``amazon-transcribe`` (the official SDK, HTTP/2 only); the
local endpoint's CA comes in ``SSL_CERT_FILE`` (awscrt reads it at start-up). Every stream
connects first; once all are open the process prints ``connected`` and the streams send
real-time PCM (100 ms frames) on their own schedules, staggered across one frame period
as independent calls are. Lateness is how long after its due time each frame's send
returned. At the end one JSON line: CPU seconds of the whole process (every thread) over
the real-time phase, resident memory before and at its peak, lateness percentiles and
failures. ``STREAMS=1 IDLE=1`` instead measures one open stream that sends nothing.
``SCALE_LOOP=uvloop`` runs the client on uvloop instead of asyncio's own loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._harness import FRAME_SECONDS, cpu_seconds

CHUNK = bytes(int(16000 * FRAME_SECONDS) * 2)


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Opened:
    """An open stream: send a chunk, end the audio, wait for the results to end."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        end: Callable[[], Awaitable[None]],
        drain: Callable[[], Awaitable[None]],
    ) -> None:
        self.send, self.end, self.drain = send, end, drain


async def open_ours(url: str, transport: str) -> Opened:
    from streaming import TranscribeStreamingClient

    client = TranscribeStreamingClient(endpoint=url, transport=transport, ca_file=os.environ.get("SSL_CERT_FILE"))
    stream = client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm")
    await stream.__aenter__()

    async def drain() -> None:
        async for _ in stream:
            pass
        await stream.__aexit__(None, None, None)

    return Opened(lambda chunk: stream.send_audio(chunk, FRAME_SECONDS), stream.end_audio, drain)


async def open_sdk(url: str, transport: str) -> Opened:
    from amazon_transcribe.auth import StaticCredentialResolver
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver

    from streaming.proto.credentials import DEV_CREDENTIALS

    client = TranscribeStreamingClient(
        region="us-east-1",
        endpoint_resolver=StaticEndpointResolver(url),
        credential_resolver=StaticCredentialResolver(
            access_key_id=DEV_CREDENTIALS.access_key_id, secret_access_key=DEV_CREDENTIALS.secret_access_key
        ),
    )
    stream = await client.start_stream_transcription(
        language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
    )

    async def send(chunk: bytes) -> None:
        await stream.input_stream.send_audio_event(audio_chunk=chunk)

    async def drain() -> None:
        async for _ in stream.output_stream:
            pass

    return Opened(send, stream.input_stream.end_stream, drain)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(impl: str, transport: str, streams: int, seconds: float, url: str) -> dict[str, Any]:
    opener = open_ours if impl == "streamscribe" else open_sdk
    if impl == "streamscribe":  # imported before the baseline: memory per stream is the streams' own
        import streaming  # noqa: F401
    else:
        import amazon_transcribe.client  # noqa: F401
    base_rss = rss_kib()
    peak = [base_rss]
    failures: list[str] = []

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_kib())
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    opened: list[Opened | None] = []
    for batch in range(0, streams, 50):  # connect in batches: a burst of 1000 handshakes is not the point
        results = await asyncio.gather(
            *(opener(url, transport) for _ in range(batch, min(batch + 50, streams))), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                failures.append(f"connect: {type(result).__name__}: {result}")
                opened.append(None)
            else:
                opened.append(result)
    print("connected", flush=True)
    if os.environ.get("IDLE"):
        start_cpu = cpu_seconds()
        await asyncio.sleep(seconds)
        idle = (cpu_seconds() - start_cpu) / seconds
        return {"idle_core_fraction": idle}
    lateness: list[float] = []
    frames = int(seconds / FRAME_SECONDS)
    start = time.monotonic() + 0.2
    start_cpu = cpu_seconds()

    async def one(i: int, stream: Opened) -> None:
        first = start + FRAME_SECONDS * i / streams
        try:
            for k in range(frames):
                due = first + k * FRAME_SECONDS
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await stream.send(bytes(bytearray(len(CHUNK))))  # a new buffer per frame, as a real source makes
                lateness.append(time.monotonic() - due)
            await stream.end()
            await stream.drain()
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(one(i, s) for i, s in enumerate(opened) if s is not None))
    cpu = cpu_seconds() - start_cpu
    sampler.cancel()
    return {
        "cpu_ms_per_stream_second": cpu * 1000 / (streams * seconds),
        "rss_mib_per_stream": (peak[0] - base_rss) / 1024 / streams,
        # audio ours keeps to replay after a reconnect (no finals come back to trim it here)
        "replay_mib_per_stream": (len(CHUNK) * frames / 2**20) if impl == "streamscribe" else 0.0,
        "lateness_ms": [round(percentile(lateness, q) * 1000, 2) for q in (0.5, 0.99)]
        + [round(max(lateness, default=float("nan")) * 1000, 2)],
        "failures": len(failures),
        "first_failure": failures[0] if failures else "",
    }


def main() -> None:
    impl, transport, streams, seconds, url = sys.argv[1:6]
    job = run(impl, transport, int(streams), float(seconds), url)
    if os.environ.get("SCALE_LOOP") == "uvloop":
        import uvloop

        result = uvloop.run(job)
    else:
        result = asyncio.run(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
