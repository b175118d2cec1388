"""Training runs side by side (issue 16): seeds and ablation rows are independent runs, which `runs.train_tasks`
trains `jobs` at a time in worker processes, each on `threads` torch threads. At equal `threads`, any `jobs` must give
exactly the numbers of one run after another in one process (only the epochs' wall-clock seconds may differ): same
seeds, data order and caches, and a worker's kept data (`_prepared_for`) must not carry anything from one run into the
next."""

import json

import pytest
import torch

from facialmmt.ablations import TABLE5, run_rows, row_config
from facialmmt.chain import CHAIN, make_context
from facialmmt.core import auto_jobs, get_config
from facialmmt.synth import ensure_corpus
from facialmmt.runs import pending_seeds
from facialmmt.train import run_experiment

ROWS = [r for r in TABLE5 if r.id in ("no_audio_vision", "no_text_vision")]    # text only, audio only: seconds each


def _numbers(m: dict) -> dict:
    return {k: ([{a: b for a, b in h.items() if a != "seconds"} for h in v] if k == "history" else v) for k, v in m.items()}


def test_runs_side_by_side_give_the_same_numbers(tmp_path):
    corpus, base, cache = ensure_corpus(preset="tiny", seed=0), get_config("tiny"), tmp_path / "cache"
    before = torch.get_num_threads()
    one = run_rows(ROWS, base, corpus, None, tmp_path / "one", [0, 1], cache, epochs=1, jobs=1, threads=1)
    assert torch.get_num_threads() == before                              # the thread count is restored after
    two = run_rows(ROWS, base, corpus, None, tmp_path / "two", [0, 1], cache, epochs=1, jobs=2, threads=1)
    assert list(two) == [r.id for r in ROWS]                             # row order kept
    for r in ROWS:
        assert two[r.id]["out_dir"] != one[r.id]["out_dir"]
        for s in ("0", "1"):
            assert _numbers(two[r.id]["per_seed"][s]) == _numbers(one[r.id]["per_seed"][s]), (r.id, s)
        assert two[r.id]["summary"] == one[r.id]["summary"]
        assert "± " in (tmp_path / "two" / r.id / "table2.md").read_text()   # the row's report, over both seeds
        cfg = row_config(base, r, 1)
        assert pending_seeds(cfg, corpus, None, tmp_path / "two" / r.id, [0, 1, 2]) == [2]   # finished seeds are reused

    # the seeds of one run_experiment side by side: the same numbers again
    cfg = row_config(base, ROWS[0], 1)
    res = run_experiment(cfg, corpus, None, tmp_path / "seeds", seeds=[0, 1], cache_dir=cache, progress=False, jobs=2, threads=1)
    for s in ("0", "1"):
        assert _numbers(res["per_seed"][s]) == _numbers(one[ROWS[0].id]["per_seed"][s]), s
    assert json.loads((tmp_path / "seeds" / "seed1" / "metrics.json").read_text())["seed"] == 1


def test_a_failing_row_stops_the_run_with_its_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_rows(ROWS, get_config("tiny"), tmp_path / "no_such_corpus", None, tmp_path / "out", [0], tmp_path / "c",
                 epochs=1, jobs=2, threads=1)


def test_the_chain_passes_jobs_and_threads_to_the_training_steps():
    steps = {s.name: s for s in CHAIN}
    ctx = make_context("tiny")
    assert ctx.jobs == auto_jobs("auto") >= 1 and ctx.threads == 1   # default: one run per core, one thread each
    for name in ("train", "ablations"):
        assert steps[name].params(ctx)["jobs"] == ctx.jobs and steps[name].params(ctx)["threads"] == 1
        assert steps[name].params(make_context("tiny", jobs=3, threads=None))["jobs"] == 3
