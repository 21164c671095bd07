"""The two set-up commands, as a new user meets them on a bare machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_the_demo_needs_python_only(tmp_path: Path) -> None:
    plan = make("-n", "demo", f"VENV={tmp_path / 'venv'}")
    assert plan.returncode == 0, plan.stderr
    assert "pip install --quiet -e '.[local]'" in plan.stdout
    assert "npm" not in plan.stdout and ".[dev]" not in plan.stdout


def test_a_half_made_venv_is_rebuilt(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    result = make("venv", f"VENV={venv}", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert "has no working pip" in result.stdout and "rebuilding" in result.stdout
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], check=True, capture_output=True)


def test_a_python_without_venv_says_which_package_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text(
        "#!/bin/sh\n"
        '# Debian without python3-venv: "ensurepip is not available".\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then exit 1; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    fake.chmod(0o755)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "id").write_text("#!/bin/sh\necho 1000\n")  # not root: nothing is installed for us
    (shim / "id").chmod(0o755)
    result = make("venv", f"VENV={tmp_path / 'venv'}", f"PYTHON={fake}", env={"PATH": f"{shim}:{os.environ['PATH']}"})
    assert result.returncode != 0
    assert "install Debian's python3-venv (sudo apt-get install python3-venv)" in result.stderr
    assert not (tmp_path / "venv").exists()  # nothing half-made is left behind


def test_the_wheel_ships_its_data_without_setuptools_warnings(tmp_path: Path) -> None:
    import zipfile

    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-w", str(tmp_path), "-v"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "would be ignored" not in result.stdout + result.stderr
    [wheel] = tmp_path.glob("streamscribe-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"streaming/data/demo.flac", "streaming/local/page.html", "streaming/py.typed"} <= names
