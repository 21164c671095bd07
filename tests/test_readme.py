"""Every Python sample in the README runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_samples() -> None:
    assert SAMPLES


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"sample-{i}" for i in range(len(SAMPLES))])
def test_readme_sample_runs(sample: str) -> None:
    exec(compile(sample, str(README), "exec"), {"__name__": "readme_sample"})
