import pytest

from tests.helpers import word_error_rate


def test_word_error_rate() -> None:
    assert word_error_rate("the quick brown fox", "The quick brown fox.") == 0.0
    assert word_error_rate("the quick brown fox", "the quick fox") == 0.25
    assert word_error_rate("a b", "x y z") == 1.5


def test_a_missing_tool_is_a_skip_with_its_install_command_except_in_ci(monkeypatch) -> None:
    from tests.helpers import required_tool

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs no-such-tool, which is not installed: apt-get it"):
        required_tool("no-such-tool", "this test", "apt-get it")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs no-such-tool"):
        required_tool("no-such-tool", "this test", "apt-get it")
