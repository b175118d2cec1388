"""Ablation rows trained side by side (issue 16): `run_rows(..., jobs=2)` trains independent rows in two processes,
each with half the torch threads. At the same thread count it must give exactly the numbers of training the rows one
after another in one process (only the epochs' wall-clock seconds may differ): same seeds, data order and caches."""

import pytest
import torch

from facialmmt.ablations import TABLE5, run_rows
from facialmmt.chain import CHAIN, make_context
from facialmmt.core import get_config
from facialmmt.synth import ensure_corpus

ROWS = [r for r in TABLE5 if r.id in ("no_audio_vision", "no_text_vision")]    # text only, audio only: seconds each


def _numbers(m: dict) -> dict:
    return {k: ([{a: b for a, b in h.items() if a != "seconds"} for h in v] if k == "history" else v) for k, v in m.items()}


def test_rows_side_by_side_give_the_same_numbers(tmp_path):
    corpus, base, cache = ensure_corpus(preset="tiny", seed=0), get_config("tiny"), tmp_path / "cache"
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, before // 2))                           # the thread count each of 2 jobs gets
    try: one = run_rows(ROWS, base, corpus, None, tmp_path / "one", [0], cache, epochs=1, jobs=1)
    finally: torch.set_num_threads(before)
    two = run_rows(ROWS, base, corpus, None, tmp_path / "two", [0], cache, epochs=1, jobs=2)
    assert list(two) == [r.id for r in ROWS]                             # row order kept
    for r in ROWS:
        assert two[r.id]["out_dir"] != one[r.id]["out_dir"]
        assert _numbers(two[r.id]["per_seed"]["0"]) == _numbers(one[r.id]["per_seed"]["0"]), r.id


def test_a_failing_row_stops_the_run_with_its_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_rows(ROWS, get_config("tiny"), tmp_path / "no_such_corpus", None, tmp_path / "out", [0], tmp_path / "c",
                 epochs=1, jobs=2)


def test_the_chain_passes_jobs_to_the_ablation_step():
    step = next(s for s in CHAIN if s.name == "ablations")
    assert step.params(make_context("tiny"))["jobs"] == 1                 # default: the committed reports' way
    assert step.params(make_context("tiny", jobs=2))["jobs"] == 2
