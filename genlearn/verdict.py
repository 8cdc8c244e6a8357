r"""Verdicts with uncertainty: does a claim hold over several seeds, or can the data not tell?

A comparative claim ("A's score is lower than B's") is measured on the same seeds for both
sides, which gives paired differences ``d_s = a_s - b_s``. With ``n`` seeds, mean ``dbar`` and
standard deviation ``s_d``, the two-sided ``1 - alpha`` confidence interval of the mean
difference is (Student's t)::

    dbar +- t_{1 - alpha/2, n - 1} s_d / sqrt(n)

The verdict is **HOLDS** when the whole interval lies on the claimed side of 0, **DOES NOT**
when it lies on the other side, and **INCONCLUSIVE** when it contains 0: the seeds cannot
decide at this budget, and the lesson says so rather than picking a side. ``effect`` is
``dbar`` in the score's units and ``relative`` is ``dbar / |mean b|``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from scipy import stats

__all__ = ["Verdict", "compare", "compare_adding_seeds", "run_by_run", "verdict_table", "column", "HOLDS", "DOES_NOT",
           "INCONCLUSIVE", "MEANING"]

HOLDS, DOES_NOT, INCONCLUSIVE = "HOLDS", "DOES NOT", "INCONCLUSIVE"
MEANING = ("HOLDS / DOES NOT: the 95 % interval of the mean of a - b lies wholly on the claimed / the other side of 0; "
           "INCONCLUSIVE: it contains 0, so these seeds cannot tell (not evidence that there is no difference)")
_explained = False  # the first table a process prints carries MEANING (one lesson = one kernel)


class Verdict(NamedTuple):
    """One claim's verdict (module docstring): ``low``, ``high`` bound the mean difference a - b."""

    claim: str
    verdict: str
    effect: float
    low: float
    high: float
    relative: float
    n: int

    def __str__(self) -> str:
        # a share of b is shown only where it means something: beside a b near 0 it explodes (+20000 %)
        rel = f"{self.relative:+.1%} of b, " if math.isfinite(self.relative) and abs(self.relative) <= 10 else ""
        return (f"{self.verdict:12s} {self.claim}: a - b = {self.effect:+.4g} "
                f"[{self.low:+.4g}, {self.high:+.4g}] ({rel}{self.n} seeds)")

    @property
    def holds(self) -> bool:
        return self.verdict == HOLDS

    @property
    def said(self) -> str:
        """The verdict as prose quotes it: ``**HOLDS** (a - b = -1.2, interval [-2.0, -0.4], 3 seeds)``."""
        return (f"**{self.verdict}** (a - b = {self.effect:+.3g}, interval [{self.low:+.3g}, {self.high:+.3g}], "
                f"{self.n} seeds)")


def compare(claim: str, a: Sequence[float], b: Sequence[float], better: str = "lower",
            alpha: float = 0.05) -> Verdict:
    """Verdict on "``a`` is ``better`` (``"lower"`` or ``"higher"``) than ``b``" from paired
    per-seed scores (same seeds, same order), at confidence ``1 - alpha``."""
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"a and b need the same number (>= 2) of paired per-seed scores, got {len(a)} and {len(b)}")
    if not all(math.isfinite(v) for v in a + b):
        raise ValueError("scores must be finite numbers")
    d = [x - y for x, y in zip(a, b, strict=True)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1))
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    good_side = high < 0 if better == "lower" else low > 0
    bad_side = low > 0 if better == "lower" else high < 0
    verdict = HOLDS if good_side else DOES_NOT if bad_side else INCONCLUSIVE
    ref = abs(sum(b) / n)
    return Verdict(claim, verdict, mean, low, high, mean / ref if ref > 0 else math.nan, n)


def verdict_table(verdicts: Sequence[Verdict], *, explain: bool | None = None) -> str:
    """The verdicts as a text table, one claim a line (what the lesson's prose quotes). The first
    table of a process ends with one line saying what the verdicts mean (:data:`MEANING`);
    ``explain=True`` / ``False`` forces it on / off."""
    global _explained
    lines = [str(v) for v in verdicts]
    if explain or (explain is None and not _explained):
        lines.append(f"({MEANING})")
        _explained = True
    return "\n".join(lines)


def compare_adding_seeds(claim: str, score: Callable[[int], tuple[float, float]], seeds: Sequence[int],
                         extra_seeds: Sequence[int], better: str = "lower", alpha: float = 0.05) -> Verdict:
    """A verdict that adds seeds while it is INCONCLUSIVE: ``score(seed)`` returns the pair ``(a, b)``
    for one seed; it is called on ``seeds``, then on ``extra_seeds`` one at a time, in order, while the
    verdict reads INCONCLUSIVE (as many as the lesson's time allows; pick them outside the seed range
    of other runs, so that held-out triples stay disjoint).

    Looking again after every added seed would make a false HOLDS likelier than ``alpha`` (optional
    stopping), so each of the ``L = len(extra_seeds) + 1`` possible looks is tested at ``alpha / L``
    (Bonferroni): the chance of any false verdict over all looks stays below ``alpha``, and the
    interval of the returned verdict is the ``1 - alpha / L`` one. Its ``n`` says how many seeds it took."""
    seeds, extra = [int(s) for s in seeds], [int(s) for s in extra_seeds]
    if len(seeds) < 2:
        raise ValueError(f"start with at least 2 seeds, got {seeds}")
    if set(seeds) & set(extra) or len(set(extra)) != len(extra):
        raise ValueError(f"extra_seeds must be new and distinct: seeds {seeds}, extra_seeds {extra}")
    looks = len(extra) + 1
    pairs = [score(s) for s in seeds]
    while True:
        verdict = compare(claim, [p[0] for p in pairs], [p[1] for p in pairs], better, alpha / looks)
        if verdict.verdict != INCONCLUSIVE or not extra:
            return verdict
        pairs.append(score(extra.pop(0)))


def run_by_run(statement: str, held: Iterable[bool], *, enforce: bool) -> int:
    """Print on how many runs ``statement`` held and return the count. With ``enforce`` it must hold on
    every run (an assert, raising ``AssertionError``); a lesson enforces a run-by-run statement only
    where it has the evidence for it (at least 20 runs, development and held-out seeds together), and
    elsewhere (the full scale's one base seed) prints the count."""
    held = [bool(h) for h in held]
    if not held:
        raise ValueError("run_by_run needs at least one run")
    count = sum(held)
    print(f"{statement}: held on {count} of {len(held)} runs" + ("" if enforce else " (printed, not asserted)"))
    if enforce and count < len(held):
        raise AssertionError(f"{statement!r} failed on {len(held) - count} of {len(held)} runs")
    return count


def column(rows: Iterable[Mapping[str, float]], key: str, *, log: bool = False) -> list[float]:
    """One score per seed from per-seed result rows, in their order: ``[row[key] for row in rows]``, or
    its natural logarithm (``log=True``: scores that change many-fold are compared as ratios; a value
    <= 0 is refused, never clipped). What :func:`compare` takes as ``a`` and ``b``."""
    values = [float(row[key]) for row in rows]
    if log:
        bad = [v for v in values if not v > 0]
        if bad:
            raise ValueError(f"log=True needs positive scores, {key!r} has {bad}")
        return [math.log(v) for v in values]
    return values
