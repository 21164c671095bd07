"""The local endpoint's recogniser: real-time factor and recognising streams per core.

CPU seconds (this thread's) per second of audio, decoded and recognised as the endpoint
does it: the bundled 23 s recording as PCM and as FLAC, and the 4 s Ogg/Opus fixture.
One core carries about 1 / RTF recognising streams in real time.
"""

from __future__ import annotations

import time
from pathlib import Path

from streaming.data import DEMO_AUDIO
from streaming.local.decoding import AudioPipeline
from streaming.local.recognizer import ChannelRecognizer

from ._harness import calibration

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def _decode_demo() -> bytes:
    pipeline = AudioPipeline("flac", 16000)
    return pipeline.feed(DEMO_AUDIO.read_bytes()).channels[0] + pipeline.flush().channels[0]


def measure(encoding: str, data: bytes, chunk: int) -> tuple[float, float, int]:
    """(CPU seconds, audio seconds, final segments) for one stream of ``data``."""
    recognizer = ChannelRecognizer()
    pipeline = AudioPipeline(encoding, 16000)
    started = time.thread_time()
    audio = 0.0
    finals = 0
    for i in range(0, len(data), chunk):
        decoded = pipeline.feed(data[i : i + chunk])
        audio += decoded.seconds
        finals += sum(not s.is_partial for s in recognizer.feed(decoded.channels[0]))
    decoded = pipeline.flush()
    audio += decoded.seconds
    finals += sum(not s.is_partial for s in recognizer.feed(decoded.channels[0]))
    finals += sum(not s.is_partial for s in recognizer.finish())
    cpu = time.thread_time() - started
    recognizer.close()
    return cpu, audio, finals


def main() -> None:
    ChannelRecognizer().close()  # load a model outside the measurement
    cases = [
        ("demo, PCM 16 kHz", "pcm", _decode_demo(), 3200),
        ("demo, FLAC", "flac", DEMO_AUDIO.read_bytes(), 4096),
        ("fox, Ogg/Opus 24 kb/s", "ogg-opus", (FIXTURES / "fox.opus").read_bytes(), 1024),
    ]
    print("\n## local endpoint recognition (python -m benchmarks endpoint)\n")
    print(calibration())
    print("| audio | seconds | CPU s per audio s (RTF) | real-time streams per core | final segments |")
    print("|---|---|---|---|---|")
    for name, encoding, data, chunk in cases:
        cpu, audio, finals = measure(encoding, data, chunk)
        rtf = cpu / audio
        print(f"| {name} | {audio:.1f} | {rtf:.3f} | {1 / rtf:.1f} | {finals} |")
