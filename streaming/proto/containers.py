"""FLAC and Ogg containers, split incrementally at frame / page boundaries, checksums checked.

Shared by the client's audio sources (which cut files into chunks at these boundaries and
pace them by the media time they carry) and the local endpoint's decoders (which hand each
unit to a codec). Pure Python, no codec: a FLAC frame is found by its sync code, header
CRC-8 and frame CRC-16; an Ogg page by its capture pattern and CRC-32.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import AudioFormatError

__all__ = [
    "OPUS_SILENCE_PACKET",
    "ContainerError",
    "FlacFrame",
    "FlacSplitter",
    "FlacStreamInfo",
    "OggPage",
    "OggPageSplitter",
    "crc8_flac",
    "crc16_flac",
    "flac_frame_number",
    "flac_silence_frame",
    "ogg_crc",
    "ogg_page",
    "ogg_serial_and_sequence",
    "renumber_flac_frame",
    "reseat_ogg_page",
]


class ContainerError(AudioFormatError):
    """The bytes are not a valid FLAC or Ogg stream; the message says where and why.

    ``units`` holds the whole frames or pages the same call found before the damage, so a
    reader can still use the audio that came before it.
    """

    def __init__(self, message: str, units: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.units = list(units)


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


def crc8_flac(data: bytes | bytearray | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16_flac(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16 (poly 0x8005) of ``data``, continuing from ``crc`` (the CRC of what came before)."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def ogg_crc(data: bytes | bytearray | memoryview) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG[(crc >> 24) ^ byte]
    return crc


# -- FLAC ----------------------------------------------------------------------------------

_MAX_FLAC_HEADER: Final = 16  # sync 2, codes 2, coded number <= 7, block size 2, rate 2, CRC 1
# The largest frame we wait for: 65535 samples of 2 channels of 16-bit audio, uncompressed,
# is 256 KiB; a buffer four times that without a frame boundary is not FLAC.
MAX_FLAC_FRAME: Final = 1 << 20
_BLOCK_SIZES: Final = {
    1: 192, 2: 576, 3: 1152, 4: 2304, 5: 4608, 8: 256, 9: 512, 10: 1024,
    11: 2048, 12: 4096, 13: 8192, 14: 16384, 15: 32768,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FlacStreamInfo:
    sample_rate: int
    channels: int
    bits_per_sample: int
    total_samples: int  # 0 when unknown
    raw: bytes  # the 34-byte STREAMINFO block, a decoder's extradata


@dataclass(frozen=True, slots=True)
class FlacFrame:
    data: bytes
    samples: int  # block size: samples per channel


def _header_length(buf: bytes | bytearray, pos: int) -> int | None:
    """Length of a valid frame header at ``pos`` (CRC-8 checked), else None."""
    end = len(buf)
    if pos + 6 > end or buf[pos] != 0xFF or buf[pos + 1] & 0xFE != 0xF8:
        return None
    block_code = buf[pos + 2] >> 4
    rate_code = buf[pos + 2] & 0x0F
    if block_code == 0 or rate_code == 15 or buf[pos + 3] & 0x01:
        return None
    i = pos + 4
    width = _number_width(buf[i])
    if width is None:
        return None
    i += width
    i += {6: 1, 7: 2}.get(block_code, 0)
    i += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if i >= end or crc8_flac(memoryview(buf)[pos:i]) != buf[i]:
        return None
    return i + 1 - pos


def _block_size(buf: bytes | bytearray, header_length: int) -> int:
    code = buf[2] >> 4
    if code in _BLOCK_SIZES:
        return _BLOCK_SIZES[code]
    rate_extra = {12: 1, 13: 2, 14: 2}.get(buf[2] & 0x0F, 0)
    at = header_length - 1 - rate_extra - (2 if code == 7 else 1)
    return (buf[at] if code == 6 else (buf[at] << 8) | buf[at + 1]) + 1


class FlacSplitter:
    """Feed FLAC bytes; get the metadata once, then whole frames as their ends are known.

    A frame is complete when the next valid frame header follows it and its CRC-16
    matches, or at :meth:`finish`. That costs one frame of latency.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.metadata = b""  # "fLaC" and every metadata block: what a decoder needs first
        self.info: FlacStreamInfo | None = None
        self._search = 0
        self._emitted = 0
        self._crc = 0  # CRC-16 of the buffer's first _crc_end bytes: each byte is hashed once
        self._crc_end = 0
        self.offset = 0  # where the buffer starts in the stream, in bytes

    def feed(self, data: bytes) -> list[FlacFrame]:
        self._buffer += data
        if self.info is None and not self._parse_metadata():
            return []
        return self._frames(final=False)

    def finish(self) -> list[FlacFrame]:
        if self.info is None:
            if self._buffer:
                raise ContainerError("FLAC stream ended inside its metadata")
            return []
        return self._frames(final=True)

    def _parse_metadata(self) -> bool:
        buf = self._buffer
        if len(buf) < 4:
            return False
        if buf[:4] != b"fLaC":
            raise ContainerError("FLAC audio must start with the 'fLaC' marker")
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
            raise ContainerError("FLAC stream has no valid STREAMINFO block")
        packed = int.from_bytes(streaminfo[10:18], "big")
        self.info = FlacStreamInfo(
            sample_rate=packed >> 44,
            channels=((packed >> 41) & 0x7) + 1,
            bits_per_sample=((packed >> 36) & 0x1F) + 1,
            total_samples=packed & ((1 << 36) - 1),
            raw=streaminfo,
        )
        if self.info.sample_rate == 0:
            raise ContainerError("FLAC STREAMINFO gives a sample rate of 0")
        self.metadata = bytes(buf[:pos])
        del buf[:pos]
        self.offset = pos
        return True

    def _frames(self, *, final: bool) -> list[FlacFrame]:
        out: list[FlacFrame] = []
        try:
            self._split(out, final=final)
        except ContainerError as exc:
            raise ContainerError(str(exc), out) from None
        return out

    def _split(self, out: list[FlacFrame], *, final: bool) -> None:
        buf = self._buffer
        while buf:
            header = _header_length(buf, 0)
            if header is None:
                if len(buf) < _MAX_FLAC_HEADER and not final:
                    break  # the header may still be arriving
                if final and len(buf) < _MAX_FLAC_HEADER:
                    raise ContainerError(
                        f"the FLAC audio is cut short: it ends inside a frame header at byte {self.offset}"
                    )
                raise ContainerError(
                    f"the FLAC frame header at byte {self.offset} is missing or damaged (sync code or CRC-8)"
                )
            end = self._frame_end(header, final)
            if end is None:
                break
            samples = _block_size(buf, header)
            assert self.info is not None
            if self.info.total_samples:  # encoders may code the short last block at full size
                samples = max(min(samples, self.info.total_samples - self._emitted), 0)
            self._emitted += samples
            out.append(FlacFrame(bytes(buf[:end]), samples))
            del buf[:end]
            self.offset += end
            self._search = 0
            self._crc = self._crc_end = 0
        if len(buf) > MAX_FLAC_FRAME:
            raise ContainerError(
                f"the FLAC frame at byte {self.offset} is damaged: "
                f"no valid frame follows it within {MAX_FLAC_FRAME} bytes"
            )

    def _crc_before(self, end: int) -> int:
        """CRC-16 of the buffer's first ``end`` bytes, extending the running CRC (linear work)."""
        if end < self._crc_end:  # not reached in order; recompute rather than be wrong
            self._crc, self._crc_end = 0, 0
        self._crc = crc16_flac(memoryview(self._buffer)[self._crc_end : end], self._crc)
        self._crc_end = end
        return self._crc

    def _frame_end(self, header: int, final: bool) -> int | None:
        """Where the frame starting at 0 ends: at the next header whose frame CRC fits.

        Checking the CRC-16 of the bytes before a candidate header matters twice: sync
        codes also occur inside audio data, and because CRC(A + crc(A) + B) == CRC(B),
        a tail holding two frames would pass a whole-tail check, so the last frames must
        be split before the tail is taken as one frame.
        """
        buf = self._buffer
        search = max(header, self._search)
        while True:
            candidate = buf.find(b"\xff", search)
            if candidate < 0:
                search = max(len(buf) - 1, header)
                break
            if not final and len(buf) - candidate < _MAX_FLAC_HEADER:
                search = candidate  # a header may be arriving: look again with more bytes
                break
            if (
                candidate + 1 < len(buf)
                and buf[candidate + 1] & 0xFE == 0xF8
                and _header_length(buf, candidate) is not None
                and self._crc_before(candidate - 2) == int.from_bytes(buf[candidate - 2 : candidate], "big")
            ):
                return candidate
            search = candidate + 1
        self._search = search
        if final:
            if len(buf) < 2 or self._crc_before(len(buf) - 2) != int.from_bytes(buf[-2:], "big"):
                if self._header_after(header):
                    raise ContainerError(f"the FLAC frame at byte {self.offset} is damaged (CRC-16)")
                raise ContainerError(
                    f"the FLAC audio is cut short: its last frame (at byte {self.offset}) is incomplete"
                )
            return len(buf)
        return None

    def _header_after(self, start: int) -> bool:
        """Whether a valid frame header (sync code and CRC-8) lies after ``start``: then the
        frame at the buffer's start is damaged, not merely the last and cut short."""
        buf = self._buffer
        at = buf.find(b"\xff", start)
        while 0 <= at < len(buf) - 1:
            if buf[at + 1] & 0xFE == 0xF8 and _header_length(buf, at) is not None:
                return True
            at = buf.find(b"\xff", at + 1)
        return False


# -- Ogg -----------------------------------------------------------------------------------

_OGG_HEADER: Final = struct.Struct("<4sBBqIIIB")


@dataclass(frozen=True, slots=True)
class OggPage:
    data: bytes  # the whole page
    granule: int
    packets: list[bytes]  # packets completed on this page


class OggPageSplitter:
    """Feed Ogg bytes; get whole pages (CRC-32 checked) and the packets they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._packet = bytearray()
        self.offset = 0  # where the buffer starts in the stream, in bytes

    def feed(self, data: bytes) -> list[OggPage]:
        self._buffer += data
        pages: list[OggPage] = []
        try:
            self._split(pages)
        except ContainerError as exc:
            raise ContainerError(str(exc), pages) from None
        return pages

    def _split(self, pages: list[OggPage]) -> None:
        buf = self._buffer
        while len(buf) >= 27:
            if buf[:4] != b"OggS":
                raise ContainerError(f"the Ogg page at byte {self.offset} does not start with 'OggS'")
            _, version, _, granule, _, _, crc, count = _OGG_HEADER.unpack_from(buf, 0)
            if version != 0:
                raise ContainerError(f"the Ogg page at byte {self.offset} has unsupported version {version}")
            if len(buf) < 27 + count:
                break
            lacing = buf[27 : 27 + count]
            size = 27 + count + sum(lacing)
            if len(buf) < size:
                break
            page = bytes(buf[:size])
            if ogg_crc(page[:22] + b"\x00\x00\x00\x00" + page[26:]) != crc:
                raise ContainerError(f"the Ogg page at byte {self.offset} is damaged (CRC mismatch)")
            packets = []
            pos = 27 + count
            for value in lacing:
                self._packet += page[pos : pos + value]
                pos += value
                if value < 255:
                    packets.append(bytes(self._packet))
                    self._packet.clear()
            pages.append(OggPage(page, granule, packets))
            del buf[:size]
            self.offset += size

    @property
    def mid_packet(self) -> bool:
        """A packet began on a page already returned and continues on the next."""
        return bool(self._packet)

    def finish(self) -> None:
        if self._buffer:
            raise ContainerError(f"the Ogg/Opus audio is cut short: it ends inside the page at byte {self.offset}")
        if self._packet:
            raise ContainerError(f"the Ogg/Opus audio is cut short: its last packet continues past byte {self.offset}")


# -- silence in the stream's own container (keeping a stalled live stream open) ------------------


def _flac_coded_number(value: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame or sample number (up to 36 bits)."""
    if value < 0x80:
        return bytes([value])
    for extra, first_bits in ((1, 5), (2, 4), (3, 3), (4, 2), (5, 1), (6, 0)):
        if value < 1 << (first_bits + 6 * extra):
            lead = (0xFF << (7 - extra)) & 0xFF
            out = [lead | (value >> (6 * extra))]
            out += [0x80 | ((value >> (6 * k)) & 0x3F) for k in range(extra - 1, -1, -1)]
            return bytes(out)
    raise ContainerError(f"a FLAC frame number of {value} does not fit 36 bits")


def _number_width(first: int) -> int | None:
    """Bytes of the UTF-8-style coded frame/sample number that starts with ``first``
    (None: not a valid first byte). The one reading of it, for the splitter and the renumbering."""
    if not first & 0x80:
        return 1
    extra, mask = 0, 0x40
    while first & mask:
        extra += 1
        mask >>= 1
    return None if extra == 0 or extra > 6 else 1 + extra


def _flac_number(frame: bytes | bytearray) -> tuple[int, int]:
    """The coded frame/sample number of a frame and how many bytes it takes (at offset 4)."""
    width = _number_width(frame[4])
    if width is None:
        raise ContainerError("not a FLAC frame header (its frame number is not coded)")
    value = frame[4] & ((0x3F >> (width - 1)) if width > 1 else 0x7F)
    for byte in frame[5 : 4 + width]:
        value = (value << 6) | (byte & 0x3F)
    return value, width


def renumber_flac_frame(frame: bytes, shift: int) -> bytes:
    """``frame`` with its coded number moved on by ``shift`` (frames for a fixed-blocksize
    stream, samples for a variable one), its CRC-8 and CRC-16 recomputed."""
    if not shift:
        return frame
    number, width = _flac_number(frame)
    header_length = _header_length(frame, 0)
    if header_length is None:
        raise ContainerError("not a FLAC frame header")
    head = frame[:4] + _flac_coded_number(number + shift) + frame[4 + width : header_length - 1]
    head += bytes([crc8_flac(head)])
    body = frame[header_length:-2]
    return head + body + crc16_flac(head + body).to_bytes(2, "big")


def flac_silence_frame(info: FlacStreamInfo, samples: int, number: int, *, variable: bool) -> bytes:
    """One FLAC frame of ``samples`` samples of digital silence (a CONSTANT subframe per
    channel), numbered ``number`` (a frame number, or a sample number when ``variable``)."""
    if not 1 <= samples <= 65536:
        raise ContainerError(f"a FLAC block holds 1..65536 samples, not {samples}")
    head = bytearray(b"\xff" + bytes([0xF8 | int(variable)]))
    head.append(0x70)  # block size: 16 bits at the end of the header; sample rate: STREAMINFO's
    head.append(((info.channels - 1) << 4) | 0x00)  # independent channels; sample size: STREAMINFO's
    head += _flac_coded_number(number)
    head += (samples - 1).to_bytes(2, "big")
    head.append(crc8_flac(head))
    bits = info.channels * (8 + info.bits_per_sample)  # a zero header byte and a zero value each
    body = bytes((bits + 7) // 8)
    return bytes(head) + body + crc16_flac(bytes(head) + body).to_bytes(2, "big")


def ogg_page(serial: int, sequence: int, granule: int, packets: list[bytes], *, header_type: int = 0) -> bytes:
    """A whole Ogg page holding ``packets`` (each under 255 * 255 bytes), CRC-32 set."""
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    if len(lacing) > 255:
        raise ContainerError("too many packets for one Ogg page")
    head = _OGG_HEADER.pack(b"OggS", 0, header_type, granule, serial, sequence, 0, len(lacing)) + bytes(lacing)
    page = head + b"".join(packets)
    return page[:22] + ogg_crc(page).to_bytes(4, "little") + page[26:]


def reseat_ogg_page(page: bytes, sequence_shift: int, granule_shift: int) -> bytes:
    """``page`` with its sequence number and (when set) granule position moved on."""
    if not sequence_shift and not granule_shift:
        return page
    _, version, header_type, granule, serial, sequence, _, _ = _OGG_HEADER.unpack_from(page, 0)
    granule = granule + granule_shift if granule >= 0 else granule
    head = _OGG_HEADER.pack(b"OggS", version, header_type, granule, serial, sequence + sequence_shift, 0, page[26])
    fixed = head + page[27:]
    return fixed[:22] + ogg_crc(fixed).to_bytes(4, "little") + fixed[26:]


OPUS_SILENCE_PACKET: Final = b"\xf8"
"""A 20 ms Opus packet (CELT fullband, mono TOC, code 0) with an empty frame: decoders play
it as silence (RFC 6716, section 3.2.1: a zero-length frame is DTX); stereo streams use
the same with the stereo bit set."""


def flac_frame_number(frame: bytes) -> int:
    """The frame (or, in a variable-blocksize stream, sample) number a FLAC frame carries."""
    return _flac_number(frame)[0]


def ogg_serial_and_sequence(page: bytes) -> tuple[int, int]:
    _, _, _, _, serial, sequence, _, _ = _OGG_HEADER.unpack_from(page, 0)
    return serial, sequence
