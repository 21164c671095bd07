"""Every Python sample in the README and in docs/ runs (from the repository root, as a reader would)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FOX_TEXT, word_error_rate

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


# -- the shell commands ------------------------------------------------------------------------------

BLOCKS = [
    (doc, block)
    for doc in DOCS
    for block in re.findall(
        r"```(?:sh|bash|console)\n(.*?)```|((?:^    [^\n]*\n)+)", doc.read_text(), flags=re.S | re.M
    )
]
COMMANDS = sorted(
    {
        line.split("#", 1)[0].split(">", 1)[0].split("|")[-1].strip()
        for _, (fenced, indented) in BLOCKS
        for line in (fenced or indented).splitlines()
        if "streamscribe " in line.split("#", 1)[0] and line.strip().split()[0] in ("streamscribe", "arecord")
    }
)


def test_the_docs_show_commands_of_every_kind() -> None:
    kinds = {command.split()[1] for command in COMMANDS}
    assert {"transcribe", "serve", "job"} <= kinds, COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_documented_command_line_is_accepted(command: str) -> None:
    """Each command shown in README.md and docs/ parses: its flags and values exist."""
    from streaming.cli.parser import build_parser

    argv = shlex.split(command)[1:]
    args = build_parser().parse_args(argv)  # a flag or value that does not exist exits 252
    assert args.command == argv[0]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def run_session(lines: list[str], tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    """The README's lines run as written from the repository root, but for their fixed ports
    (mapped to free ones, the same way in every line) and ca.pem (in ``tmp_path``); the
    first line is the server, left running while the others run."""
    mapping = dict(
        zip(sorted({p for line in lines for p in re.findall(r"\b(8\d{3})\b", line)}), free_ports(4), strict=False)
    )

    def rewrite(line: str) -> list[str]:
        for old, new in mapping.items():
            line = re.sub(rf"\b{old}\b", str(new), line)
        return [str(tmp_path / "ca.pem") if arg == "ca.pem" else arg for arg in shlex.split(line)]

    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    cli = [sys.executable, "-m", "streaming.cli"]
    server = subprocess.Popen(
        [*cli, *rewrite(lines[0])[1:]], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        listening = server.stdout.readline()
        assert listening.startswith("listening"), server.stderr.read() if server.stderr else listening
        return [
            subprocess.run(
                [*cli, *rewrite(line)[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
            )
            for line in lines[1:]
        ]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_the_readmes_seeded_job_session_runs_as_written(tmp_path: Path) -> None:
    text = README.read_text()
    lines = [
        line
        for line in text.splitlines()
        if "--resources docs/examples/jobs.json" in line or "job get weekly-meeting --endpoint" in line
    ]
    assert len(lines) == 2
    (job,) = run_session(lines, tmp_path)
    assert job.returncode == 0, job.stderr
    assert job.stdout.startswith("weekly-meeting: QUEUED"), job.stdout  # the first step of its StatusSequence


def test_the_readmes_local_endpoint_session_runs_as_written(tmp_path: Path) -> None:
    text = README.read_text()
    lines = [line.strip() for line in text.splitlines() if "--ca-out ca.pem" in line or "--ca ca.pem" in line]
    lines = [line for line in lines if line.startswith("streamscribe")]
    assert len(lines) == 2
    (transcribed,) = run_session(lines, tmp_path)
    assert transcribed.returncode == 0, transcribed.stderr
    assert word_error_rate(FOX_TEXT, transcribed.stdout) <= 0.2
