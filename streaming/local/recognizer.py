"""Offline speech recognition for the local endpoint, with pocketsphinx (docs/interop.md section 1).

One :class:`ChannelRecognizer` per audio channel: a WebRTC-style endpointer cuts the audio
into utterances (segments), a pocketsphinx decoder transcribes each one. While a segment
grows it yields partial hypotheses; when it ends, the final words with their times (in
stream seconds) and posterior confidences. Decoders are expensive to load (~0.4 s of CPU,
~100 MiB), so they live in a process-wide pool and are reused by later streams.
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from .resources import VocabularyPhrase
from .voice import pitch

__all__ = [
    "DECODER_SETTINGS",
    "ChannelRecognizer",
    "DecoderPool",
    "NullRecognizer",
    "Recognizer",
    "Segment",
    "Word",
]

RATE: Final = 16000
FRAME_SECONDS: Final = 0.03  # the endpointer's frame
FRAME_BYTES: Final = int(RATE * FRAME_SECONDS) * 2
# A partial hypothesis every four frames (120 ms of audio), however the audio arrives: the
# same audio gives the same partials whether it comes in 100 ms pieces or all at once.
PARTIAL_FRAMES: Final = 4
PRE_ROLL_SECONDS: Final = 0.3  # without it, the endpointer clips word onsets
MAX_VOICE_BYTES: Final = RATE * 2 * 10  # an utterance's pitch is measured on its first 10 s


def _skip(word: str) -> bool:
    """Silence and fillers (``<sil>``, ``[SPEECH]``, ``[NOISE]``, ``++UH++``): never items."""
    return word.startswith(("<", "[", "+"))


# ARPAbet for the IPA symbols English vocabularies use (the service's IPA column).
_IPA: Final = {
    "ɑ": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɔ": "AO", "aʊ": "AW", "aɪ": "AY", "ɛ": "EH", "ɝ": "ER",  # noqa: RUF001
    "ɚ": "ER", "eɪ": "EY", "ɪ": "IH", "i": "IY", "oʊ": "OW", "ɔɪ": "OY", "ʊ": "UH", "u": "UW",  # noqa: RUF001
    "b": "B", "tʃ": "CH", "d": "D", "ð": "DH", "f": "F", "ɡ": "G", "g": "G", "h": "HH", "dʒ": "JH",  # noqa: RUF001
    "k": "K", "l": "L", "m": "M", "n": "N", "ŋ": "NG", "p": "P", "ɹ": "R", "r": "R", "s": "S",
    "ʃ": "SH", "t": "T", "θ": "TH", "v": "V", "w": "W", "j": "Y", "z": "Z", "ʒ": "ZH",
}  # fmt: skip


def pronunciations(lookup: Callable[[str], str | None], phrases: Iterable[VocabularyPhrase]) -> list[tuple[str, str]]:
    """The words a vocabulary adds to the recogniser's dictionary, with their phones.

    A phrase of several words becomes one hyphenated word (so it is decoded as a unit);
    its phones come from IPA, from SoundsLike syllables that are dictionary words, or from
    its own words. A phrase whose phones cannot be worked out is left to the dictionary.
    """
    added: list[tuple[str, str]] = []
    seen: set[str] = set()  # a set: a 20000-row vocabulary must not cost 20000 x 20000 comparisons
    for phrase in phrases:
        word = "-".join(w.lower() for w in phrase.words)
        if word in seen or lookup(word) is not None:
            continue  # the dictionary knows it already (pocketsphinx refuses to add it twice)
        if phrase.ipa:
            phones = [_IPA.get(p.strip("ˈˌː")) for p in phrase.ipa]
        elif phrase.sounds_like:
            phones = [lookup(piece) for piece in phrase.sounds_like]
        elif len(phrase.words) > 1:
            phones = [lookup(w.lower()) for w in phrase.words]
        else:
            continue  # a single dictionary word needs nothing; an unknown one cannot be said
        if phones and all(phones):
            added.append((word, " ".join(p for p in phones if p)))
            seen.add(word)
    return added


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float
    end: float
    confidence: float


@dataclass(slots=True)
class Segment:
    """One utterance's latest state: partial while it grows, final once when it ends."""

    segment_id: str
    channel: int
    start: float
    end: float
    words: list[Word] = field(default_factory=list)
    is_partial: bool = True
    pitch: float | None = None  # the voice's median pitch (Hz), on finals when asked for
    word_pitches: list[float | None] = field(default_factory=list)  # each word's, likewise
    heard: float = 0.0  # the audio time this state of the segment was taken at


class Recognizer(Protocol):
    def feed(self, pcm: bytes) -> list[Segment]: ...
    def finish(self) -> list[Segment]: ...
    def close(self) -> None: ...


class NullRecognizer:
    """``--engine none``: audio is decoded and counted, nothing is recognised."""

    def feed(self, pcm: bytes) -> list[Segment]:
        return []

    def finish(self) -> list[Segment]:
        return []

    def close(self) -> None:
        pass


DECODER_SETTINGS: Final[Mapping[str, Any]] = {}
"""pocketsphinx settings beyond its defaults: none. ``python -m benchmarks recognition``
measured the alternatives (README): wider beams gain ~2 points of WER for 2.3x the CPU,
the rest are worse on some speech."""


class DecoderPool:
    """pocketsphinx decoders, loaded on demand and reused across streams.

    A reused decoder starts with its feature state (cepstral mean and its running sums)
    reloaded from the configuration, exactly as a freshly loaded one: the same audio gives
    the same words, times and confidences whatever ran on that decoder before. Decoders
    that learnt a vocabulary's words are kept apart, by those words: another stream never
    hears them.

    Each decoder holds ~100 MiB, so idle ones are kept only up to a bound: ``max_idle``
    plain decoders, and ``max_idle_vocabulary`` vocabulary decoders in all (the least
    recently used vocabulary goes first). Decoders in use are bounded by the streams.
    """

    def __init__(
        self, *, max_idle: int = 4, max_idle_vocabulary: int = 2, settings: Mapping[str, Any] | None = None
    ) -> None:
        self._free: collections.OrderedDict[tuple[VocabularyPhrase, ...], list[Any]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.settings = dict(DECODER_SETTINGS if settings is None else settings)
        self.max_idle = max_idle
        self.max_idle_vocabulary = max_idle_vocabulary
        self.loaded = 0

    def acquire(self, phrases: tuple[VocabularyPhrase, ...] = ()) -> Any:
        """A decoder that knows ``phrases`` (give it back with the same phrases)."""
        with self._lock:
            free = self._free.get(phrases)
            if free:
                decoder = free.pop()
                if not free:
                    del self._free[phrases]
                decoder.reinit_feat()  # as loaded: nothing of earlier streams carries over
                return decoder
        from pocketsphinx import Decoder  # noqa: PLC0415 - the local extra

        decoder = Decoder(samprate=RATE, loglevel="FATAL", **self.settings)
        added = pronunciations(decoder.lookup_word, phrases)
        for i, (word, phones) in enumerate(added):
            decoder.add_word(word, phones, i == len(added) - 1)  # rebuild the search once, at the end
        with self._lock:
            self.loaded += 1
        return decoder

    def release(self, decoder: Any, phrases: tuple[VocabularyPhrase, ...] = ()) -> None:
        with self._lock:
            self._free.setdefault(phrases, []).append(decoder)
            self._free.move_to_end(phrases)
            while len(self._free.get((), ())) > self.max_idle:
                self._free[()].pop(0)
            while self.idle_vocabulary() > self.max_idle_vocabulary:
                oldest = next(key for key in self._free if key)
                self._free[oldest].pop(0)
                if not self._free[oldest]:
                    del self._free[oldest]

    def idle(self) -> int:
        """Decoders loaded and waiting for a stream."""
        return sum(len(free) for free in self._free.values())

    def idle_vocabulary(self) -> int:
        return sum(len(free) for key, free in self._free.items() if key)


_POOL: Final = DecoderPool()


def _clean(word: str) -> str:
    # Alternative pronunciations come back as "word(2)".
    return word.split("(", 1)[0]


class ChannelRecognizer:
    """Streaming recognition of one channel of 16 kHz s16le audio."""

    def __init__(
        self,
        channel: int = 0,
        *,
        pool: DecoderPool = _POOL,
        phrases: tuple[VocabularyPhrase, ...] = (),
        voices: bool = False,
    ) -> None:
        from pocketsphinx import Endpointer, Vad  # noqa: PLC0415

        self.channel = channel
        self._pool = pool
        self._phrases = phrases
        self._voices = voices  # measure each utterance's pitch (speaker labels)
        self._voice = bytearray()
        self._decoder = pool.acquire(phrases)
        self._endpointer = Endpointer(window=0.3, ratio=0.9, vad_mode=Vad.LOOSE, sample_rate=RATE)
        self._buffer = bytearray()
        self._frames_in = 0  # input frames consumed, for stream time
        self._history: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=40)
        self._segment: Segment | None = None
        self._utterance_start = 0.0
        self._onset = 0.0
        self._last_text = ""
        self._closed = False

    # -- input -------------------------------------------------------------------------------

    def feed(self, pcm: bytes) -> list[Segment]:
        """Add audio; return the segments that changed (partials, or a final)."""
        self._buffer += pcm
        updates: list[Segment] = []
        while len(self._buffer) >= FRAME_BYTES:
            frame = bytes(self._buffer[:FRAME_BYTES])
            del self._buffer[:FRAME_BYTES]
            updates += self._frame(frame)
            if self._frames_in % PARTIAL_FRAMES == 0:
                partial = self._partial()
                if partial is not None:
                    updates.append(partial)
        return updates

    def finish(self) -> list[Segment]:
        """End of audio: flush the endpointer and finalise the open segment."""
        updates: list[Segment] = []
        # end_stream() fails on an empty buffer (pocketsphinx 5.1); a short silent tail is harmless.
        tail = bytes(self._buffer) or bytes(FRAME_BYTES)
        speech = self._endpointer.end_stream(tail)
        self._buffer.clear()
        if speech:  # None, or no bytes at all (pocketsphinx's process_raw refuses an empty buffer)
            self._speech(speech)
        if self._segment is not None:
            updates.append(self._final())
        return updates

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._segment is not None:
                self._decoder.end_utt()
                self._segment = None
            self._pool.release(self._decoder, self._phrases)

    # -- internals ---------------------------------------------------------------------------

    def _frame(self, frame: bytes) -> Iterator[Segment]:
        start = self._frames_in * FRAME_SECONDS
        self._frames_in += 1
        self._history.append((start, frame))
        speech = self._endpointer.process(frame)
        if speech:
            self._speech(speech)
        if self._segment is not None and not self._endpointer.in_speech:
            yield self._final()

    def _speech(self, speech: bytes) -> None:
        if self._segment is None:
            onset = float(self._endpointer.speech_start)
            pre_roll = [f for t, f in self._history if onset - PRE_ROLL_SECONDS <= t < onset - 1e-6]
            self._utterance_start = onset - len(pre_roll) * FRAME_SECONDS
            self._onset = onset  # where the voice buffer starts
            self._decoder.start_utt()
            for frame in pre_roll:
                self._decoder.process_raw(frame, False, False)
            self._segment = Segment(str(uuid.uuid4()), self.channel, self._utterance_start, onset)
            self._last_text = ""
        self._decoder.process_raw(speech, False, False)
        if self._voices and len(self._voice) < MAX_VOICE_BYTES:
            self._voice += speech

    def _now(self) -> float:
        return self._frames_in * FRAME_SECONDS

    def _partial(self) -> Segment | None:
        segment = self._segment
        if segment is None:
            return None
        hyp = self._decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        if not text or text == self._last_text:
            return None
        self._last_text = text
        segment.words = self._partial_words(text.split())
        segment.end = max(segment.words[-1].end, segment.start) if segment.words else segment.start
        return _snapshot(segment, self._now())

    def _partial_words(self, texts: list[str]) -> list[Word]:
        """Words of a partial hypothesis; times from seg() where it has caught up, else spread."""
        timed = [
            (
                _clean(s.word),
                self._utterance_start + s.start_frame / 100,
                self._utterance_start + (s.end_frame + 1) / 100,
            )
            for s in self._decoder.seg()
            if not _skip(s.word)
        ]
        words: list[Word] = []
        for i, text in enumerate(texts):
            if i < len(timed) and timed[i][0] == text:
                words.append(Word(text, timed[i][1], timed[i][2], 0.0))
            else:
                break
        rest = texts[len(words) :]
        if rest:
            begin = words[-1].end if words else self._utterance_start + PRE_ROLL_SECONDS
            end = max(self._now() - 0.3, begin + 0.1 * len(rest))
            step = (end - begin) / len(rest)
            words += [Word(t, begin + k * step, begin + (k + 1) * step, 0.0) for k, t in enumerate(rest)]
        return words

    def _final(self) -> Segment:
        segment = self._segment
        assert segment is not None
        self._decoder.end_utt()
        self._decoder.get_prob()  # runs the lattice posterior: seg().prob becomes meaningful
        words = [
            Word(
                _clean(s.word),
                round(self._utterance_start + s.start_frame / 100, 3),
                round(self._utterance_start + (s.end_frame + 1) / 100, 3),
                round(min(max(float(s.prob), 0.0), 1.0), 4),
            )
            for s in self._decoder.seg()
            if not _skip(s.word)
        ]
        segment.words = words
        segment.is_partial = False
        if self._voices:
            voice = bytes(self._voice)
            segment.pitch = pitch(voice)
            # Each word's own pitch (its loudest frames only): where the voice changes inside
            # the segment. The voice buffer starts at the speech onset.
            onset = self._onset
            segment.word_pitches = [
                pitch(voice[max(round((w.start - onset) * RATE), 0) * 2 : round((w.end - onset) * RATE) * 2], frames=8)
                for w in words
            ]
            self._voice.clear()
        segment.end = words[-1].end if words else self._now()
        self._segment = None
        return _snapshot(segment, self._now())


def _snapshot(segment: Segment, heard: float) -> Segment:
    return Segment(
        segment.segment_id,
        segment.channel,
        segment.start,
        segment.end,
        list(segment.words),
        segment.is_partial,
        segment.pitch,
        list(segment.word_pitches),
        heard,
    )
