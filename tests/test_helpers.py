from tests.helpers import word_error_rate


def test_word_error_rate() -> None:
    assert word_error_rate("the quick brown fox", "The quick brown fox.") == 0.0
    assert word_error_rate("the quick brown fox", "the quick fox") == 0.25
    assert word_error_rate("a b", "x y z") == 1.5
