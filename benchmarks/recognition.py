"""Recognition quality: word error rate and real-time factor of the local endpoint's
recogniser, for several pocketsphinx settings, on speech the project does not tune to.

The speech (none of it is a test fixture):

* ``librivox``: five read sentences from Debian's ``pocketsphinx-testdata``
  (``/usr/share/pocketsphinx/test/data/librivox``), real human speech;
* ``flite``: five sentences in four of Debian's flite voices (kal16, slt, rms, awb);
* ``8 kHz``: the same flite speech at telephone rate, through the endpoint's resampler.

Each clip goes through what a stream runs (``ChannelRecognizer``: the endpointer, then
pocketsphinx) and is scored against its text (words, lower case). WER is total errors
over total reference words; RTF is the process's CPU seconds per audio second. Missing
tools (``apt-get install flite sox pocketsphinx-testdata``) leave their rows out.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers import word_error_rate

from ._harness import calibration

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
TEXTS = (
    "please send the quarterly report to the finance team before friday",
    "my flight was delayed by three hours because of heavy snow",
    "can you help me reset the password for my online account",
    "the library opens at nine in the morning on weekdays",
    "we need two more chairs for the meeting in the large room",
)
VOICES = ("kal16", "slt", "rms", "awb")
SETTINGS: dict[str, dict[str, Any]] = {
    "pocketsphinx defaults": {},
    "wider beams": {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60},
    "narrower beams": {"beam": 1e-40, "wbeam": 1e-20, "pbeam": 1e-40},
    "language weight 8": {"lw": 8.0},
    "language weight 10": {"lw": 10.0},
    "no fwdflat pass": {"fwdflat": False},
    "pruned: maxhmmpf 10000": {"maxhmmpf": 10000},
}


def _librivox() -> list[tuple[str, bytes, str]]:
    if not LIBRIVOX.is_dir():
        return []
    clips = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        text, _, name = line.rpartition("(")
        words = text.replace("<s>", "").replace("</s>", "").split()
        wav = LIBRIVOX / f"{name.strip(') ')}.wav"
        clips.append(("librivox", wav.read_bytes()[44:], " ".join(words)))  # 16 kHz s16le mono WAV
    return clips


def _flite(rate: int) -> list[tuple[str, bytes, str]]:
    if not (shutil.which("flite") and shutil.which("sox")):
        return []
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in VOICES:
            for i, text in enumerate(TEXTS):
                wav = Path(tmp) / f"{voice}-{i}.wav"
                raw = Path(tmp) / f"{voice}-{i}.raw"
                subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(wav)], check=True, capture_output=True)
                subprocess.run(
                    ["sox", str(wav), "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed", str(raw)],
                    check=True,
                    capture_output=True,
                )
                clips.append(("flite" if rate == 16000 else "8 kHz", raw.read_bytes(), text))
    return clips


def _recognise(pool: Any, pcm: bytes, rate: int) -> str:
    from streaming.local.decoding import AudioPipeline
    from streaming.local.recognizer import ChannelRecognizer

    if rate != 16000:
        pipeline = AudioPipeline("pcm", rate)
        pcm = pipeline.feed(pcm).channels[0] + pipeline.flush().channels[0]
    recognizer = ChannelRecognizer(pool=pool)
    segments = []
    for i in range(0, len(pcm), 3200):
        segments += recognizer.feed(pcm[i : i + 3200])
    segments += recognizer.finish()
    recognizer.close()
    return " ".join(w.text for s in segments if not s.is_partial for w in s.words)


def main() -> None:
    corpora: dict[str, list[tuple[str, bytes, str]]] = {"librivox": _librivox(), "flite": [], "8 kHz": []}
    for name, pcm, text in _flite(16000) + _flite(8000):
        corpora[name].append((name, pcm, text))
    print("\n## recognition: word error rate and real-time factor (python -m benchmarks recognition)\n")
    print(calibration())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    sizes = ", ".join(f"{name} {len(clips)} clips" for name, clips in corpora.items())
    print(f"speech: {sizes}; RTF is CPU seconds per audio second\n")
    names = [name for name, clips in corpora.items() if clips]
    print("| settings | " + " | ".join(f"{n} WER" for n in names) + " | RTF |")
    print("|---|" + "---|" * (len(names) + 1))
    from streaming.local.recognizer import DecoderPool

    for label, settings in SETTINGS.items():
        cells = []
        cpu = audio = 0.0
        pool = DecoderPool(settings=settings)  # one decoder, loaded before timing starts
        pool.release(pool.acquire())
        for name in names:
            errors = words = 0.0
            for _, pcm, text in corpora[name]:
                rate = 8000 if name == "8 kHz" else 16000
                start = time.process_time()
                hypothesis = _recognise(pool, pcm, rate)
                cpu += time.process_time() - start
                audio += len(pcm) / (2 * rate)
                reference = len(text.split())
                errors += word_error_rate(text, hypothesis) * reference
                words += reference
            cells.append(f"{errors / words:.3f}")
        print(f"| {label} | " + " | ".join(cells) + f" | {cpu / audio:.3f} |")


if __name__ == "__main__":
    main()
