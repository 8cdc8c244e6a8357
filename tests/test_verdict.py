"""genlearn.verdict: paired verdicts, the table's one-line legend, and the verdict that adds seeds."""

import math
import random

import pytest

import genlearn.verdict as verdict
from genlearn.verdict import (
    DOES_NOT,
    HOLDS,
    INCONCLUSIVE,
    MEANING,
    compare,
    compare_adding_seeds,
    run_by_run,
    verdict_table,
)


def test_compare_reads_the_three_verdicts_from_the_interval():
    assert compare("a lower", [1.0, 1.1, 0.9], [2.0, 2.1, 2.0]).verdict == HOLDS
    assert compare("a lower", [3.0, 3.1, 2.9], [2.0, 2.1, 2.0]).verdict == DOES_NOT
    assert compare("a lower", [1.0, 3.0, 2.0], [2.0, 2.0, 2.0]).verdict == INCONCLUSIVE
    assert compare("a higher", [3.0, 3.1, 2.9], [2.0, 2.1, 2.0], "higher").verdict == HOLDS


def test_compare_refuses_what_it_cannot_pair():
    with pytest.raises(ValueError, match="same number"):
        compare("x", [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        compare("x", [1.0, math.nan], [1.0, 2.0])


def test_the_first_table_of_a_process_says_what_the_verdicts_mean(monkeypatch):
    monkeypatch.setattr(verdict, "_explained", False)
    v = compare("a lower", [1.0, 1.1, 0.9], [2.0, 2.1, 2.0])
    first, second = verdict_table([v]), verdict_table([v])
    assert first.splitlines()[-1] == f"({MEANING})" and "INCONCLUSIVE" in MEANING
    assert second == str(v)  # once per lesson, not under every table
    assert verdict_table([v], explain=True).endswith(f"({MEANING})") and verdict_table([v], explain=False) == str(v)


def test_adding_seeds_stops_as_soon_as_the_verdict_is_decided():
    calls = []

    def score(seed):
        calls.append(seed)
        return 1.0 + 0.01 * seed, 2.0  # a clear difference: three seeds decide it
    v = compare_adding_seeds("a lower", score, [5, 6, 7], [8, 9])
    assert v.verdict == HOLDS and v.n == 3 and calls == [5, 6, 7]


def test_adding_seeds_adds_the_next_seeds_up_to_the_cap():
    rng = random.Random(0)
    calls = []

    def score(seed):  # no difference at all: INCONCLUSIVE at every look
        calls.append(seed)
        return rng.gauss(0, 1), rng.gauss(0, 1)
    v = compare_adding_seeds("a lower", score, [10, 11, 12], [1010, 1011, 1012])
    assert calls == [10, 11, 12, 1010, 1011, 1012] and v.n == 6 and v.verdict == INCONCLUSIVE


def test_adding_seeds_keeps_the_false_verdict_rate_below_alpha():
    """Optional stopping: with no true difference, a false HOLDS or DOES NOT over all looks stays under
    alpha (each look is tested at alpha / looks); testing every look at alpha would exceed it."""
    rng = random.Random(1)
    trials, wrong = 2000, 0
    for _ in range(trials):
        v = compare_adding_seeds("a lower", lambda s: (rng.gauss(0, 1), 0.0), [0, 1, 2], range(3, 10))
        wrong += v.verdict != INCONCLUSIVE
    assert wrong / trials < 0.05
    naive = 0
    for _ in range(trials):  # the same looks, each at alpha: the rate it would have without the correction
        d = [rng.gauss(0, 1) for _ in range(10)]
        naive += any(compare("x", d[:n], [0.0] * n).verdict != INCONCLUSIVE for n in range(3, 11))
    assert naive / trials > 0.1


def test_adding_seeds_refuses_seeds_it_has_already_used():
    with pytest.raises(ValueError, match="new and distinct"):
        compare_adding_seeds("x", lambda s: (0.0, 1.0), [0, 1, 2], [2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        compare_adding_seeds("x", lambda s: (0.0, 1.0), [0], [1, 2])


def test_the_sentence_a_lesson_quotes_carries_the_verdict_and_its_interval():
    v = compare("a lower", [1.0, 1.1, 0.9], [2.0, 2.1, 2.0])
    assert v.said.startswith("**HOLDS** (a - b = -1.03, interval [") and v.said.endswith("3 seeds)")


def test_run_by_run_prints_a_count_and_asserts_only_when_enforced(capsys):
    assert run_by_run("a below b", [True, False, True], enforce=False) == 2
    assert "held on 2 of 3 runs (printed, not asserted)" in capsys.readouterr().out
    assert run_by_run("a below b", [True, True], enforce=True) == 2
    with pytest.raises(AssertionError, match="failed on 1 of 3 runs"):
        run_by_run("a below b", [True, False, True], enforce=True)
    with pytest.raises(ValueError, match="at least one run"):
        run_by_run("a below b", [], enforce=True)


def test_a_share_of_b_is_not_printed_where_b_is_near_zero():
    assert "of b" in str(compare("a lower", [1.0, 1.1, 0.9], [2.0, 2.1, 2.0]))
    assert "of b" not in str(compare("a higher", [1.0, 1.1, 0.9], [0.001, 0.002, 0.001], "higher"))
