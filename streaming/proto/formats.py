"""What an audio file is, from its first bytes, and what to tell a person who has the wrong one.

The service takes 16-bit PCM (raw or in WAV), FLAC and Ogg/Opus, 8..48 kHz, one or two
channels. Everything else gets an :class:`~streaming.proto.errors.AudioFormatError` that says
what the file is, why it cannot be streamed, and the ``ffmpeg`` or ``sox`` line that
converts it. Pure functions: no I/O, so they are tested byte by byte.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Final

from .errors import AudioFormatError

__all__ = [
    "MAX_RATE",
    "MIN_RATE",
    "check_bits",
    "check_channels",
    "check_rate",
    "convert_hint",
    "sniff",
]

MIN_RATE: Final = 8000
MAX_RATE: Final = 48000
SNIFF_BYTES: Final = 64


def convert_hint(name: str, *, rate: int = 16000, channels: int = 1) -> str:
    """The command that turns ``name`` into something the service takes (16-bit FLAC)."""
    stem = PurePath(name).stem or "audio"
    return f"convert it first: ffmpeg -i {name} -ac {channels} -ar {rate} -sample_fmt s16 {stem}.flac"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def sniff(head: bytes, name: str) -> str:
    """``"wav"``, ``"flac"``, ``"ogg-opus"`` or ``"unknown"`` (maybe raw PCM) from a file's
    first bytes; raises :class:`AudioFormatError` for a format we can name but not stream.
    """
    if not head:
        raise AudioFormatError(f"{name} is empty: there is no audio in it")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        if b"\x01vorbis" in head:
            raise AudioFormatError(f"{name} is Ogg Vorbis, which the service does not take; {convert_hint(name)}")
        if b"OpusHead" in head or len(head) < 36:
            return "ogg-opus"
        raise AudioFormatError(f"{name} is an Ogg file without Opus audio; {convert_hint(name)}")
    what = None
    if head.startswith(b"RF64") or head.startswith(b"BW64"):
        what = "an RF64 (64-bit WAV) file"
    elif head.startswith(b"RIFF"):
        what = f"a RIFF {head[8:12].decode('latin-1', 'replace')!r} file, not WAVE"
    elif head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF2):
        what = "MP3"
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        what = "AAC (ADTS)"
    elif head[4:8] == b"ftyp":
        what = "MP4/M4A (AAC)"
    elif head.startswith(b"\x1a\x45\xdf\xa3"):
        what = "WebM/Matroska"
    elif head.startswith(b"#!AMR"):
        what = "AMR"
    elif head.startswith(b".snd"):
        what = "Sun/NeXT audio (.au)"
    elif head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        what = "AIFF"
    if what is not None:
        raise AudioFormatError(f"{name} is {what}, which the service does not take; {convert_hint(name)}")
    if _looks_like_text(head[:SNIFF_BYTES]):
        raise AudioFormatError(f"{name} is text, not audio")
    return "unknown"


def check_rate(rate: int, name: str) -> None:
    """8..48 kHz, the service's range."""
    if rate > MAX_RATE:
        raise AudioFormatError(
            f"{name} is sampled at {rate} Hz; the service takes at most {MAX_RATE} Hz: "
            f"{convert_hint(name, rate=MAX_RATE)}"
        )
    if rate < MIN_RATE:
        raise AudioFormatError(f"{name} is sampled at {rate} Hz; the service needs at least {MIN_RATE} Hz")


def check_bits(bits: int, name: str, *, kind: str) -> None:
    """One rule for WAV and FLAC: 16-bit samples only."""
    if bits != 16:
        raise AudioFormatError(
            f"{name} has {bits}-bit {kind} samples; the service takes 16-bit audio: {convert_hint(name)}"
        )


def check_channels(channels: int, name: str) -> None:
    """One or two channels; more must be mixed down first."""
    if channels not in (1, 2):
        raise AudioFormatError(
            f"{name} has {channels} channels; the service takes 1, or 2 with channel identification: "
            f"mix it down first: sox {name} -c 1 mono.wav (or ffmpeg -i {name} -ac 1 mono.flac)"
        )
