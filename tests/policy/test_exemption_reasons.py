"""An exemption's reason must tell a reader why: words, not noise that passes a word count."""

import pytest

from failure_guards.exemptions import reason_problem


@pytest.mark.parametrize(
    "reason",
    ["aaaa bbbb", "zzz zzz zzz", "test test", "todo todo", "asdf qwerty", "ok ok", "skip ignore", "xx yy", "."],
)
def test_noise_is_not_a_reason(reason):
    assert "says nothing" in reason_problem(reason)


@pytest.mark.parametrize(
    "reason",
    ["vendor queue until migration", "legacy uploader for the vendor", "Zulieferer-Warteschlange bis Migration"],
)
def test_words_are_a_reason(reason):
    assert reason_problem(reason) == ""
