"""Audio sources: chunk sizes, media durations, container boundaries and errors."""

from __future__ import annotations

import io
import struct
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from streaming.aio.audio import (
    AsyncByteSource,
    FlacSource,
    OggOpusSource,
    PcmSource,
    WavSource,
    open_audio,
)
from streaming.proto.containers import FlacSplitter, OggPageSplitter
from streaming.proto.errors import AudioFormatError
from tests.helpers import FIXTURES

FOX_PCM = (FIXTURES / "fox.pcm").read_bytes()
FOX_SECONDS = len(FOX_PCM) / 32000


async def collect(source) -> list:
    return [chunk async for chunk in source]


@pytest.mark.parametrize("chunk_ms", [50, 100, 200])
async def test_pcm_chunks(chunk_ms: int) -> None:
    chunks = await collect(PcmSource(FOX_PCM, sample_rate=16000, chunk_ms=chunk_ms))
    assert b"".join(c.data for c in chunks) == FOX_PCM
    assert all(len(c.data) == 32 * chunk_ms for c in chunks[:-1])
    assert sum(c.duration for c in chunks) == pytest.approx(FOX_SECONDS)


async def test_pcm_from_a_binary_stream_and_two_channels() -> None:
    stereo = (FIXTURES / "two-channel.pcm").read_bytes()
    chunks = await collect(PcmSource(io.BytesIO(stereo), sample_rate=16000, channels=2))
    assert b"".join(c.data for c in chunks) == stereo
    assert all(len(c.data) % 4 == 0 for c in chunks)  # whole frames of both channels
    assert sum(c.duration for c in chunks) == pytest.approx(len(stereo) / 64000)


async def test_pcm_cut_mid_sample_gives_the_whole_samples_and_says_so() -> None:
    source = PcmSource(FOX_PCM + b"\x01", sample_rate=16000)
    chunks = await collect(source)
    assert b"".join(c.data for c in chunks) == FOX_PCM
    assert source.damage is not None and "1 stray byte(s)" in str(source.damage)
    whole = PcmSource(FOX_PCM, sample_rate=16000)
    await collect(whole)
    assert whole.damage is None
    with pytest.raises(AudioFormatError, match="stray byte"):  # nothing readable at all
        await collect(PcmSource(b"\x01", sample_rate=16000))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_ms": 20}, "chunk_ms"),
        ({"chunk_ms": 250}, "chunk_ms"),
        ({"sample_rate": 96000}, "sample_rate"),
        ({"channels": 3}, "channels"),
    ],
)
def test_pcm_arguments_are_checked(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        PcmSource(FOX_PCM, **{"sample_rate": 16000, **kwargs})


async def test_wav_header_is_parsed_and_stripped() -> None:
    source = WavSource(FIXTURES / "fox.wav")
    assert (source.sample_rate, source.channels, source.media_encoding) == (16000, 1, "pcm")
    assert b"".join(c.data for c in await collect(source)) == FOX_PCM


def wav(tag: int = 1, bits: int = 16, channels: int = 1) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, channels, 16000, 32000 * channels, 2 * channels, bits)
    data = bytes(64)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"RIFX" + bytes(40), "RIFF"),
        (wav(tag=3, bits=32), "16-bit integer PCM"),
        (wav(bits=8), "16-bit"),
        (wav(channels=6), "6 channels"),
        (wav()[:36], "no data chunk"),
        (wav()[:30], "ends inside its fmt chunk"),  # a 30-byte file: cut short, not a small fmt chunk
        (wav()[:16] + struct.pack("<I", 8) + bytes(24), "fmt chunk is 8 bytes; at least 16"),
    ],
)
def test_bad_wav_files(data: bytes, match: str) -> None:
    with pytest.raises(AudioFormatError, match=match):
        WavSource(data)


async def test_flac_chunks_cut_at_frame_boundaries() -> None:
    data = (FIXTURES / "fox.flac").read_bytes()
    source = FlacSource(data)
    chunks = await collect(source)
    assert b"".join(c.data for c in chunks) == data  # nothing dropped or reordered
    assert chunks[0].data.startswith(source.header) and source.header.startswith(b"fLaC")
    assert sum(c.duration for c in chunks) == pytest.approx(FOX_SECONDS)
    # Every chunk after the header is whole frames: each one parses on its own.
    splitter = FlacSplitter()
    splitter.feed(source.header)
    for chunk in chunks[1:]:
        frames = splitter.feed(chunk.data)
        frames += splitter.finish() if chunk is chunks[-1] else []
    assert splitter.info is not None and splitter.info.sample_rate == 16000


async def test_ogg_opus_chunks_cut_at_pages() -> None:
    data = (FIXTURES / "fox.opus").read_bytes()
    source = OggOpusSource(data)
    assert (source.sample_rate, source.channels) == (16000, 1)  # from OpusHead
    chunks = await collect(source)
    assert b"".join(c.data for c in chunks) == data
    assert sum(c.duration for c in chunks) == pytest.approx(FOX_SECONDS, abs=0.03)
    assert max(c.duration for c in chunks) <= 0.2
    pages = OggPageSplitter().feed(data)
    assert source.header == b"".join(p.data for p in pages[:2])


@pytest.mark.parametrize(
    ("name", "encoding", "rate", "channels"),
    [
        ("fox.wav", "pcm", 16000, 1),
        ("fox.flac", "flac", 16000, 1),
        ("fox.opus", "ogg-opus", 16000, 1),
        ("two-channel.flac", "flac", 16000, 2),
    ],
)
def test_open_audio_detects_the_format(name, encoding, rate, channels) -> None:
    source = open_audio(FIXTURES / name)
    assert (source.media_encoding, source.sample_rate, source.channels) == (encoding, rate, channels)


def test_open_audio_raw_pcm_needs_a_rate() -> None:
    with pytest.raises(AudioFormatError, match="sample rate"):
        open_audio(FIXTURES / "fox.pcm")
    assert open_audio(FIXTURES / "fox.pcm", sample_rate=16000).media_encoding == "pcm"
    with pytest.raises(AudioFormatError, match="cannot read"):
        open_audio(FIXTURES / "missing.wav")


@pytest.mark.parametrize(("encoding", "name"), [("pcm", "fox.pcm"), ("flac", "fox.flac"), ("ogg-opus", "fox.opus")])
async def test_async_byte_source_recuts_any_split(encoding: str, name: str) -> None:
    data = (FIXTURES / name).read_bytes()

    async def trickle() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 777):
            yield data[i : i + 777]

    chunks = await collect(AsyncByteSource(trickle(), media_encoding=encoding, sample_rate=16000))
    assert b"".join(c.data for c in chunks) == data
    assert sum(c.duration for c in chunks) == pytest.approx(FOX_SECONDS, abs=0.03)


def frame_starts(flac: bytes) -> list[int]:
    """Byte offsets of each frame of a FLAC file, found by the splitter."""
    from streaming.proto.containers import FlacSplitter

    splitter = FlacSplitter()
    frames = splitter.feed(flac) + splitter.finish()
    starts, at = [], len(splitter.metadata)
    for frame in frames:
        starts.append(at)
        at += len(frame.data)
    return starts


async def test_damage_part_way_gives_the_audio_before_it_and_says_where() -> None:
    real = (FIXTURES / "fox.flac").read_bytes()
    starts = frame_starts(real)
    middle = starts[len(starts) // 2]
    flac = bytearray(real)
    flac[middle + 20] ^= 0xFF  # inside the middle frame's audio: its CRC-16 fails
    source = FlacSource(bytes(flac))
    chunks = await collect(source)
    assert source.damage is not None and f"the FLAC frame at byte {middle} is damaged" in str(source.damage)
    sent = b"".join(c.data for c in chunks)
    assert sent == real[:middle]  # every frame before the damaged one, exactly, and nothing after
    assert sum(c.duration for c in chunks) == pytest.approx(FOX_SECONDS * (len(starts) // 2) / len(starts), abs=0.2)

    ogg = bytearray((FIXTURES / "fox.opus").read_bytes())
    ogg[len(ogg) // 2] ^= 0xFF
    opus = OggOpusSource(bytes(ogg))
    chunks = await collect(opus)
    assert opus.damage is not None and "is damaged (CRC mismatch)" in str(opus.damage)
    assert 0 < sum(c.duration for c in chunks) < FOX_SECONDS
    with pytest.raises(AudioFormatError, match="fLaC"):
        FlacSource(b"not flac at all")


@pytest.mark.parametrize("fraction", [0.3, 0.8, 0.99])
async def test_a_file_cut_short_gives_what_is_there_and_says_it_was_cut(fraction: float) -> None:
    """A recorder killed mid-file: the whole frames (pages) before the cut are audio."""
    real = (FIXTURES / "fox.flac").read_bytes()
    cut = real[: int(len(real) * fraction)]
    source = FlacSource(cut)
    chunks = await collect(source)
    last = max(start for start in frame_starts(real) if start <= len(cut))
    assert b"".join(c.data for c in chunks) == cut[:last]
    assert str(source.damage) == f"the FLAC audio is cut short: its last frame (at byte {last}) is incomplete"

    ogg = (FIXTURES / "fox.opus").read_bytes()
    opus = OggOpusSource(ogg[: int(len(ogg) * fraction)])
    chunks = await collect(opus)
    assert opus.damage is not None and str(opus.damage).startswith("the Ogg/Opus audio is cut short")
    assert 0 < sum(c.duration for c in chunks) < FOX_SECONDS


async def test_a_cut_stream_from_a_pipe_stops_reading_at_the_damage() -> None:
    real = (FIXTURES / "fox.flac").read_bytes()
    flac = bytearray(real)
    flac[len(flac) // 3] ^= 0xFF
    fed: list[int] = []

    async def pipe() -> AsyncIterator[bytes]:
        for start in range(0, len(flac), 1024):
            fed.append(start)
            yield bytes(flac[start : start + 1024])
        for _ in range(100):  # a live pipe that goes on: read only until the damage is certain
            fed.append(-1)
            yield bytes(65536)

    from streaming.proto.containers import MAX_FLAC_FRAME

    source = AsyncByteSource(pipe(), media_encoding="flac", sample_rate=16000)
    chunks = await collect(source)
    assert source.damage is not None and "damaged" in str(source.damage)
    assert chunks and fed.count(-1) <= MAX_FLAC_FRAME // 65536 + 1


def test_fake_flac_frame_headers_cost_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sync codes with a valid CRC-8 every few bytes used to re-hash the whole buffer each."""
    import streaming.proto.containers as containers

    real = (FIXTURES / "fox.flac").read_bytes()
    splitter = containers.FlacSplitter()
    splitter.feed(real[:8192])
    metadata = splitter.metadata
    frame = real[len(metadata) :]
    header = bytes(frame[: containers._header_length(frame, 0)])  # a genuine frame header, CRC-8 and all
    hostile = metadata + (header + bytes(10)) * 2000  # about 32 KiB of candidate frame starts
    hashed = {"bytes": 0}
    original = containers.crc16_flac

    def counting(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
        hashed["bytes"] += len(data)
        return original(data, crc)

    monkeypatch.setattr(containers, "crc16_flac", counting)
    splitter = containers.FlacSplitter()
    for start in range(0, len(hostile), 4096):
        splitter.feed(hostile[start : start + 4096])
    with pytest.raises(containers.ContainerError, match="is damaged \\(CRC-16\\)"):
        splitter.finish()
    assert hashed["bytes"] <= 2 * len(hostile)  # linear: each byte hashed about once


def test_a_flac_stream_without_frame_boundaries_is_refused_at_a_bound() -> None:
    from streaming.proto.containers import MAX_FLAC_FRAME, FlacSplitter

    real = (FIXTURES / "fox.flac").read_bytes()
    splitter = FlacSplitter()
    splitter.feed(real[:8192])
    frame = real[len(splitter.metadata) :]
    splitter = FlacSplitter()
    splitter.feed(real[: len(real) - len(frame)] + frame[:6])
    with pytest.raises(AudioFormatError, match="no valid frame follows it within"):
        for _ in range(MAX_FLAC_FRAME // 65536 + 2):
            splitter.feed(bytes(65536))  # no sync code ever again


# -- silence in the stream's own container, for a stalled live source -----------------------------


async def sent_with_a_stall(data: bytes, encoding: str, stall_seconds: float) -> tuple[bytes, float]:
    """The bytes a stream sends for ``data`` when its input stalls half-way and the pump
    fills the gap with ``source.silence(0.1)`` calls, and the seconds those chunks cover
    (the silence, and the frames that were waiting to fill a chunk)."""
    order: list[bytes] = []
    made = 0.0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal made
        yield data[: len(data) // 2]
        for _ in range(round(stall_seconds / 0.1)):  # stalled here, as the pump sees it
            filler = source.silence(0.1)
            if filler is not None:
                order.append(filler.data)
                made += filler.duration
        yield data[len(data) // 2 :]

    source = AsyncByteSource(stream(), media_encoding=encoding, sample_rate=16000)
    async for chunk in source:
        order.append(chunk.data)
    return b"".join(order), made


def decode_all(encoding: str, data: bytes) -> bytes:
    """Decoded by the endpoint's pipeline: PyAV (libavcodec's FLAC, libopus), our splitters' CRC checks."""
    from streaming.local.decoding import AudioPipeline

    pipeline = AudioPipeline(encoding, 16000)
    decoded = pipeline.feed(data)
    return decoded.channels[0] + pipeline.flush().channels[0]


async def test_flac_silence_is_exact_silence_and_later_frames_are_renumbered() -> None:
    data = (FIXTURES / "fox.flac").read_bytes()
    sent, _ = await sent_with_a_stall(data, "flac", 1.0)
    original, decoded = decode_all("flac", data), decode_all("flac", sent)
    gap = len(decoded) - len(original)
    # Ten calls while stalled: ten frames of the stream's own block size (at least 0.1 s each).
    assert gap >= 10 * 1600 * 2
    assert decoded.replace(bytes(gap), b"", 1) == original  # the same audio around a run of zeros
    # Every frame after the silence carries the next number: the stream is one sequence.
    from streaming.proto.containers import FlacSplitter, flac_frame_number

    splitter = FlacSplitter()
    frames = splitter.feed(sent) + splitter.finish()
    assert [flac_frame_number(f.data) for f in frames] == list(range(len(frames)))


async def test_ogg_opus_silence_is_a_page_of_empty_frames_and_later_pages_move_on() -> None:
    data = (FIXTURES / "fox.opus").read_bytes()
    sent, _ = await sent_with_a_stall(data, "ogg-opus", 1.0)
    original, decoded = decode_all("ogg-opus", data), decode_all("ogg-opus", sent)
    # Ten calls while stalled, five 20 ms packets each: 1 s more audio.
    assert len(decoded) - len(original) == pytest.approx(32000, abs=32000 * 0.03)
    splitter = OggPageSplitter()
    pages = splitter.feed(sent)  # every CRC checked
    sequences = [int.from_bytes(p.data[18:22], "little") for p in pages]
    assert sequences == list(range(len(pages)))
    granules = [p.granule for p in pages if p.granule > 0]
    assert granules == sorted(granules)


async def test_silence_cannot_be_made_before_the_first_frame() -> None:
    async def nothing() -> AsyncIterator[bytes]:
        return
        yield b""

    for encoding in ("flac", "ogg-opus"):
        assert AsyncByteSource(nothing(), media_encoding=encoding, sample_rate=16000).silence(0.1) is None


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("raise ImportError('no sounddevice here')", "pip install 'streamscribe[mic]'"),
        ("raise OSError('PortAudio library not found')", "sudo apt-get install libportaudio2"),
        (
            "class PortAudioError(Exception): pass\n"
            "def query_devices(device=None, kind=None):\n"
            "    raise PortAudioError('Error querying device -1')\n",
            "no microphone: the default input device is not available",
        ),
    ],
    ids=["no-sounddevice", "no-portaudio", "no-device"],
)
def test_a_missing_microphone_says_what_is_missing_before_any_stream(
    module: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streaming import MicrophoneSource
    from streaming.proto.errors import AudioSourceError

    (tmp_path / "sounddevice.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    with pytest.raises(AudioSourceError) as refused:
        MicrophoneSource()
    assert says in str(refused.value)
