"""Incremental audio decoding for the local endpoint: PCM, FLAC and Ogg/Opus to 16 kHz PCM.

Audio arrives in AudioEvents cut anywhere, so each decoder buffers what it needs and emits
audio as soon as a unit is complete: a FLAC frame once the next frame's header (or the
end) shows where it stops, an Ogg page once all its bytes are in. Containers are parsed
here, with their checksums (FLAC header CRC-8 and frame CRC-16, Ogg page CRC-32); PyAV's
codecs decode the frames and packets. Output is one 16 kHz s16le buffer per channel,
the recogniser's format, plus the media time it covers.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["AudioFormatError", "AudioPipeline", "Decoded", "crc8_flac", "crc16_flac", "ogg_crc"]

TARGET_RATE: Final = 16000


class AudioFormatError(Exception):
    """The audio bytes are not valid for the declared media encoding."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """Audio decoded from one feed: per-channel 16 kHz s16le, and its media duration."""

    channels: list[bytes]
    seconds: float


# -- checksums -----------------------------------------------------------------------------


def _table(poly: int, width: int) -> list[int]:
    top = 1 << (width - 1)
    mask = (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) if crc & top else (crc << 1)
        table.append(crc & mask)
    return table


_CRC8: Final = _table(0x07, 8)
_CRC16: Final = _table(0x8005, 16)
_OGG: Final = _table(0x04C11DB7, 32)


def crc8_flac(data: bytes | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16_flac(data: bytes | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def ogg_crc(data: bytes | bytearray | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG[(crc >> 24) ^ byte]
    return crc


# -- resampling ----------------------------------------------------------------------------


class _Resampler:
    """s16 mono at ``rate`` -> s16 mono at 16 kHz, per channel, with PyAV's swresample."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler: Any = None
        if rate != TARGET_RATE:
            import av  # noqa: PLC0415 - heavy; only when resampling is needed

            self._av = av
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)

    def __call__(self, pcm: bytes) -> bytes:
        if self._resampler is None or not pcm:
            return pcm
        frame = self._av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate = self.rate
        return b"".join(
            bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(frame)
        )

    def flush(self) -> bytes:
        if self._resampler is None:
            return b""
        return b"".join(
            bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(None)
        )


# -- decoders ------------------------------------------------------------------------------


class _Pcm:
    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self._carry = b""
        self._resamplers = [_Resampler(rate) for _ in range(channels)]

    def feed(self, data: bytes) -> Decoded:
        data = self._carry + data
        frame = 2 * self.channels
        usable = len(data) - len(data) % frame
        self._carry = data[usable:]
        samples = array("h")
        samples.frombytes(data[:usable])
        if self.channels == 1:
            per_channel = [samples.tobytes()]
        else:
            per_channel = [samples[c :: self.channels].tobytes() for c in range(self.channels)]
        out = [resample(pcm) for resample, pcm in zip(self._resamplers, per_channel, strict=True)]
        return Decoded(out, usable / frame / self.rate)

    def flush(self) -> Decoded:
        if self._carry:
            raise AudioFormatError(
                f"PCM audio ended with {len(self._carry)} stray bytes (not a whole "
                f"{self.channels}-channel s16le sample)"
            )
        return Decoded([r.flush() for r in self._resamplers], 0.0)


class _Codec:
    """A PyAV decoder whose output is split into channels and resampled to 16 kHz mono."""

    def __init__(self, name: str, extradata: bytes, channels: int) -> None:
        import av  # noqa: PLC0415

        self._av = av
        self.context = av.CodecContext.create(name, "r")
        self.context.extradata = extradata
        self.channels = channels
        layout = "mono" if channels == 1 else "stereo"
        self._planar = av.AudioResampler(format="s16p", layout=layout, rate=TARGET_RATE)

    def decode(self, packet: bytes) -> tuple[list[bytes], int, int]:
        """Per-channel 16 kHz PCM of one packet, its sample count and source rate."""
        try:
            frames = self.context.decode(self._av.Packet(packet))  # type: ignore[attr-defined]
        except self._av.FFmpegError as exc:
            raise AudioFormatError(f"cannot decode audio: {exc}") from exc
        return self._convert(frames)

    def _convert(self, frames: list[Any]) -> tuple[list[bytes], int, int]:
        out = [bytearray() for _ in range(self.channels)]
        samples = rate = 0
        for frame in frames:
            samples += frame.samples
            rate = frame.sample_rate
            for converted in self._planar.resample(frame):
                n = converted.samples * 2
                for c in range(self.channels):
                    out[c] += bytes(converted.planes[c])[:n]
        return [bytes(b) for b in out], samples, rate

    def flush(self) -> list[bytes]:
        out = [bytearray() for _ in range(self.channels)]
        for converted in self._planar.resample(None):
            n = converted.samples * 2
            for c in range(self.channels):
                out[c] += bytes(converted.planes[c])[:n]
        return [bytes(b) for b in out]


_MAX_FLAC_HEADER: Final = 16  # sync 2, codes 2, coded number <= 7, block size 2, rate 2, CRC 1
_FLAC_BLOCK_SIZES: Final = {
    1: 192,
    2: 576,
    3: 1152,
    4: 2304,
    5: 4608,
    8: 256,
    9: 512,
    10: 1024,
    11: 2048,
    12: 4096,
    13: 8192,
    14: 16384,
    15: 32768,
}


def _flac_header_length(buf: bytes | bytearray, pos: int) -> int | None:
    """Length of a valid FLAC frame header at ``pos`` (CRC-8 checked), else None."""
    end = len(buf)
    if pos + 6 > end or buf[pos] != 0xFF or buf[pos + 1] & 0xFE != 0xF8:
        return None
    block_code = buf[pos + 2] >> 4
    rate_code = buf[pos + 2] & 0x0F
    if block_code == 0 or rate_code == 15 or buf[pos + 3] & 0x01:
        return None
    i = pos + 4
    first = buf[i]
    extra = 0
    if first & 0x80:  # UTF-8-style coded frame/sample number
        mask = 0x40
        while first & mask:
            extra += 1
            mask >>= 1
        if extra == 0 or extra > 6:
            return None
    i += 1 + extra
    i += {6: 1, 7: 2}.get(block_code, 0)
    i += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if i >= end:
        return None
    if crc8_flac(memoryview(buf)[pos:i]) != buf[i]:
        return None
    return i + 1 - pos


def _flac_block_size(buf: bytes | bytearray, pos: int, header_length: int) -> int:
    code = buf[pos + 2] >> 4
    if code in _FLAC_BLOCK_SIZES:
        return _FLAC_BLOCK_SIZES[code]
    tail = pos + header_length - 1 - (2 if code == 7 else 1)
    rate_code = buf[pos + 2] & 0x0F
    tail -= {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    value = buf[tail] if code == 6 else (buf[tail] << 8) | buf[tail + 1]
    return value + 1


class _Flac:
    """FLAC split at frame boundaries: a frame ends where the next valid one starts."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._codec: _Codec | None = None
        self._resample_rate = 0
        self.rate = 0
        self.channels = 0

    def _parse_metadata(self) -> bool:
        buf = self._buffer
        if len(buf) < 4:
            return False
        if buf[:4] != b"fLaC":
            raise AudioFormatError("FLAC audio must start with the 'fLaC' marker")
        pos = 4
        streaminfo = b""
        while True:
            if pos + 4 > len(buf):
                return False
            header = buf[pos]
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if pos + 4 + length > len(buf):
                return False
            if header & 0x7F == 0:
                streaminfo = bytes(buf[pos + 4 : pos + 4 + length])
            pos += 4 + length
            if header & 0x80:
                break
        if len(streaminfo) != 34:
            raise AudioFormatError("FLAC stream has no valid STREAMINFO block")
        packed = int.from_bytes(streaminfo[10:18], "big")
        self.rate = packed >> 44
        self.channels = ((packed >> 41) & 0x7) + 1
        if self.channels > 2:
            raise AudioFormatError(
                f"FLAC audio has {self.channels} channels; at most 2 are supported"
            )
        self._codec = _Codec("flac", streaminfo, self.channels)
        del buf[:pos]
        return True

    def feed(self, data: bytes) -> Decoded:
        self._buffer += data
        if self._codec is None and not self._parse_metadata():
            return Decoded([b""] * max(self.channels, 1), 0.0)
        return self._frames(final=False)

    def _frames(self, *, final: bool) -> Decoded:
        assert self._codec is not None
        buf = self._buffer
        out = [bytearray() for _ in range(self.channels)]
        samples = 0
        while buf:
            header = _flac_header_length(buf, 0)
            if header is None:
                if len(buf) < _MAX_FLAC_HEADER and not final:
                    break  # the header may still be arriving
                raise AudioFormatError("FLAC frame header missing or damaged (sync or CRC-8)")
            end = self._frame_end(header, final)
            if end is None:
                break
            frame = bytes(buf[:end])
            del buf[:end]
            pcm, n, _ = self._codec.decode(frame)
            samples += n
            for c, part in enumerate(pcm):
                out[c] += part
        return Decoded([bytes(b) for b in out], samples / self.rate if self.rate else 0.0)

    def _frame_end(self, header: int, final: bool) -> int | None:
        buf = self._buffer
        search = header
        while True:
            candidate = buf.find(b"\xff", search)
            if candidate < 0 or candidate + 1 >= len(buf):
                break
            if (
                buf[candidate + 1] & 0xFE == 0xF8
                and _flac_header_length(buf, candidate) is not None
                and crc16_flac(memoryview(buf)[: candidate - 2])
                == int.from_bytes(buf[candidate - 2 : candidate], "big")
            ):
                return candidate
            search = candidate + 1
        if final:
            if crc16_flac(memoryview(buf)[:-2]) != int.from_bytes(buf[-2:], "big"):
                raise AudioFormatError("the last FLAC frame is incomplete or damaged (CRC-16)")
            return len(buf)
        return None

    def flush(self) -> Decoded:
        if self._codec is None:
            if self._buffer:
                raise AudioFormatError("FLAC audio ended inside its metadata")
            return Decoded([b""], 0.0)
        decoded = self._frames(final=True)
        tail = self._codec.flush()
        return Decoded(
            [a + b for a, b in zip(decoded.channels, tail, strict=True)], decoded.seconds
        )


_OGG_HEADER: Final = struct.Struct("<4sBBqIIIB")


class _OggOpus:
    """Ogg pages parsed as they complete (CRC-32 checked); Opus packets decoded by PyAV."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._packet = bytearray()
        self._codec: _Codec | None = None
        self._head = b""
        self._tags_seen = False
        self.channels = 0
        self.rate = 48000

    def feed(self, data: bytes) -> Decoded:
        self._buffer += data
        out = [bytearray() for _ in range(max(self.channels, 1))]
        samples = 0
        for packet in self._pages():
            pcm, n = self._packet_audio(packet)
            if pcm is None:
                out = [bytearray() for _ in range(self.channels)]
                continue
            samples += n
            for c, part in enumerate(pcm):
                out[c] += part
        return Decoded([bytes(b) for b in out], samples / 48000)

    def _pages(self) -> list[bytes]:
        buf = self._buffer
        packets = []
        while len(buf) >= 27:
            if buf[:4] != b"OggS":
                raise AudioFormatError("Ogg page does not start with 'OggS'")
            _, version, _, _, _, _, crc, count = _OGG_HEADER.unpack_from(buf, 0)
            if version != 0:
                raise AudioFormatError(f"unsupported Ogg version {version}")
            if len(buf) < 27 + count:
                break
            lacing = buf[27 : 27 + count]
            size = 27 + count + sum(lacing)
            if len(buf) < size:
                break
            page = bytearray(buf[:size])
            page[22:26] = b"\x00\x00\x00\x00"
            if ogg_crc(page) != crc:
                raise AudioFormatError("Ogg page CRC mismatch: the audio is damaged")
            pos = 27 + count
            for value in lacing:
                self._packet += buf[pos : pos + value]
                pos += value
                if value < 255:
                    packets.append(bytes(self._packet))
                    self._packet.clear()
            del buf[:size]
        return packets

    def _packet_audio(self, packet: bytes) -> tuple[list[bytes] | None, int]:
        if self._codec is None:
            if not packet.startswith(b"OpusHead") or len(packet) < 19:
                raise AudioFormatError("Ogg stream does not start with an OpusHead packet")
            self.channels = packet[9]
            if self.channels not in (1, 2):
                raise AudioFormatError(
                    f"Opus audio has {self.channels} channels; 1 or 2 are supported"
                )
            self._codec = _Codec("opus", packet, self.channels)
            return None, 0
        if not self._tags_seen:
            if not packet.startswith(b"OpusTags"):
                raise AudioFormatError("Ogg/Opus stream lacks its OpusTags packet")
            self._tags_seen = True
            return [b""] * self.channels, 0
        pcm, n, _ = self._codec.decode(packet)
        return pcm, n

    def flush(self) -> Decoded:
        if self._buffer or self._packet:
            raise AudioFormatError("Ogg/Opus audio ended inside a page or packet")
        if self._codec is None:
            return Decoded([b""], 0.0)
        return Decoded(self._codec.flush(), 0.0)


class AudioPipeline:
    """Decode one stream's audio, whatever its encoding, into 16 kHz mono per channel.

    ``channels`` is what the request declared for PCM (1, or 2 with channel
    identification); FLAC and Opus carry their own channel count.
    """

    def __init__(self, encoding: str, sample_rate: int, channels: int = 1) -> None:
        self.encoding = encoding
        self.sample_rate = sample_rate
        self._decoder: _Pcm | _Flac | _OggOpus
        if encoding == "pcm":
            self._decoder = _Pcm(sample_rate, channels)
        elif encoding == "flac":
            self._decoder = _Flac()
        elif encoding == "ogg-opus":
            self._decoder = _OggOpus()
        else:
            raise AudioFormatError(f"unsupported media encoding {encoding!r}")

    def feed(self, data: bytes) -> Decoded:
        return self._decoder.feed(data)

    def flush(self) -> Decoded:
        return self._decoder.flush()
