"""tools/seed_sweep.py --confirm: ten disjoint held-out triples, never a range already seen."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("seed_sweep", ROOT / "tools" / "seed_sweep.py")
seed_sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed_sweep)


def test_confirmation_draws_ten_disjoint_triples(tmp_path):
    seen = tmp_path / "seen.txt"
    seen.write_text("# comment\n0-11  # development\n101-112\n")
    seeds = seed_sweep.confirmation_seeds(200, seen)
    assert seeds == list(range(200, 230, 3))
    triples = [set(range(s, s + 3)) for s in seeds]
    assert len(set().union(*triples)) == 30  # disjoint


@pytest.mark.parametrize("start", [0, 9, 95, 110, 112])
def test_a_range_that_touches_seen_seeds_is_refused(tmp_path, start):
    seen = tmp_path / "seen.txt"
    seen.write_text("0-11\n101-112\n")
    with pytest.raises(ValueError, match="draw a fresh range"):
        seed_sweep.confirmation_seeds(start, seen)


def test_the_ledger_of_the_repository_parses_and_holds_the_development_seeds():
    ranges = seed_sweep.seen_ranges()
    assert (0, 11) in ranges and all(a <= b for a, b in ranges)


def test_again_reruns_only_a_recorded_confirmation(tmp_path):
    seen = tmp_path / "seen.txt"
    seen.write_text("0-11\n200-229  # --confirm, threads 1\n")
    assert seed_sweep.confirmation_seeds(200, seen, again=True)[:3] == [200, 203, 206]
    with pytest.raises(ValueError, match="recorded confirmation"):
        seed_sweep.confirmation_seeds(230, seen, again=True)
