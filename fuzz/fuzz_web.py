"""Fuzz target for the web-app kit: what a page (or a stranger) sends to the presign handler and the relay.

* ``presign.decide`` over a fuzzed method, query string and headers (Origin, Host): the reply
  is always one of the handler's statuses with a JSON body, never an exception; a 200 is a
  URL that carries only what the policy allows (its language, rates and encoding), and no
  reply holds the secret key;
* ``RelaySession`` from a fuzzed query (a typed refusal or a session), then fuzzed binary and
  text messages: only ``RelayRefused`` escapes, audio comes out in whole 100 ms chunks, and
  the bytes out are never more than the bytes in.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import sys

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    from sigv4 import Credentials
    from streaming.web.presign import PresignPolicy, PresignRequest, decide
    from streaming.web.relay import RelayPolicy, RelayRefused, RelaySession

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
SECRET = Credentials("AKIDFUZZEXAMPLE", "a-secret-the-replies-never-show")
PRESIGN = PresignPolicy(
    region="us-east-1",
    credentials=SECRET,
    endpoint="wss://transcribe.example:8443",
    languages=frozenset({"en-US", "en-GB"}),
    params=frozenset({"show-speaker-label", "vocabulary-name"}),
    allowed_origins=frozenset({"https://app.example"}),
)
RELAY = RelayPolicy(
    client=lambda: None,  # type: ignore[arg-type,return-value]  # never called: no stream is opened here
    params=frozenset({"show-speaker-label"}),
    max_message_bytes=4096,
)
STATUSES = {200, 204, 400, 401, 403, 405}
WORDS = [
    *("language-code", "sample-rate", "media-encoding", "expires", "operation", "region", "show-speaker-label"),
    *("vocabulary-name", "session-id", "en-US", "en-GB", "16000", "8000", "pcm", "flac", "medical", "300", "60"),
]


def _query(fdp: atheris.FuzzedDataProvider) -> str:
    """Mostly well-formed queries of the right names and values, sometimes raw bytes."""
    if fdp.ConsumeBool():
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 300))
    pairs = []
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        name = fdp.PickValueInList(WORDS) if fdp.ConsumeBool() else fdp.ConsumeUnicode(8)
        value = fdp.PickValueInList(WORDS) if fdp.ConsumeBool() else fdp.ConsumeUnicode(8)
        pairs.append(f"{name}={value}")
    return "&".join(pairs)


def _presign(fdp: atheris.FuzzedDataProvider) -> None:
    method = fdp.PickValueInList(["GET", "POST", "OPTIONS", "PUT", fdp.ConsumeUnicode(6)])
    headers = {}
    if fdp.ConsumeBool():
        headers["origin"] = fdp.PickValueInList(["https://app.example", "https://evil.example", fdp.ConsumeUnicode(20)])
    if fdp.ConsumeBool():
        headers["host"] = fdp.ConsumeUnicode(20)
    request = PresignRequest(method, _query(fdp), headers)
    reply = decide(request, PRESIGN, authorized=fdp.ConsumeBool(), now=NOW)
    assert reply.status in STATUSES, reply.status
    assert SECRET.secret_access_key.encode() not in reply.body
    assert reply.headers["cache-control"].startswith("no-store")
    if reply.status == 200:
        url = json.loads(reply.body)["url"]
        assert url.startswith("wss://transcribe.example:8443/") and "X-Amz-Signature=" in url
        assert "language-code=en-US" in url or "language-code=en-GB" in url
    elif reply.status != 204:
        error = json.loads(reply.body)["error"]
        assert error["code"] and error["message"]


def _relay(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        session = RelaySession(_query(fdp), RELAY)
    except RelayRefused as refused:
        _typed(refused)
        return
    received = sent = 0
    try:
        for _ in range(fdp.ConsumeIntInRange(0, 8)):
            if fdp.ConsumeBool():
                data = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 5000))
                received += len(data)
                chunks = session.audio(data)
            else:
                chunks = session.command(fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40)))
            for chunk in chunks:
                assert chunk and len(chunk) % 2 == 0
                assert len(chunk) <= session.chunk_bytes
                sent += len(chunk)
            assert sent <= received
    except RelayRefused as refused:
        _typed(refused)


def _typed(refused: RelayRefused) -> None:
    """A refusal the page can read: the service's kind of code, a message, a close code."""
    if not (refused.code and refused.message and refused.close in (1003, 1008, 1009)):
        raise AssertionError(f"an untyped refusal: {refused.code!r} {refused.message!r} {refused.close}")


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        _presign(fdp)
    else:
        _relay(fdp)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
