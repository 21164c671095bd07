"""Fuzz target for the endpoint's stream core: the bytes a client sends after its request was admitted.

``ServerStreamCore.receive`` gets fuzzed bytes in fuzzed splits, for a signed HTTP/2 stream
(a real chunk verifier, so forged frames meet the signature chain) and for an unsigned
WebSocket one (bare AudioEvents, as browsers send), for standard and Call Analytics
streams (ConfigurationEvents). Properties on every input:

* only ``BadRequestException`` escapes (the service's refusal), never another exception;
* the audio handed out is never more than the bytes that came in, and an ``AudioEnd``
  comes at most once and last;
* the backlog equals the audio handed out (nothing is taken here).
"""

from __future__ import annotations

import datetime as dt
import pathlib
import sys

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import eventstream
    import sigv4
    from sigv4 import Credentials
    from streaming.local.streamcore import AudioEnd, AudioIn, Limits, ServerStreamCore
    from streaming.proto.errors import BadRequestException
    from streaming.proto.params import Operation, StreamParams

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SECRET = Credentials("AKIDFUZZEXAMPLE", "a secret the fuzzer never sees")
AUDIO = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
CONFIG = {":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json"}
LIMITS = Limits(max_frame_bytes=8192, max_backlog_bytes=1 << 16)


def _params(call_analytics: bool) -> StreamParams:
    operation = Operation.CALL_ANALYTICS if call_analytics else Operation.TRANSCRIPTION
    return StreamParams.build(operation, language_code="en-US", media_sample_rate_hz=16000, media_encoding="pcm")


def _wire(fdp: atheris.FuzzedDataProvider) -> bytes:
    """Mostly well-framed messages with fuzzed payloads, sometimes raw bytes."""
    if fdp.ConsumeBool():
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4000))
    out = b""
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        headers = fdp.PickValueInList([AUDIO, CONFIG, {":message-type": "exception"}])
        payload = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 3000))
        inner = eventstream.encode(headers, payload)
        if fdp.ConsumeBool():  # wrapped as a signed frame would be, with a forged signature
            inner = eventstream.encode({":date": NOW, ":chunk-signature": fdp.ConsumeBytes(32)}, inner)
        out += inner
    return out


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    signed = fdp.ConsumeBool()
    verifier = sigv4.ChunkVerifier(SECRET, "us-east-1", "transcribe", "ab" * 32) if signed else None
    core = ServerStreamCore(
        _params(fdp.ConsumeBool()), verifier=verifier, allow_unsigned=not signed, limits=LIMITS, started=0.0
    )
    wire = _wire(fdp)
    received: list[object] = []
    try:
        at = 0
        while at < len(wire):
            step = fdp.ConsumeIntInRange(1, 512)
            received += core.receive(wire[at : at + step], NOW)
            at += step
        if fdp.ConsumeBool():
            received += core.end_of_input()
    except BadRequestException as refused:
        if not refused.message:
            raise AssertionError("a refusal without a message") from refused
    audio = sum(len(item.data) for item in received if isinstance(item, AudioIn))
    ends = [k for k, item in enumerate(received) if isinstance(item, AudioEnd)]
    if audio > len(wire) or len(ends) > 1 or (ends and ends[0] != len(received) - 1):
        raise AssertionError(f"{audio} audio bytes from {len(wire)} in, ends at {ends} of {len(received)}")
    if core.backlog != audio:
        raise AssertionError(f"backlog {core.backlog} for {audio} bytes handed out")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
