"""A tiny timing harness: best-of-N per-call times, printed as a table with ratios."""

from __future__ import annotations

import resource
import timeit
from collections.abc import Callable
from dataclasses import dataclass

FRAME_SECONDS = 0.1  # every benchmark's audio frame: 100 ms


def cpu_seconds() -> float:
    """CPU seconds (user and system) of this whole process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Row:
    case: str
    name: str
    seconds: float | None  # per operation; None when the peer is not installed
    note: str = ""


def per_call(fn: Callable[[], object], *, repeat: int = 7, min_time: float = 0.2) -> float:
    """Best per-call time over ``repeat`` runs of at least ``min_time`` seconds each."""
    timer = timeit.Timer(fn)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_time / elapsed * 1.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number


def print_table(title: str, rows: list[Row], *, baseline: str = "streamscribe") -> None:
    """Print rows grouped by case, each with its ratio to the case's ``baseline`` row."""
    print(f"\n## {title}\n")
    print(calibration() + "\n")
    header = f"| {'case':<46} | {'implementation':<36} | {'us/op':>9} | {'vs ours':>8} | note"
    print(header)
    print("|" + "-" * 48 + "|" + "-" * 38 + "|" + "-" * 11 + "|" + "-" * 10 + "|------")
    ours = {row.case: row.seconds for row in rows if row.name == baseline}
    for row in rows:
        base = ours.get(row.case)
        if row.seconds is None:
            us, ratio = "n/a", ""
        else:
            us = f"{row.seconds * 1e6:9.2f}"
            ratio = f"{row.seconds / base:7.2f}x" if base else ""
        print(f"| {row.case:<46} | {row.name:<36} | {us:>9} | {ratio:>8} | {row.note}")


def verdict(label: str, ratio: float, target: float) -> str:
    status = "met" if ratio >= target else "MISSED"
    return f"{label}: {ratio:.2f}x (target >= {target}x) {status}"


_CALIBRATION: list[str] = []


def calibration() -> str:
    """One line that relates this machine to the reader's: Python, the CPU model, and the time
    of a fixed reference workload (SHA-256 of 16 MiB plus one million pure-Python additions,
    best of 5), measured once per process."""
    if not _CALIBRATION:
        import hashlib
        import platform
        import time

        data = bytes(16 * 1024 * 1024)

        def reference() -> float:
            start = time.perf_counter()
            hashlib.sha256(data).digest()
            total = 0
            for i in range(1_000_000):
                total += i
            return time.perf_counter() - start

        best = min(reference() for _ in range(5))
        model = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as info:
                model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
        except OSError:
            pass
        _CALIBRATION.append(
            f"calibration: Python {platform.python_version()} on {model}, reference workload {best * 1000:.1f} ms"
        )
    return _CALIBRATION[0]
