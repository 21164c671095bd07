"""Live captions in a terminal, and the other output formats of ``streamscribe transcribe``.

On a TTY the partial line updates in place (unstable words dimmed), final lines settle
above it, and a progress bar shows the audio sent. Anywhere else only final lines are
printed, one per line. ``jsonl`` writes every event as the SDKs show one
(``{"TranscriptEvent": {...}}``); ``json`` one document at the end (the session, the
whole transcript, every final result); ``srt`` and ``vtt`` write each cue as soon as its
words are final, so a file is valid at any moment (also after Ctrl-C).
Lines say who spoke (``AGENT:``, ``ch_0:``, ``spk_1:``) when the results say it. Text
from the service is stripped of control characters before it reaches a terminal.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from typing import Any, Final, TextIO

import msgspec

from ..proto.actions import StreamReconnected, StreamStats
from ..proto.captions import WEBVTT_HEADER, CaptionLine, LiveCaptions, srt_block, vtt_block
from ..proto.models import to_service_json

__all__ = ["CaptionPrinter"]

DIM: Final = "\x1b[2m"
BOLD: Final = "\x1b[1m"
RESET: Final = "\x1b[0m"
UP_AND_CLEAR: Final = "\x1b[{n}F\x1b[J"


class CaptionPrinter:
    """Writes a stream's events to ``out`` in one of the output modes."""

    def __init__(
        self,
        out: TextIO,
        *,
        mode: str = "text",
        total_seconds: float | None = None,
        tty: bool | None = None,
        status: TextIO | None = None,
    ) -> None:
        self.out = out
        self.mode = mode
        self.total = total_seconds
        self.tty = (out.isatty() if tty is None else tty) and mode == "text"
        self.status = status or sys.stderr
        self.captions = LiveCaptions()
        self._drawn = 0  # lines of the live block currently on screen
        self.words = 0
        self._cues = 0  # cues written so far (SubRip numbers them)
        self._results: list[Any] = []  # final results (json mode), in the service's shape
        self._categories: list[Any] = []
        self.ids: dict[str, str | None] = {}  # the stream's SessionId and RequestId, for json
        if mode == "vtt":
            out.write(WEBVTT_HEADER)
            out.flush()

    # -- events ------------------------------------------------------------------------------

    def event(self, event: Any, stats: StreamStats) -> None:
        if isinstance(event, StreamReconnected):
            self.note(f"(reconnected: {event.reason}; resuming at {event.offset:.1f} s)")
            return
        if self.mode in ("jsonl", "json") and isinstance(event, msgspec.Struct):
            # As the service writes it: optional fields that are not set are absent, not null.
            body = json.loads(to_service_json(event))
            if self.mode == "jsonl":  # the event-stream union, keyed by the event's name
                self.out.write(json.dumps({type(event).__name__: body}) + "\n")
                self.out.flush()
            else:
                self._collect(body)
        changed = self.captions.update(event)
        finals = [line for line in changed if line.is_final and line.text]
        self.words += sum(len(line.text.split()) for line in finals)
        if self.mode in ("srt", "vtt"):
            self._write_cues(finals)
            return
        if self.mode != "text":
            return
        if not self.tty:
            for line in finals:
                self.out.write(_labelled(line) + "\n")
            self.out.flush()
            return
        self._redraw(finals, stats)

    def _collect(self, body: dict[str, Any]) -> None:
        transcript = body.get("Transcript")
        if isinstance(transcript, dict):
            self._results += [r for r in transcript.get("Results", []) if not r.get("IsPartial")]
        elif "UtteranceId" in body and not body.get("IsPartial", True):
            self._results.append(body)
        elif "MatchedCategories" in body:
            self._categories.append(body)

    def _write_document(self, *, complete: bool) -> None:
        texts = [
            r.get("Transcript") or " ".join(a.get("Transcript", "") for a in r.get("Alternatives", [])[:1])
            for r in self._results
        ]
        document: dict[str, Any] = {
            **{k: v for k, v in self.ids.items() if v},
            "Complete": complete,
            "Transcript": " ".join(t for t in texts if t),
            "Results": self._results,
        }
        if self._categories:
            document["CategoryEvents"] = self._categories
        self.out.write(json.dumps(document, indent=2) + "\n")

    def _write_cues(self, finals: list[CaptionLine]) -> None:
        for line in finals:
            for cue in self.captions.cues_of(line):
                self._cues += 1
                self.out.write(srt_block(self._cues, cue) if self.mode == "srt" else vtt_block(cue))
        if finals:
            self.out.flush()

    def note(self, text: str) -> None:
        text = printable(text)
        if self.tty:
            self._clear()
            self.out.write(f"{DIM}{text}{RESET}\n")
        else:
            self.status.write(text + "\n")

    def _clear(self) -> None:
        if self._drawn:
            self.out.write(UP_AND_CLEAR.format(n=self._drawn))
            self._drawn = 0

    def _redraw(self, finals: list[Any], stats: StreamStats) -> None:
        width = max(shutil.get_terminal_size((80, 24)).columns, 20)
        self._clear()
        for line in finals:
            self.out.write(_labelled(line) + "\n")
        block = []
        for line in self.captions.pending[-1:]:
            stable, unstable = printable(line.stable), printable(line.unstable)
            if line.who:
                stable = f"{printable(line.who)}: {stable}".strip()
            visible = len(stable) + len(unstable) + 1
            if visible > width - 2:  # keep the newest words on screen
                cut = visible - (width - 5)
                joined = f"{stable} {unstable}"[cut:]
                stable, unstable = "", "..." + joined
            block.append(f"{stable} {DIM}{unstable}{RESET}".strip())
        block.append(self._progress(stats, width))
        self.out.write("\n".join(block) + "\n")
        self._drawn = len(block)
        self.out.flush()

    def _progress(self, stats: StreamStats, width: int) -> str:
        sent = stats.audio_seconds
        if self.total:
            bar_width = max(min(30, width - 30), 10)
            filled = round(bar_width * min(sent / self.total, 1.0))
            bar = "#" * filled + "." * (bar_width - filled)
            return f"{DIM}[{bar}] {sent:5.1f}/{self.total:.1f} s sent{RESET}"
        return f"{DIM}{sent:5.1f} s sent{RESET}"

    # -- the end -----------------------------------------------------------------------------

    def abandon(self) -> None:
        """The stream ended early (an error, Ctrl-C): what was recognised so far is kept.

        On a terminal the live block (partial line, progress bar) is cleared; the words of
        the pending partial are written as a line of their own, marked unfinished, so
        nothing heard is lost; files get them as a last line or cue.
        """
        if self.tty:
            self._clear()
        pending = [line for line in self.captions.pending if line.text]
        if self.mode == "text" and self.tty:
            for line in pending:
                self.out.write(_labelled(line) + f" {DIM}(unfinished){RESET}\n")
        elif self.mode == "text":  # off a terminal the output holds finals only: the rest is a note
            for line in pending:
                self.status.write(f"unfinished when the stream ended: {_labelled(line)}\n")
        elif self.mode in ("srt", "vtt"):
            self._write_cues(pending)
        elif self.mode == "json":
            self._write_document(complete=False)
        with contextlib.suppress(OSError, ValueError):
            self.out.flush()

    def finish(self, stats: StreamStats) -> None:
        if self.tty:
            self._clear()
        if self.mode == "json":
            self._write_document(complete=True)
        self.out.flush()
        if self.mode == "text":
            self.status.write(self.summary(stats) + "\n")
            self.status.flush()

    def summary(self, stats: StreamStats) -> str:
        parts = [f"{self.words} words", f"{stats.audio_seconds:.1f} s of audio"]
        if stats.latency_p50 is not None and stats.latency_p95 is not None:
            parts.append(
                f"final results {stats.latency_p50:.2f} s (p50) / {stats.latency_p95:.2f} s (p95) after the audio"
            )
        if stats.reconnects:
            parts.append(f"{stats.reconnects} reconnect(s)")
        text = "summary: " + ", ".join(parts)
        return f"{BOLD}{text}{RESET}" if self.tty else text


def printable(text: str) -> str:
    """``text`` without control characters (each a space): a peer's text (a transcript, a
    service error's message) must not drive the terminal."""
    return "".join(c if c.isprintable() else " " for c in text)


def _labelled(line: CaptionLine) -> str:
    text = printable(line.text)
    return f"{printable(line.who)}: {text}" if line.who else text
