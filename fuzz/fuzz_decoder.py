"""Coverage-guided fuzz target for ``eventstream.Decoder.feed`` (atheris / libFuzzer).

Run it (see fuzz/README.md)::

    make fuzz FUZZ_SECONDS=600

Each input's first byte picks a chunk size and whether to fix up the CRCs first (so
mutations get past the checksums into the header parser); the rest is cut into chunks, fed to a
decoder, then closed. Properties checked on every input:

* the only exception that may escape is ``EventStreamError``;
* when the whole input decodes, re-encoding the messages gives back exactly the input
  (so nothing is dropped, invented or reordered), and ``decode`` on each message's
  bytes agrees with the incremental decoder.
"""

from __future__ import annotations

import pathlib
import sys
import zlib

import atheris

# The repository's own files, not the editable install's loader: atheris instruments
# modules loaded by the regular path finder (a custom loader hides most coverage).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    from eventstream import Decoder, EventStreamError, decode


def fix_checksums(data: bytes) -> bytes:
    """Rewrite every prelude and message CRC so mutations reach the header parser.

    Random mutations almost never keep a CRC-32 right; without this half of the inputs,
    the fuzzer would spend its time on checksum mismatches.
    """
    out = bytearray(data)
    pos = 0
    while len(out) - pos >= 12:
        total = int.from_bytes(out[pos : pos + 4], "big")
        out[pos + 8 : pos + 12] = zlib.crc32(out[pos : pos + 8]).to_bytes(4, "big")
        if total < 16 or pos + total > len(out):
            break
        end = pos + total
        out[end - 4 : end] = zlib.crc32(out[pos : end - 4]).to_bytes(4, "big")
        pos = end
    return bytes(out)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    chunk_size = data[0] % 64 + 1  # the first byte picks the split...
    stream = fix_checksums(data[1:]) if data[0] & 0x80 else data[1:]  # ...and the mode
    decoder = Decoder(max_message_size=1 << 20)
    messages = []
    try:
        for i in range(0, len(stream), chunk_size):
            messages += decoder.feed(stream[i : i + chunk_size])
        decoder.close()
    except EventStreamError:
        return
    wires = [m.encode() for m in messages]
    if b"".join(wires) != stream:
        raise AssertionError("re-encoded messages differ from the decoded stream")
    for wire, message in zip(wires, messages, strict=True):
        if decode(wire) != message:
            raise AssertionError("decode() and Decoder disagree")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
