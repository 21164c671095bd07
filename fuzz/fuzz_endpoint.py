"""Fuzz target for the local endpoint's request and handshake parsing.

Three layers a stranger reaches before any signature is checked, each fed fuzzed input:

* HTTP/2 frames: bytes into a server-side ``TolerantH2Connection`` through
  ``decode_frames`` (what the endpoint runs); only our ``ProtocolError`` may escape;
* a stream request (``open_http2_stream``) and a WebSocket handshake
  (``open_websocket_stream``) with a fuzzed method, target (path and presigned query) and
  headers: the answer is always a typed ``ServiceError`` (nothing verifies without the
  secret), never an exception, and no slot is left taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import sys

import atheris

# The repository's own files, not the editable install's loader: atheris instruments
# modules loaded by the regular path finder (a custom loader hides most coverage).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    import h2.config

    from sigv4 import Credentials
    from streaming.aio.h2channel import _FrameSizeGuard, decode_frames
    from streaming.local import LocalEndpoint
    from streaming.local.h2server import TolerantH2Connection
    from streaming.proto.errors import ProtocolError, ServiceError

ENDPOINT = LocalEndpoint(credentials=[Credentials("AKIDSTREAMSCRIBELOCAL", "a secret the fuzzer never sees")])
PATHS = ["/stream-transcription", "/stream-transcription-websocket", "/medical-stream-transcription", "/", ""]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    # 1. HTTP/2 framing.
    conn = TolerantH2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    guard = _FrameSizeGuard(len(PREFACE), "fuzz")
    wire = PREFACE + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
    with contextlib.suppress(ProtocolError):
        decode_frames(conn, guard, wire, "fuzz")  # what the endpoint's connection runs
    # 2. Requests and handshakes.
    method = fdp.PickValueInList(["POST", "GET", "PUT", ""])
    target = fdp.PickValueInList(PATHS) + fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
    headers = [
        (fdp.ConsumeUnicodeNoSurrogates(24).lower(), fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 120)))
        for _ in range(fdp.ConsumeIntInRange(0, 10))
    ]
    opener = ENDPOINT.open_websocket_stream if fdp.ConsumeBool() else ENDPOINT.open_http2_stream
    outcome = opener(method, target, headers)
    if not isinstance(outcome, ServiceError):
        raise AssertionError("a request was accepted without the secret")
    if ENDPOINT.streams:
        raise AssertionError("a refused request holds a stream slot")


def main() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())  # ServerStream's queue wants one
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
