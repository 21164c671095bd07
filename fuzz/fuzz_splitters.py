"""Fuzz target for the FLAC and Ogg container splitters (``streaming.proto.containers``).

The client's audio sources and the local endpoint's decoders both cut untrusted bytes
with these. The first input byte picks the container and the chunk size. Properties:

* the only exception that may escape is ``ContainerError`` (an ``AudioFormatError``);
* whatever the splitter emits is the input, in order, with nothing invented: FLAC's
  metadata plus its frames, and Ogg's pages, are a prefix of the input bytes;
* memory stays bounded: a FLAC splitter never holds more than ``MAX_FLAC_FRAME`` plus one
  chunk.
"""

from __future__ import annotations

import pathlib
import sys

import atheris

# The repository's own files, not the editable install's loader: atheris instruments
# modules loaded by the regular path finder (a custom loader hides most coverage).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

with atheris.instrument_imports():
    from streaming.proto.containers import MAX_FLAC_FRAME, ContainerError, FlacSplitter, OggPageSplitter


def test_one_input(data: bytes) -> None:
    if not data:
        return
    flac = data[0] & 0x80 == 0
    chunk = (data[0] & 0x7F) * 37 + 1
    stream = data[1:]
    emitted = bytearray()
    try:
        if flac:
            splitter = FlacSplitter()
            for i in range(0, len(stream), chunk):
                frames = splitter.feed(stream[i : i + chunk])
                if splitter.info is not None and not emitted:
                    emitted += splitter.metadata
                emitted += b"".join(f.data for f in frames)
                if len(splitter._buffer) > MAX_FLAC_FRAME + chunk:
                    raise AssertionError("the FLAC splitter holds more than its bound")
            emitted += b"".join(f.data for f in splitter.finish())
        else:
            pages = OggPageSplitter()
            for i in range(0, len(stream), chunk):
                emitted += b"".join(p.data for p in pages.feed(stream[i : i + chunk]))
            pages.finish()
    except ContainerError:
        pass
    if not stream.startswith(bytes(emitted)):
        raise AssertionError("the splitter emitted bytes that are not the input's, in order")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
