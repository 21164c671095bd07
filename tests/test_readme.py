"""Every Python sample in the README runs (from the repository root, as a reader would)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_samples_it_promises() -> None:
    assert len(SAMPLES) >= 4
    text = README.read_text()
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"sample-{i}" for i in range(len(SAMPLES))])
def test_readme_sample_runs(sample: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(sample, str(README), "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    if "print(" in sample:
        assert out.strip(), "the sample printed nothing"
