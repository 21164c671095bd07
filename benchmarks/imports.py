"""Start-up: what importing the package and running ``streamscribe --version`` cost.

Each command runs in a fresh interpreter ``IMPORTS_RUNS`` times (default 21); the table
gives the median wall time, beside the same commands run from an earlier checkout
(``IMPORTS_BEFORE_REF``, default the commit before the lazy package face, checked out in
a temporary git worktree) and a calibration line (``python -c pass``: the interpreter's
own start-up on this machine), so a reader can scale the figures to theirs.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ._harness import calibration

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REF = "147e614"  # the last commit with the eager streaming/__init__.py
COMMANDS = {
    "python -c pass (calibration)": ["-c", "pass"],
    "import streaming": ["-c", "import streaming"],
    # The stream core moved (streaming/core.py, now streaming/proto/core.py): whichever the tree has.
    "import the stream core (a pure module)": [
        "-c",
        "import importlib.util as u, importlib as i; "
        "i.import_module('streaming.proto.core' if u.find_spec('streaming.proto') else 'streaming.core')",
    ],
    "streamscribe --version": ["-m", "streaming.cli", "--version"],
}


def median_seconds(argv: list[str], cwd: Path, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, check=True)  # warm the cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def checkout(ref: str) -> Iterator[Path | None]:
    """A temporary git worktree of ``ref`` (None when this is not a git checkout)."""
    with tempfile.TemporaryDirectory(prefix="streamscribe-before-") as tmp:
        tree = Path(tmp) / "tree"
        made = subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, capture_output=True, check=False
        )
        if made.returncode != 0:
            yield None
            return
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True, check=False
            )


def main() -> None:
    runs = int(os.environ.get("IMPORTS_RUNS", "21"))
    ref = os.environ.get("IMPORTS_BEFORE_REF", BEFORE_REF)
    print("\n## start-up: median of fresh interpreters (python -m benchmarks imports)\n")
    print(calibration())
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {runs} runs each")
    with checkout(ref) as before:
        print(f"| {'command':<40} | {'now':>9} | {'before (' + ref + ')':>18} |")
        print("|" + "-" * 42 + "|" + "-" * 11 + "|" + "-" * 20 + "|")
        for label, argv in COMMANDS.items():
            now = median_seconds(argv, ROOT, runs)
            then = f"{median_seconds(argv, before, runs) * 1000:8.1f} ms" if before else "n/a"
            print(f"| {label:<40} | {now * 1000:6.1f} ms | {then:>18} |")


if __name__ == "__main__":
    main()
