"""Helpers shared by the integration tests."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = ROOT / "tests" / "fixtures"
FOX_TEXT = (FIXTURES / "fox.txt").read_text().strip()
CHROMIUM_INSTALL = "sudo apt-get install chromium (make test installs it when run as root)"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance divided by the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(len(ref), 1)


def required_tool(name: str, why: str, install: str) -> str:
    """The path of a system tool a test needs. Where it is missing the test is skipped
    with the reason and the command that installs it, except in CI (``CI`` set, as
    ``make test`` runs there), where it must be present: there a missing tool fails."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{why} needs {name}, which is not installed: {install}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
