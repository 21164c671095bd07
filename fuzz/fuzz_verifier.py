"""Fuzz target for the SigV4 verifier (``sigv4.verify_request``, ``verify_presigned_request``,
``ChunkVerifier``): what a server runs on every request and frame from strangers.

The input is split into a method, a request target, headers and a chunk. Properties:

* only ``sigv4.VerificationError`` / ``SigningError`` escape (never a ``KeyError``,
  ``ValueError`` or ``IndexError``);
* nothing verifies: without the secret no input may pass (the fuzzer never sees it).
"""

from __future__ import annotations

import datetime as dt
import pathlib
import sys

import atheris

# The repository's own files, not the editable install's loader: atheris instruments
# modules loaded by the regular path finder (a custom loader hides most coverage).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

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
    target = fdp.PickValueInList(["/", "/stream-transcription", ""]) + fdp.ConsumeUnicodeNoSurrogates(
        fdp.ConsumeIntInRange(0, 200)
    )
    if fdp.ConsumeBool():  # a presigned query: every X-Amz-* key there, each value fuzzed
        keys = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                "X-Amz-Signature", "language-code"]  # fmt: skip
        values = {
            "X-Amz-Algorithm": fdp.PickValueInList(["AWS4-HMAC-SHA256", "AWS4"]),
            "X-Amz-Credential": f"{KEY.access_key_id}%2F20261130%2Fus-east-1%2Ftranscribe%2Faws4_request",
            "X-Amz-Date": fdp.PickValueInList(["20261130T120000Z", "20261130T115000Z", "bad"]),
            "X-Amz-Expires": str(fdp.ConsumeIntInRange(-1, 400)),
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": fdp.ConsumeBytes(32).hex(),
            "language-code": fdp.ConsumeUnicodeNoSurrogates(6),
        }
        query = "&".join(f"{k}={values[k]}" for k in keys if fdp.ConsumeIntInRange(0, 9))
        target = target.split("?", 1)[0] + "?" + query
    headers = [
        (fdp.ConsumeUnicodeNoSurrogates(12), fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200)))
        for _ in range(fdp.ConsumeIntInRange(0, 8))
    ]
    if fdp.ConsumeBool():
        headers.append(("authorization", "AWS4-HMAC-SHA256 " + fdp.ConsumeUnicodeNoSurrogates(300)))
    else:  # well-formed in shape, fuzzed in every part: reaches the scope, date and signature checks
        akid = fdp.PickValueInList([KEY.access_key_id, "AKIDOTHER", ""])
        date = fdp.PickValueInList(["20261130", "20261129", "2026113", ""]) + fdp.ConsumeUnicodeNoSurrogates(2)
        signed = fdp.PickValueInList(["host;x-amz-date", "host", "x-amz-date", ":authority;x-amz-date"])
        signature = fdp.ConsumeBytes(32).hex()
        headers += [
            ("host", "transcribestreaming.us-east-1.amazonaws.com"),
            ("x-amz-date", date + "T" + fdp.ConsumeUnicodeNoSurrogates(7)),
            (
                "authorization",
                f"AWS4-HMAC-SHA256 Credential={akid}/{date}/us-east-1/transcribe/aws4_request, "
                f"SignedHeaders={signed}, Signature={signature}",
            ),
        ]
        if fdp.ConsumeBool():
            target = "/stream-transcription?" + target
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
