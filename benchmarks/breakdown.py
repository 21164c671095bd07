"""Where one 100 ms audio frame's client CPU goes, step by step, beside the floor.

Each step is timed alone, in the same run (best-of-N per-call times, as the other tables):

- **pacing wake-up**: one timer and one wake-up of the event loop (the sender sleeps until
  each frame is due);
- **core bookkeeping**: ``StreamCore.send_audio`` minus the encoding and signing it does
  (replay buffer, state table, counters);
- **event-stream encode** of the AudioEvent, and its **chunk signature** (the outer signed
  message);
- **h2 framing and flow control** (``H2Connection.send_data`` and ``data_to_send``), or
  **WebSocket framing** (a masked binary frame);
- **TLS write**: the framed bytes through a TLS socket over TCP on loopback, to a sink in
  its own process on another core (``benchmarks._sink``), as the streams' bytes go;
- the **result path**, per result message: decode and verify the event-stream bytes, parse
  the JSON into typed results, place them on the stream's timeline.

The **floor** is the least any client must do per frame: the same audio encoded, signed and
written through the same TLS socket in a tight loop. ``python -m benchmarks scale`` reports
client CPU per stream-second as a multiple of it, which means the same on any machine.

A real-time client cannot send in a tight loop: its frames are due 100 ms apart, and every
one is sent from a sleep, with the caches cold. The **paced floor** measures that least:
300 TLS sockets to the sink, each sent one encoded, signed frame when it is due (staggered
as the scale clients' are), ``time.sleep`` in between, and the process's CPU (user and
system) divided by the frames; no event loop, no HTTP/2, no stream core. The scale table
gives client CPU as a multiple of both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings
from websockets.frames import Frame, Opcode

import sigv4
from streaming.proto.connection import ConnectionCodec
from streaming.proto.core import StreamCore, StreamSettings
from streaming.proto.messages import encode_audio_event, encode_result_event
from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent
from streaming.proto.params import Operation, StreamParams

from ._harness import FRAME_SECONDS, calibration, cpu_seconds, per_call

__all__ = ["Breakdown", "floors", "main", "measure"]

CHUNK = bytes(3200)  # 100 ms of 16 kHz mono s16le
PACED_STREAMS = 300  # the scale table's headline count
PACED_SECONDS = 3.0
NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
CREDENTIALS = sigv4.Credentials("AKIDBREAKDOWN", "breakdown-secret")
PARAMS = StreamParams.build(
    Operation.TRANSCRIPTION, language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm"
)


@dataclass(frozen=True)
class Breakdown:
    """Seconds per frame (or per result message) of each step, and the floor."""

    steps: dict[str, float]
    result_path: float
    floor: float
    paced_floor: float  # CPU per frame, ``paced_streams`` sockets sending in real time
    paced_streams: int


class _Sink:
    """The TLS sink process (``benchmarks._sink``), pinned to the cores this process is not on."""

    def __init__(self, others: set[int]) -> None:
        self._dir = tempfile.TemporaryDirectory()
        ca = Path(self._dir.name) / "ca.pem"
        argv = [sys.executable, "-m", "benchmarks._sink", str(ca)]
        self._process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.port = int(self._process.stdout.readline())
        if others and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(self._process.pid, others)  # its connection threads inherit it
        self._context = ssl.create_default_context(cafile=str(ca))

    def connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio sets it for the streams
        return self._context.wrap_socket(raw, server_hostname="localhost")

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(10)
        self._dir.cleanup()


def _open_core() -> StreamCore:
    settings = StreamSettings(credentials=CREDENTIALS, region="us-east-1", endpoint="https://127.0.0.1:8443")
    core = StreamCore(PARAMS, settings, rng=random.Random(1))
    core.start(NOW)
    core.request(NOW)
    core.connected({"x-amzn-request-id": "r"}, NOW)
    return core


def _h2_sender() -> Callable[[bytes], object]:
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    server.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
    server.increment_flow_control_window(2**31 - 1 - 65535)
    for _ in range(3):
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
    stream = client.get_next_available_stream_id()
    client.send_headers(stream, [(":method", "POST"), (":path", "/"), (":scheme", "https"), (":authority", "x")])
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    window = [client.local_flow_control_window(stream)]

    def send(frame: bytes) -> object:
        if window[0] < len(frame):  # refill as a server would, outside the measured path's common case
            server.receive_data(client.data_to_send())
            server.increment_flow_control_window(2**30)
            server.increment_flow_control_window(2**30, stream)
            client.receive_data(server.data_to_send())
            window[0] = client.local_flow_control_window(stream)
        window[0] -= len(frame)
        client.send_data(stream, frame)
        return client.data_to_send()

    return send


def _result_message() -> bytes:
    words = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    items = tuple(
        Item(start_time=i * 0.4, end_time=i * 0.4 + 0.3, content=w, confidence=0.9) for i, w in enumerate(words)
    )
    result = Result("r1", 0.0, 3.6, True, (Alternative(" ".join(words), items),))
    return encode_result_event(TranscriptEvent(Transcript((result,))))


async def _wake_ups(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(1e-9)  # a timer and a wake-up, as the pacer's sleep until a frame is due


def _signer() -> sigv4.EventSigner:
    return sigv4.EventSigner(CREDENTIALS, "us-east-1", "transcribe", "ab" * 32)


def _paced_floor(sink: _Sink, streams: int, seconds: float) -> float:
    """CPU seconds per frame of the least a real-time client does: ``streams`` TLS sockets,
    each sent one encoded, signed 100 ms frame when it is due (staggered across the period,
    as the scale clients are), sleeping in between; no event loop, no HTTP/2, no core."""
    sockets = [sink.connect() for _ in range(streams)]
    signers = [_signer() for _ in sockets]
    frames = max(int(seconds / FRAME_SECONDS), 1)
    start = time.monotonic() + 0.05
    begin = cpu_seconds()
    for k in range(frames):
        for j, (tls, signer) in enumerate(zip(sockets, signers, strict=True)):
            delay = start + (k + j / streams) * FRAME_SECONDS - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            tls.sendall(signer.sign(encode_audio_event(bytes(bytearray(len(CHUNK)))), NOW))  # a new buffer per frame
    spent = cpu_seconds() - begin
    for tls in sockets:
        tls.close()
    return spent / (frames * streams)


def _cores() -> tuple[set[int], set[int]]:
    """This process's first core, and the others (the sink's), as the scale run pins them."""
    if not hasattr(os, "sched_getaffinity"):
        return set(), set()
    cores = sorted(os.sched_getaffinity(0))
    return {cores[0]}, set(cores[1:])


def measure(*, streams: int = PACED_STREAMS, seconds: float = PACED_SECONDS) -> Breakdown:
    """Time every step and both floors (see the module docstring)."""
    own, others = _cores()
    before = os.sched_getaffinity(0) if own else set()
    if own:
        os.sched_setaffinity(0, own)
    sink = _Sink(others)
    try:
        return _measure(sink, streams, seconds)
    finally:
        sink.close()
        if own:
            os.sched_setaffinity(0, before)


def _measure(sink: _Sink, streams: int, seconds: float) -> Breakdown:
    core = _open_core()
    signer = _signer()
    inner = encode_audio_event(CHUNK)
    signed = signer.sign(inner, NOW)
    tls = sink.connect()
    send_h2 = _h2_sender()
    h2_frame = send_h2(signed)
    assert isinstance(h2_frame, bytes)
    loop = asyncio.new_event_loop()
    try:
        wake = per_call(lambda: loop.run_until_complete(_wake_ups(100)), repeat=5) / 100
    finally:
        loop.close()
    encode = per_call(lambda: encode_audio_event(CHUNK))
    sign = per_call(lambda: signer.sign(inner, NOW))
    core_total = per_call(lambda: core.send_audio(CHUNK, 0.1, NOW))
    steps = {
        "pacing wake-up (a timer, a loop wake-up)": wake,
        "core bookkeeping (replay, state, counters)": max(core_total - encode - sign, 0.0),
        "event-stream encode (AudioEvent)": encode,
        "chunk signature (outer signed message)": sign,
        "h2 framing and flow control": per_call(lambda: send_h2(signed)),
        "WebSocket framing (masked binary frame)": per_call(
            lambda: Frame(Opcode.BINARY, signed).serialize(mask=True, extensions=[])
        ),
        "TLS write (framed bytes through the TLS socket)": per_call(lambda: tls.sendall(h2_frame)),
    }
    codec = ConnectionCodec(PARAMS, credentials=CREDENTIALS, region="us-east-1", endpoint="https://x")
    message = _result_message()
    result_path = per_call(lambda: core._timeline.place(codec.receive(message)[0]))

    def floor_frame() -> None:
        tls.sendall(signer.sign(encode_audio_event(CHUNK), NOW))

    floor = per_call(floor_frame)
    tls.close()
    paced = _paced_floor(sink, streams, seconds)
    return Breakdown(steps, result_path, floor, paced, streams)


_FLOORS: list[Breakdown] = []


def floors() -> Breakdown:
    """The steps and floors, measured once per process."""
    if not _FLOORS:
        _FLOORS.append(measure())
    return _FLOORS[0]


def main() -> None:
    print("\n## one 100 ms frame, step by step (python -m benchmarks breakdown)\n")
    print(calibration())
    found = floors()
    print(f"\n| {'step':<52} | {'us per frame':>13} | {'x floor':>8} |")
    print("|" + "-" * 54 + "|" + "-" * 15 + "|" + "-" * 10 + "|")
    for name, seconds in found.steps.items():
        print(f"| {name:<52} | {seconds * 1e6:13.2f} | {seconds / found.floor:8.2f} |")
    print(f"| {'result path, per message (decode, parse, place)':<52} | {found.result_path * 1e6:13.2f} | {'':>8} |")
    print(f"| {'FLOOR: encode + sign + TLS write, tight loop':<52} | {found.floor * 1e6:13.2f} | {1:8.2f} |")
    paced = f"PACED FLOOR: the same, {found.paced_streams} sockets in real time"
    print(f"| {paced:<52} | {found.paced_floor * 1e6:13.2f} | {found.paced_floor / found.floor:8.2f} |")
    print(
        f"\nper stream-second (10 frames): floor {found.floor * 10 * 1000:.3f} ms, "
        f"paced floor {found.paced_floor * 10 * 1000:.3f} ms of CPU"
    )


if __name__ == "__main__":
    main()
