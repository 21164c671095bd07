"""Audio sources: what a stream sends, cut into chunks that know their media duration.

Every source yields :class:`AudioChunk` objects whose ``duration`` comes from the media
itself (sample counts for PCM and WAV, block sizes for FLAC frames, granule positions
for Ogg pages), so a stream is paced by media time rather than by byte guesses. Chunks
are ``chunk_ms`` long (default 100 ms, 50..200 ms allowed) and never more than 1 s;
PCM chunks hold whole samples of every channel. Compressed sources cut only at frame or
page boundaries and carry their container header, which a resumed stream sends again.

* :class:`PcmSource` - raw s16le from bytes, a file or a binary stream.
* :class:`WavSource` - a WAV file (header parsed and checked, then stripped).
* :class:`FlacSource` and :class:`OggOpusSource` - files or bytes.
* :class:`AsyncByteSource` - any async iterator of bytes (PCM, FLAC or Ogg/Opus).
* :class:`~streaming.aio.microphone.MicrophoneSource` - the default input device
  (``pip install streamscribe[mic]``), in its own module.
* :func:`open_audio` - pick the source for a path by its content.
"""

from __future__ import annotations

import asyncio
import os
import select
import stat
import struct
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Final, Protocol, TypeVar

from ..proto.chunking import (
    MIN_CHUNK_MS,
    AudioChunk,
    FlacChunker,
    OggChunker,
    PcmChunker,
    Salvage,
    check_flac,
    parse_wav,
    pcm_silence,
)
from ..proto.containers import (
    ContainerError,
    FlacSplitter,
    FlacStreamInfo,
)
from ..proto.errors import AudioFormatError, ParameterError
from ..proto.formats import MAX_RATE, MIN_RATE, SNIFF_BYTES, check_channels, sniff

__all__ = [
    "AsyncByteSource",
    "AudioSource",
    "FlacSource",
    "OggOpusSource",
    "PcmSource",
    "WavSource",
    "open_audio",
    "open_stream",
]

_READ_SIZE: Final = 64 * 1024


class AudioSource(Protocol):
    """What a stream needs from a source."""

    media_encoding: str
    sample_rate: int
    channels: int

    @property
    def header(self) -> bytes:
        """Container header a resumed stream must send first (b"" for PCM)."""
        ...

    def __aiter__(self) -> AsyncIterator[AudioChunk]: ...


def _name(source: object, default: str) -> str:
    """How an error names the audio: its path, else ``default``."""
    return str(source) if isinstance(source, str | Path) else default


def _read_all(source: bytes | str | Path | IO[bytes]) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | Path):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise AudioFormatError(f"cannot read audio file {source}: {exc.strerror}") from exc
    return source.read()


class _Salvaging:
    """A source whose chunker keeps what it read before damage (see :class:`Salvage`)."""

    _chunker: Salvage

    @property
    def damage(self) -> AudioFormatError | None:
        """Set once iteration met audio it could not read: what was read before it has been
        yielded (and, from a stream, nothing after it is read); None while all is well."""
        return self._chunker.damage


class PcmSource(_Salvaging):
    """Raw PCM s16le (little-endian signed 16-bit, channels interleaved)."""

    _chunker: PcmChunker

    media_encoding = "pcm"

    def __init__(
        self,
        source: bytes | str | Path | IO[bytes],
        *,
        sample_rate: int,
        channels: int = 1,
        chunk_ms: int = 100,
    ) -> None:
        self._source = source
        self.sample_rate = sample_rate
        self.channels = channels
        self._chunker = PcmChunker(sample_rate, channels, chunk_ms)
        self.duration: float | None = None  # seconds, when known up front
        if isinstance(source, bytes | bytearray | memoryview):
            self.duration = len(source) / self._chunker.bytes_per_second
        elif isinstance(source, str | Path) and Path(source).is_file():
            self.duration = Path(source).stat().st_size / self._chunker.bytes_per_second

    @property
    def header(self) -> bytes:
        return b""

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        source = self._source
        if isinstance(source, bytes | bytearray | memoryview | str | Path):
            for chunk in self._chunker.feed(_read_all(source)):
                yield chunk
        else:
            while data := source.read(_READ_SIZE):
                for chunk in self._chunker.feed(data):
                    yield chunk
        for chunk in self._chunker.finish():
            yield chunk


class WavSource(PcmSource):
    """A WAV file: its header is parsed and checked (16-bit PCM), then stripped."""

    def __init__(self, source: bytes | str | Path | IO[bytes], *, chunk_ms: int = 100) -> None:
        data = _read_all(source)
        rate, channels, offset, length = parse_wav(data, _name(source, "the WAV data"))
        super().__init__(data[offset : offset + length], sample_rate=rate, channels=channels, chunk_ms=chunk_ms)


class FlacSource(_Salvaging):
    """A FLAC file or bytes, cut at frame boundaries; the rate comes from STREAMINFO."""

    _chunker: FlacChunker

    media_encoding = "flac"

    def __init__(self, source: bytes | str | Path | IO[bytes], *, chunk_ms: int = 100) -> None:
        self._data = _read_all(source)
        probe = FlacSplitter()
        try:
            probe.feed(self._data[: 64 * 1024])
        except ContainerError as exc:
            if probe.info is None:  # damage after the metadata is the chunker's to report
                raise AudioFormatError(str(exc)) from exc
        name = _name(source, "the FLAC data")
        if probe.info is None:
            raise AudioFormatError(f"{name}: its FLAC metadata is incomplete")
        check_flac(probe.info, name)
        self.sample_rate = probe.info.sample_rate
        self.channels = probe.info.channels
        self.duration: float | None = probe.info.total_samples / self.sample_rate if probe.info.total_samples else None
        self._header = probe.metadata
        self._chunk_ms = chunk_ms
        self._chunker = FlacChunker(chunk_ms)  # each iteration reads afresh with its own

    @property
    def header(self) -> bytes:
        return self._header

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        chunker = self._chunker = FlacChunker(self._chunk_ms)
        for chunk in chunker.feed(self._data):
            yield chunk
        for chunk in chunker.finish():
            yield chunk


class OggOpusSource(_Salvaging):
    """An Ogg/Opus file or bytes, cut at page boundaries; durations from granule positions."""

    _chunker: OggChunker

    media_encoding = "ogg-opus"

    def __init__(
        self,
        source: bytes | str | Path | IO[bytes],
        *,
        chunk_ms: int = 100,
        sample_rate: int | None = None,
    ) -> None:
        self._data = _read_all(source)
        if not self._data.startswith(b"OggS"):
            raise AudioFormatError("not an Ogg file: it must start with 'OggS'")
        probe = OggChunker(chunk_ms)
        list(probe.feed(self._data[: 64 * 1024]))
        if probe._headers_done < 2:
            raise probe.damage or AudioFormatError("Ogg/Opus headers (OpusHead, OpusTags) are incomplete")
        check_channels(probe.channels, _name(source, "the Ogg/Opus data"))
        self.channels = probe.channels
        self._header = probe.header
        last = self._data.rfind(b"OggS")  # the last page's granule position ends the stream
        granule = struct.unpack_from("<q", self._data, last + 6)[0] if last + 14 <= len(self._data) else -1
        self.duration: float | None = (granule - probe._pre_skip) / 48000 if granule > 0 else None
        # Opus decodes at 48 kHz; the request declares the original rate from OpusHead.
        self.sample_rate = sample_rate or (probe.input_rate if 8000 <= probe.input_rate <= 48000 else 48000)
        self._chunk_ms = chunk_ms
        self._chunker = OggChunker(chunk_ms)  # each iteration reads afresh with its own

    @property
    def header(self) -> bytes:
        return self._header

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        chunker = self._chunker = OggChunker(self._chunk_ms)
        for chunk in chunker.feed(self._data):
            yield chunk
        for chunk in chunker.finish():
            yield chunk


class AsyncByteSource(_Salvaging):
    """Any async iterator of bytes, re-cut into paced chunks for its encoding."""

    def __init__(
        self,
        stream: AsyncIterator[bytes],
        *,
        media_encoding: str = "pcm",
        sample_rate: int,
        channels: int = 1,
        chunk_ms: int = 100,
    ) -> None:
        self._stream = stream
        self.duration: float | None = None
        self.media_encoding = media_encoding
        self.sample_rate = sample_rate
        self.channels = channels
        self._chunker: PcmChunker | FlacChunker | OggChunker
        if media_encoding == "pcm":
            self._chunker = PcmChunker(sample_rate, channels, chunk_ms)
        elif media_encoding == "flac":
            self._chunker = FlacChunker(chunk_ms)
        elif media_encoding == "ogg-opus":
            self._chunker = OggChunker(chunk_ms)
        else:
            raise ParameterError(
                "media_encoding", f"media_encoding must be pcm, flac or ogg-opus, not {media_encoding!r}"
            )

    @property
    def header(self) -> bytes:
        chunker = self._chunker
        if isinstance(chunker, FlacChunker):
            return chunker.splitter.metadata
        if isinstance(chunker, OggChunker):
            return chunker.header
        return b""

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        async for data in self._stream:
            for chunk in self._chunker.feed(bytes(data)):
                yield chunk
            if self._chunker.damage is not None:
                break
        for chunk in self._chunker.finish():
            yield chunk

    def silence(self, seconds: float) -> AudioChunk | None:
        """About ``seconds`` of silence in the stream's own encoding, to keep a stream open
        while the input stalls (PCM zeros; FLAC frames; Opus packets on an Ogg page, later
        frames or pages renumbered after them). None when it cannot be made yet."""
        chunker = self._chunker
        if isinstance(chunker, PcmChunker):
            return pcm_silence(self.sample_rate, self.channels, seconds)
        return chunker.silence(seconds)


def open_audio(
    path: str | Path, *, sample_rate: int | None = None, channels: int | None = None, chunk_ms: int = 100
) -> AudioSource:
    """The source for a file, by its content: WAV, FLAC, Ogg/Opus, else raw PCM.

    Raw PCM has no header, so it needs ``sample_rate`` (and ``channels``, default 1); for a
    WAV or FLAC file they must agree with its header when given (for Ogg/Opus,
    ``sample_rate`` is the rate to declare). A path that is not a regular file
    (``/dev/stdin``, a named pipe) is read as a stream, live, via :func:`open_stream`.
    Formats the service does not take (MP3, AAC, WebM, Vorbis, 24-bit WAV, ...) raise
    :class:`~streaming.proto.errors.AudioFormatError` with the command that converts them.
    """
    name = str(path)
    try:
        if not Path(path).is_file() and Path(path).exists():
            stream = open(path, "rb")  # noqa: SIM115 - the source owns it; closed at its end
            return open_stream(stream, name=name, sample_rate=sample_rate, channels=channels, chunk_ms=chunk_ms)
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise AudioFormatError(f"cannot read audio file {path}: {exc.strerror}") from exc
    kind = sniff(head, name)
    source: AudioSource
    if kind == "wav":
        source = WavSource(path, chunk_ms=chunk_ms)
    elif kind == "flac":
        source = FlacSource(path, chunk_ms=chunk_ms)
    elif kind == "ogg-opus":
        source = OggOpusSource(path, chunk_ms=chunk_ms, sample_rate=sample_rate)
    else:
        return _raw(path, name, sample_rate, channels, chunk_ms)
    _agrees(source, name, kind, sample_rate, channels)
    return source


def _raw(path: str | Path, name: str, sample_rate: int | None, channels: int | None, chunk_ms: int) -> PcmSource:
    if sample_rate is None:
        raise AudioFormatError(
            f"{name} has no WAV, FLAC or Ogg header; if it is raw PCM (s16le), give its sample rate (--rate)"
        )
    check_channels(channels or 1, name)
    return PcmSource(Path(path), sample_rate=sample_rate, channels=channels or 1, chunk_ms=chunk_ms)


def _agrees(source: AudioSource, name: str, kind: str, sample_rate: int | None, channels: int | None) -> None:
    """Rates and channel counts given for a file with a header must be what it says."""
    if sample_rate is not None and kind != "ogg-opus" and sample_rate != source.sample_rate:
        raise ParameterError(
            "sample_rate",
            f"{name} says {source.sample_rate} Hz but {sample_rate} Hz was given (--rate); "
            "leave the rate out for WAV and FLAC: it is only for raw PCM",
        )
    if channels is not None and channels != source.channels:
        raise ParameterError(
            "channels",
            f"{name} has {source.channels} channel(s) but {channels} was given (--channels); "
            "leave it out for WAV, FLAC and Ogg: it is only for raw PCM",
        )


_HEADER_LIMIT: Final = 1 << 20  # bytes of a stream read to find its format (a WAV header, FLAC metadata)


def open_stream(
    stream: IO[bytes],
    *,
    name: str = "stdin",
    sample_rate: int | None = None,
    channels: int | None = None,
    chunk_ms: int = 100,
) -> AsyncByteSource:
    """A live source for a binary stream (stdin, a pipe), detected like a file.

    The stream's first bytes are read here (blocking) to find its format: WAV (the
    header is parsed and stripped), FLAC (rate and channels from STREAMINFO) or Ogg/Opus
    (from OpusHead); anything else is raw PCM s16le, which needs ``sample_rate``. The rest
    is read as it arrives, in a worker thread, so a live pipe stays live.
    """
    head = _read_some(stream, SNIFF_BYTES)
    kind = sniff(head, name)
    if kind == "wav":
        while True:
            try:
                rate, wav_channels, offset, _ = parse_wav(head, name)
                break
            except AudioFormatError:
                more = _read_some(stream, 4096) if len(head) < _HEADER_LIMIT else b""
                if not more:
                    raise
                head += more
        return AsyncByteSource(_rest(stream, head[offset:]), sample_rate=rate, channels=wav_channels, chunk_ms=chunk_ms)
    if kind == "flac":
        buffered, info = _read_header(stream, head, name, _flac_info)
        check_flac(info, name)
        flac = AsyncByteSource(
            _rest(stream, buffered), media_encoding="flac", sample_rate=info.sample_rate, channels=info.channels,
            chunk_ms=chunk_ms,
        )  # fmt: skip
        _agrees(flac, name, kind, sample_rate, channels)
        return flac
    if kind == "ogg-opus":
        buffered, opus = _read_header(stream, head, name, _opus_head)
        opus_channels, input_rate = opus
        check_channels(opus_channels, name)
        rate = sample_rate or (input_rate if MIN_RATE <= input_rate <= MAX_RATE else MAX_RATE)
        ogg = AsyncByteSource(
            _rest(stream, buffered), media_encoding="ogg-opus", sample_rate=rate, channels=opus_channels,
            chunk_ms=chunk_ms,
        )  # fmt: skip
        _agrees(ogg, name, kind, sample_rate, channels)
        return ogg
    if sample_rate is None:
        raise AudioFormatError(
            f"{name} has no WAV, FLAC or Ogg header; if it is raw PCM (s16le), give its sample rate (--rate)"
        )
    check_channels(channels or 1, name)
    return AsyncByteSource(_rest(stream, head), sample_rate=sample_rate, channels=channels or 1, chunk_ms=chunk_ms)


_T = TypeVar("_T")


def _read_header(stream: IO[bytes], head: bytes, name: str, parse: Callable[[bytes], _T | None]) -> tuple[bytes, _T]:
    """Read until ``parse`` finds the container header in what was read (at most 1 MiB)."""
    buffered = head
    while (found := parse(buffered)) is None:
        more = _read_some(stream, 4096) if len(buffered) < _HEADER_LIMIT else b""
        if not more:
            raise AudioFormatError(f"{name}: its header is incomplete (the stream ended or it is damaged)")
        buffered += more
    return buffered, found


def _flac_info(data: bytes) -> FlacStreamInfo | None:
    splitter = FlacSplitter()
    try:
        splitter.feed(data)
    except ContainerError as exc:
        raise AudioFormatError(str(exc)) from exc
    return splitter.info


def _opus_head(data: bytes) -> tuple[int, int] | None:
    """``(channels, input_rate)`` once the OpusHead and OpusTags pages are in."""
    chunker = OggChunker(MIN_CHUNK_MS)
    list(chunker.feed(data))
    return (chunker.channels, chunker.input_rate) if chunker._headers_done >= 2 else None


def _read_some(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream."""
    read = getattr(stream, "read1", stream.read)
    data = b""
    while len(data) < size:
        piece = read(size - len(data))
        if not piece:
            break
        data += piece
    return data


async def _rest(stream: IO[bytes], first: bytes) -> AsyncIterator[bytes]:
    """``first``, then the rest of ``stream`` as it arrives.

    The reads block, so they run in a thread of their own, at most a few chunks ahead. Not
    in the loop's default executor: on Ctrl-C, ``asyncio.run`` waits for that executor, and
    the read of a pipe that stays open never returns. A pipe is read from its descriptor
    once ``select`` (a fifth of a second at a time) says it is readable, so the thread
    notices when nobody reads any more and ends, and never sits inside the buffered
    reader's lock while the interpreter exits.
    """
    if first:
        yield first
    fd = _pipe_descriptor(stream)
    if fd is not None:
        buffered = _buffered(stream, fd)  # what the reader holds already, before the thread reads the descriptor
        if buffered:
            yield buffered
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
    room = threading.Semaphore(4)
    stop = threading.Event()

    def hand_over(item: bytes | BaseException) -> bool:
        try:
            loop.call_soon_threadsafe(chunks.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody reads any more
            return False
        return True

    def read_once() -> bytes | None:
        """A chunk, b"" at the end, None when the pipe has nothing yet."""
        if fd is None:
            return getattr(stream, "read1", stream.read)(_READ_SIZE)
        if not select.select([fd], [], [], 0.2)[0]:
            return None
        return os.read(fd, _READ_SIZE)

    def reader() -> None:
        while not stop.is_set():
            if not room.acquire(timeout=0.2):
                continue
            try:
                data = read_once()
            except Exception as exc:  # handed to the stream, which fails with it
                hand_over(exc)
                return
            if data is None:
                room.release()
                continue
            if not hand_over(data) or not data:
                return

    threading.Thread(target=reader, name="streamscribe-input", daemon=True).start()
    try:
        while True:
            item = await chunks.get()
            room.release()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()


def _buffered(stream: IO[bytes], fd: int) -> bytes:
    """The bytes a buffered reader of pipe ``fd`` holds already (or the pipe has now),
    without waiting: the descriptor is non-blocking for this one read."""
    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        return getattr(stream, "read1", stream.read)(_READ_SIZE) or b""
    except BlockingIOError:
        return b""
    finally:
        os.set_blocking(fd, blocking)


def _pipe_descriptor(stream: IO[bytes]) -> int | None:
    """The descriptor of a pipe or socket ``stream`` reads (read without blocking), else
    None: files never block, and a terminal's mode is shared with the shell."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None
