"""Telling voices apart on one channel, for speaker labels: pitch, and speakers by pitch.

The local recogniser has no speaker model. What it can measure honestly is a voice's
fundamental frequency: :func:`pitch` takes the median over an utterance's loudest voiced
frames, by autocorrelation (8 kHz, lags for 80-400 Hz). :class:`Speakers` gives an
utterance the label of the known voice within 20 % of its pitch, or a new label. Two
speakers of clearly different pitch (a typical man and woman) are told apart; two
similar voices are one speaker. Pure functions on bytes: no clock, no I/O.
"""

from __future__ import annotations

import math
import operator
from array import array
from dataclasses import dataclass, field
from typing import Final

__all__ = ["Speakers", "pitch"]

_RATE: Final = 8000  # after halving 16 kHz: plenty for 80-400 Hz
_FRAME: Final = 240  # 30 ms
_LAGS: Final = range(_RATE // 400, _RATE // 80 + 1)
_FRAMES: Final = 40  # the loudest frames looked at, at most (bounded work per utterance)
_VOICED: Final = 0.5  # normalised autocorrelation a voiced frame reaches
SAME_VOICE: Final = 0.2  # pitches within 20 % are one voice


def _correlation(frame: list[int], lag: int) -> float:
    """Normalised autocorrelation of ``frame`` at ``lag`` (1.0: the same shape, shifted)."""
    head, tail = frame[:-lag], frame[lag:]
    norm = math.sqrt(sum(map(operator.mul, head, head)) * sum(map(operator.mul, tail, tail)))
    return sum(map(operator.mul, head, tail)) / norm if norm else 0.0


def _frame_pitch(frame: list[int]) -> float | None:
    best, best_lag = max((_correlation(frame, lag), lag) for lag in _LAGS)
    if best < _VOICED:
        return None
    # The autocorrelation of a voiced frame also peaks at multiples of the period: prefer
    # the shortest lag that comes close to the best, or a voice reads an octave low.
    for divisor in (3, 2):
        lag = round(best_lag / divisor)
        if lag in _LAGS and _correlation(frame, lag) > 0.9 * best:
            return _RATE / lag
    return _RATE / best_lag


def pitch(pcm: bytes, *, frames: int = _FRAMES) -> float | None:
    """Median pitch (Hz) of 16 kHz s16le mono speech, or None when too little of it is voiced
    (``frames``: how many of its loudest 30 ms frames are looked at, at most)."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    halved = samples[::2]
    frames_of = [halved[i : i + _FRAME].tolist() for i in range(0, len(halved) - _FRAME + 1, _FRAME)]
    loudest = sorted(frames_of, key=lambda f: sum(map(abs, f)), reverse=True)[:frames]
    pitches = sorted(p for p in map(_frame_pitch, loudest) if p is not None)
    if len(pitches) < 3:
        return None
    return pitches[len(pitches) // 2]


def _same(a: float, b: float) -> bool:
    return abs(math.log(a / b)) <= math.log(1 + SAME_VOICE)


@dataclass(slots=True)
class Speakers:
    """Speaker labels by pitch, for one channel: "0", "1", ... in order of first appearance."""

    _voices: list[float] = field(default_factory=list)
    _last: str = "0"

    def labels(self, utterance: float | None, words: list[float | None]) -> list[str]:
        """A label per word. Runs of two or more words whose pitches agree (within 20 %) are
        one voice each, labelled in order of appearance; words in between, unvoiced or
        alone, belong to the run before them (or the first run). Without any run, every word
        has the utterance's voice."""
        runs: list[tuple[int, int, float]] = []
        i = 0
        while i < len(words):
            first = words[i]
            if first is None:
                i += 1
                continue
            j, heard = i + 1, [first]
            while j < len(words):
                hz = words[j]
                if hz is not None and not _same(hz, first):
                    break
                if hz is not None:
                    heard.append(hz)
                j += 1
            if len(heard) >= 2:
                runs.append((i, j, sorted(heard)[len(heard) // 2]))
            i = j
        if not runs:
            return [self.label(utterance)] * len(words)
        out = [""] * len(words)
        for start, end, hz in runs:
            out[start:end] = [self.label(hz)] * (end - start)
        current = out[runs[0][0]]
        for k, value in enumerate(out):
            current = value or current
            out[k] = current
        self._last = out[-1]
        return out

    def label(self, hz: float | None) -> str:
        if hz is None:
            return self._last  # unvoiced or too short: most likely whoever spoke last
        for i, known in enumerate(self._voices):
            if abs(math.log(hz / known)) <= math.log(1 + SAME_VOICE):
                self._last = str(i)
                return self._last
        self._voices.append(hz)
        self._last = str(len(self._voices) - 1)
        return self._last
