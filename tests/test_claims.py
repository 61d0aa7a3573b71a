"""course.claims: a readable line when a claim holds, a note or an error when it does not."""

import numpy as np
import pytest

from course.claims import STRICT_ENV, ClaimFailed, claim, strict


def test_a_claim_that_holds_prints_a_tick(capsys, monkeypatch):
    monkeypatch.setenv(STRICT_ENV, "1")
    assert claim(np.float64(0.3) < 0.5, "the share stays under a half") is True
    assert capsys.readouterr().out == "✓ the share stays under a half\n"


def test_a_failed_claim_is_a_note_for_a_learner(capsys, monkeypatch):
    monkeypatch.delenv(STRICT_ENV, raising=False)
    assert claim(np.bool_(False), "recall rises") is False
    out = capsys.readouterr().out
    assert out.startswith("⚠") and "recall rises" in out


@pytest.mark.parametrize("value", ["1", "true", "yes", "strict"])
def test_strict_mode_raises(monkeypatch, value):
    monkeypatch.setenv(STRICT_ENV, value)
    assert strict()
    with pytest.raises(ClaimFailed, match="recall rises"):
        claim(False, "recall rises")


@pytest.mark.parametrize("value", ["", "0", "false", "no", "No"])
def test_strict_mode_off(monkeypatch, value):
    monkeypatch.setenv(STRICT_ENV, value)
    assert not strict()
    assert claim(0, "x") is False


def test_a_failed_claim_is_an_assertion_error(monkeypatch):
    # nbval and pytest report it like the asserts it replaces
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(AssertionError):
        claim(1 > 2, "one is more than two")


def test_an_array_of_several_values_is_refused():
    with pytest.raises(ValueError):
        claim(np.array([True, False]), "ambiguous")
