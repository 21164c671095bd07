"""How an endpoint stream ends: every transition of its lifecycle, without a socket."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from streaming.local.lifecycle import OPEN, StreamLifecycle
from tests.helpers import ROOT

ENDINGS: list[tuple[str, Callable[[StreamLifecycle], bool], str]] = [
    ("completed", lambda s: s.completed(), "completed"),
    ("failed", lambda s: s.failed("BadRequestException"), "BadRequestException"),
    ("reset by client", lambda s: s.reset_by_client(), "reset by client"),
    ("scripted reset", lambda s: s.scripted_reset("tcp"), "reset by a scripted fault (tcp)"),
    ("connection lost", lambda s: s.connection_lost(), "connection lost"),
    ("shut down", lambda s: s.shut_down(), "ended by server shutdown"),
    ("released", lambda s: s.released(), "client went away"),
]


def test_a_stream_is_open_until_it_ends() -> None:
    lifecycle = StreamLifecycle()
    assert lifecycle.outcome == OPEN and lifecycle.is_open


@pytest.mark.parametrize(("first", "end_first", "outcome"), ENDINGS, ids=[e[0] for e in ENDINGS])
@pytest.mark.parametrize(("then", "end_then", "_"), ENDINGS, ids=[e[0] for e in ENDINGS])
def test_the_first_ending_is_the_one_recorded(
    first: str, end_first: Callable[[StreamLifecycle], bool], outcome: str,
    then: str, end_then: Callable[[StreamLifecycle], bool], _: str,
) -> None:  # fmt: skip
    lifecycle = StreamLifecycle()
    assert end_first(lifecycle) is True
    assert lifecycle.outcome == outcome and not lifecycle.is_open
    assert end_then(lifecycle) is False  # every later report changes nothing
    assert lifecycle.outcome == outcome


def test_the_outcome_is_written_in_one_module() -> None:
    import ast

    root = ROOT / "streaming" / "local"
    writers = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Attribute) and t.attr == "outcome" for t in targets):
                writers.add(path.name)
    assert writers == {"lifecycle.py"}
