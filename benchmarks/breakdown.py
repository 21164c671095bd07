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
- **TLS write**: the framed bytes through a TLS socket (a socket pair on this machine, the
  other end read by a thread);
- the **result path**, per result message: decode and verify the event-stream bytes, parse
  the JSON into typed results, place them on the stream's timeline.

The **floor** is the least any client must do per frame: the same audio encoded, signed and
written through the same TLS socket in a tight loop. ``python -m benchmarks scale`` reports
client CPU per stream-second as a multiple of it, which means the same on any machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import h2.settings
from websockets.frames import Frame, Opcode

import sigv4
from streaming.local.tls import mint_self_signed
from streaming.proto.connection import ConnectionCodec
from streaming.proto.core import StreamCore, StreamSettings
from streaming.proto.messages import encode_audio_event, encode_result_event
from streaming.proto.models import Alternative, Item, Result, Transcript, TranscriptEvent
from streaming.proto.params import Operation, StreamParams

from ._harness import calibration, per_call

__all__ = ["Breakdown", "floor_per_frame", "main", "measure"]

CHUNK = bytes(3200)  # 100 ms of 16 kHz mono s16le
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


class _TlsPair:
    """A TLS connection over a socket pair; a thread reads and drops what the client writes."""

    def __init__(self) -> None:
        certificates = mint_self_signed()
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(certificates.cert_file, certificates.key_file)
        client = ssl.create_default_context(cafile=str(certificates.ca_file))
        a, b = socket.socketpair()
        accepted: list[ssl.SSLSocket] = []
        handshake = threading.Thread(target=lambda: accepted.append(server.wrap_socket(b, server_side=True)))
        handshake.start()
        self.client = client.wrap_socket(a, server_hostname="localhost")
        handshake.join()
        self._server = accepted[0]
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        try:
            while self._server.recv(1 << 16):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.client.close()
        self._server.close()


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


def measure() -> Breakdown:
    """Time every step and the floor (see the module docstring)."""
    core = _open_core()
    signer = sigv4.EventSigner(CREDENTIALS, "us-east-1", "transcribe", "ab" * 32)
    inner = encode_audio_event(CHUNK)
    signed = signer.sign(inner, NOW)
    tls = _TlsPair()
    try:
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
            "TLS write (framed bytes through the TLS socket)": per_call(lambda: tls.client.sendall(h2_frame)),
        }
        codec = ConnectionCodec(PARAMS, credentials=CREDENTIALS, region="us-east-1", endpoint="https://x")
        message = _result_message()
        result_path = per_call(lambda: core._timeline.place(codec.receive(message)[0]))

        def floor_frame() -> None:
            tls.client.sendall(signer.sign(encode_audio_event(CHUNK), NOW))

        floor = per_call(floor_frame)
    finally:
        tls.close()
    return Breakdown(steps, result_path, floor)


_FLOOR: list[float] = []


def floor_per_frame() -> float:
    """The floor's seconds per frame, measured once per process."""
    if not _FLOOR:
        _FLOOR.append(measure().floor)
    return _FLOOR[0]


def main() -> None:
    print("\n## one 100 ms frame, step by step (python -m benchmarks breakdown)\n")
    print(calibration())
    found = measure()
    _FLOOR[:] = [found.floor]
    print(f"\n| {'step':<52} | {'us per frame':>13} | {'x floor':>8} |")
    print("|" + "-" * 54 + "|" + "-" * 15 + "|" + "-" * 10 + "|")
    for name, seconds in found.steps.items():
        print(f"| {name:<52} | {seconds * 1e6:13.2f} | {seconds / found.floor:8.2f} |")
    print(f"| {'result path, per message (decode, parse, place)':<52} | {found.result_path * 1e6:13.2f} | {'':>8} |")
    print(f"| {'FLOOR: encode + sign + TLS write, tight loop':<52} | {found.floor * 1e6:13.2f} | {1:8.2f} |")
    print(f"\nfloor per stream-second (10 frames): {found.floor * 10 * 1000:.3f} ms of CPU")


if __name__ == "__main__":
    main()
