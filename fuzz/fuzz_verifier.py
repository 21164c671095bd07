"""Fuzz target for the SigV4 verifier (``sigv4.verify_request``, ``verify_presigned_request``,
``ChunkVerifier``): what a server runs on every request and frame from strangers.

The input is split into a method, a request target, headers and a chunk. Properties:

* only ``sigv4.VerificationError`` / ``SigningError`` escape (never a ``KeyError``,
  ``ValueError`` or ``IndexError``);
* nothing verifies: without the secret no input may pass (the fuzzer never sees it).
"""

from __future__ import annotations

import datetime as dt
import sys

import atheris

with atheris.instrument_imports():
    import eventstream
    import sigv4
    from sigv4 import Credentials

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
KEY = Credentials("AKIDSTREAMSCRIBELOCAL", "a secret the fuzzer never sees")


def lookup(akid: str) -> Credentials:
    if akid != KEY.access_key_id:
        raise sigv4.UnknownAccessKeyError(akid)
    return KEY


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    method = fdp.PickValueInList(["POST", "GET", "", "post"])
    target = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 400))
    headers = [
        (fdp.ConsumeUnicodeNoSurrogates(12), fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200)))
        for _ in range(fdp.ConsumeIntInRange(0, 8))
    ]
    if fdp.ConsumeBool():
        headers.append(("authorization", "AWS4-HMAC-SHA256 " + fdp.ConsumeUnicodeNoSurrogates(300)))
    try:
        if fdp.ConsumeBool():
            sigv4.verify_request(method, target, headers, credentials=lookup, now=NOW, service="transcribe")
        else:
            sigv4.verify_presigned_request(method, target, headers, credentials=lookup, now=NOW)
        raise AssertionError("a request verified without the secret")
    except (sigv4.VerificationError, sigv4.SigningError):
        pass
    verifier = sigv4.ChunkVerifier(KEY, "us-east-1", "transcribe", "00" * 32)
    try:
        message = eventstream.decode(fdp.ConsumeBytes(fdp.remaining_bytes()))
    except eventstream.EventStreamError:
        return
    try:
        verifier.verify(message, NOW)
        raise AssertionError("a frame verified without the secret")
    except sigv4.VerificationError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
