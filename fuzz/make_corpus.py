"""Regenerate the seed corpora of every fuzz target.

    python fuzz/make_corpus.py

* ``corpus/`` (decoder): the hand-built test vectors plus typical audio frames, each
  after one byte (chunk size and CRC fix-up mode), in both modes;
* ``corpus-splitters/``: the start of the FLAC and Ogg/Opus fixtures (and a cut-short
  and a damaged copy) after the byte that picks the container and chunk size;
* ``corpus-verifier/`` and ``corpus-endpoint/``: inputs shaped for their
  FuzzedDataProvider layouts (a signed-looking Authorization, an HTTP/2 preface), so
  the fuzzer starts past the first checks;
* ``corpus-web/``: presign and relay queries; ``corpus-streamcore/``: framed AudioEvents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pathlib
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import yaml  # noqa: E402

from eventstream import Int64, encode  # noqa: E402
from tests.eventstream.vectors import BAD_VECTORS, VECTORS  # noqa: E402


def seeds() -> list[bytes]:
    out = [v.wire for v in VECTORS] + [v.wire for v in BAD_VECTORS]
    audio = {
        ":message-type": "event",
        ":event-type": "AudioEvent",
        ":content-type": "application/octet-stream",
    }
    inner = encode(audio, bytes(320))
    outer = encode(
        {
            ":date": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            ":chunk-signature": bytes(range(32)),
        },
        inner,
    )
    out += [inner, outer, outer + inner]
    out.append(encode({"id": uuid.UUID(int=1), "n": Int64(-1), "ok": True}, b"{}"))
    return out


def _write(directory: str, items: list[bytes]) -> None:
    corpus = ROOT / directory
    corpus.mkdir(exist_ok=True)
    for data in items:
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)


def splitter_seeds() -> list[bytes]:
    fixtures = ROOT.parent / "tests" / "fixtures"
    flac = (fixtures / "fox.flac").read_bytes()[:6000]
    ogg = (fixtures / "fox.opus").read_bytes()[:6000]
    damaged = bytearray(flac)
    damaged[3000] ^= 0xFF
    return [b"\x03" + flac, b"\x00" + flac[:4100], b"\x11" + bytes(damaged), b"\x83" + ogg, b"\x80" + ogg[:3000]]


def verifier_seeds() -> list[bytes]:
    auth = (
        b"Credential=AKIDSTREAMSCRIBELOCAL/20261130/us-east-1/transcribe/aws4_request, "
        b"SignedHeaders=host;x-amz-date, Signature=" + b"0" * 64
    )
    return [b"\x00" * 8 + b"/stream-transcription" + b"\x01host\x01x-amz-date" + auth, bytes(range(256))]


def endpoint_seeds() -> list[bytes]:
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
    return [settings + b"/stream-transcription?language-code=en-US&sample-rate=16000", settings * 3]


def jobs_seeds() -> list[bytes]:
    body = b'{"TranscriptionJobName": "meeting"}'
    return [b"\x00" * 4 + b"Transcribe.GetTranscriptionJob" + body, b"\x03" * 8 + b'{"JobId": "e1", "DomainId": "d1"}']


def resources_seeds() -> list[bytes]:
    example = (ROOT.parent / "docs" / "examples" / "resources.yaml").read_bytes()
    as_json = json.dumps(yaml.safe_load(example)).encode()
    return [b"\x01" + example, b"\x00" + as_json, b"\x01a: &a [1]\nb: *a\n", b"\x00" + b"[" * 50]


def web_seeds() -> list[bytes]:
    """A presign query and a relay query, each after the bytes that pick the path."""
    presign = b"\x01" + b"\x00" * 3 + b"language-code=en-US&sample-rate=16000&expires=30"
    relay = b"\x00" + b"\x00" * 3 + b"language-code=en-US&sample-rate=16000&show-speaker-label=true"
    return [presign, relay, b"\x01" + b"&" * 200]


def streamcore_seeds() -> list[bytes]:
    """Framed AudioEvents for the signed and the unsigned path (the layout's leading bytes pick them)."""
    audio = {":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream"}
    frame = encode(audio, bytes(640))
    return [b"\x00\x00\x01" + frame * 2, b"\x01\x01\x01" + frame]


def main() -> None:
    _write("corpus", [mode + seed for seed in seeds() for mode in (b"\x07", b"\x87")])
    _write("corpus-splitters", splitter_seeds())
    _write("corpus-verifier", verifier_seeds())
    _write("corpus-endpoint", endpoint_seeds())
    _write("corpus-jobs", jobs_seeds())
    _write("corpus-resources", resources_seeds())
    _write("corpus-web", web_seeds())
    _write("corpus-streamcore", streamcore_seeds())


if __name__ == "__main__":
    main()
