"""Regenerate the seed corpus: the hand-built test vectors plus typical audio frames.

    python fuzz/make_corpus.py

Each seed is one byte (the fuzz target's chunk size and CRC fix-up mode) followed by
wire bytes; every message is seeded in both modes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

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


def main() -> None:
    corpus = ROOT / "corpus"
    corpus.mkdir(exist_ok=True)
    for seed in seeds():
        for mode in (b"\x07", b"\x87"):  # chunks of 8 bytes; CRCs as given / fixed up
            data = mode + seed
            (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)


if __name__ == "__main__":
    main()
