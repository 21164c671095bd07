"""Client scale: CPU per real-time stream, and what an idle stream costs.

A local endpoint runs in a separate process with ``--engine none`` (it verifies and
decodes everything but recognises nothing), so this process's CPU time is the client's:
N streams send PCM in real time (100 ms signed frames) for a few seconds. Then the same
N streams sit open with no audio and no results: an event-driven client spends nothing.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time

from streaming import PcmSource, TranscribeStreamingClient

STREAMS = (10, 50)
SECONDS = 4.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run(url: str, streams: int) -> tuple[float, float]:
    client = TranscribeStreamingClient(endpoint=url)
    audio = bytes(int(16000 * SECONDS) * 2)

    async def one() -> None:
        async with client.start_stream_transcription(
            language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
        ) as s:
            await s.send_from(PcmSource(audio, sample_rate=16000))
            async for _ in s:
                pass

    start_cpu, _start = _cpu(), time.monotonic()
    await asyncio.gather(*(one() for _ in range(streams)))
    active = (_cpu() - start_cpu) / (streams * SECONDS)

    opened = [
        client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm")
        for _ in range(streams)
    ]
    for s in opened:
        await s.__aenter__()
    idle_start = _cpu()
    await asyncio.sleep(2.0)
    idle = (_cpu() - idle_start) / 2.0
    for s in opened:
        await s.aclose()
    return active, idle


def main() -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streaming.cli",
            "serve",
            "--no-tls",
            "--port",
            "0",
            "--ws-port",
            "0",
            "--engine",
            "none",
            "--max-streams",
            "500",
            "--idle-timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        url = line.split()[1].split("=", 1)[1]
        print("\n## client scale (python -m benchmarks scale)\n")
        print(
            "| concurrent real-time streams | client CPU per stream (% of a core) | streams per core "
            "| idle CPU (% of a core, all streams) |"
        )
        print("|---|---|---|---|")
        for n in STREAMS:
            active, idle = asyncio.run(_run(url, n))
            print(f"| {n} | {active * 100:.3f} | {1 / active:.0f} | {idle * 100:.2f} |")
    finally:
        server.terminate()
        server.wait(10)
