"""Every Python sample in the README and in docs/ runs (from the repository root, as a reader would)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SAMPLES = [(doc, sample) for doc in DOCS for sample in re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)]


def test_readme_has_the_samples_it_promises() -> None:
    assert sum(doc == README for doc, _ in SAMPLES) >= 4
    text = README.read_text()
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize(
    ("doc", "sample"), SAMPLES, ids=[f"{doc.relative_to(ROOT)}-{i}" for i, (doc, _) in enumerate(SAMPLES)]
)
def test_sample_runs(
    doc: Path, sample: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(sample, str(doc), "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    if "print(" in sample:
        assert out.strip(), "the sample printed nothing"
