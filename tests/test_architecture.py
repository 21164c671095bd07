"""Rules of the code base's shape: sans-I/O cores, pinned public names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import eventstream
import sigv4
import streaming

ROOT = Path(__file__).resolve().parent.parent
SANS_IO = ("eventstream", "sigv4")
FORBIDDEN_IMPORTS = {"asyncio", "h2", "websockets", "aiohttp", "socket", "ssl", "threading"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
# The one module allowed to read the environment and files (issue 3).
ENVIRONMENT_READER = ROOT / "sigv4" / "resolve.py"


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", [p for pkg in SANS_IO for p in sources(pkg)], ids=str)
def test_sans_io_cores_import_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    modules = imported_modules(tree)
    assert not modules & FORBIDDEN_IMPORTS
    if path != ENVIRONMENT_READER:
        assert "os" not in modules
        assert "subprocess" not in modules
        assert "configparser" not in modules


@pytest.mark.parametrize("path", [p for pkg in SANS_IO for p in sources(pkg)], ids=str)
def test_sans_io_cores_never_read_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"


def test_sigv4_all_is_pinned() -> None:
    assert set(sigv4.__all__) >= {
        "Credentials",
        "EventSigner",
        "presign_url",
        "resolve_credentials",
        "sign_headers",
        "signature_from_authorization",
        "signature_from_presigned_url",
        "verify_presigned_request",
        "verify_request",
        "ChunkVerifier",
        "VerificationError",
    }
    for name in sigv4.__all__:
        assert hasattr(sigv4, name), name


@pytest.mark.parametrize("package", [eventstream, sigv4, streaming])
def test_every_package_is_typed(package: object) -> None:
    assert (Path(package.__file__).parent / "py.typed").exists()  # type: ignore[attr-defined]
    assert isinstance(package.__all__, list)  # type: ignore[attr-defined]
