"""Ablation runs one after another vs side by side (issue 16: "use both cores where rows are independent").

    python bench/bench_ablation_jobs.py [--corpus data/synmeld] [--config cpu] [--rows no_audio,no_vision,v_rules,v_final]
                                        [--seeds 0] [--epochs 3] [--jobs 2]

Both modes train the same rows and seeds into fresh folders, each mode in a fresh process, over the same (warm)
feature cache: one after another in one process on all cores' torch threads (`jobs=1, threads=None`: the chain's way
until 2026-12-02), and the chain's way since: every (row, seed) run in a pool of N worker processes on one torch
thread each (`jobs=N, threads=1`, `facialmmt.ablations.run_rows`, longest rows first). Printed: wall time of each
mode, each row's test weighted F1 in both, which metrics differ (the thread count is part of the arithmetic: losses
can differ in their last digits; at equal threads any `jobs` gives identical numbers, `tests/test_ablation_jobs.py`),
and the ratio. Needs the corpus's stage-1 outputs and a warm
feature cache, as `make reproduce` leaves them (a cold cache would charge the first mode for filling it: the script
fills it first, untimed, by preparing each row's inputs).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common


def selected_rows(a) -> list:
    from facialmmt.ablations import TABLE4, TABLE5
    return [r for r in TABLE5 + TABLE4 if r.id in a.rows.split(",")]


def one_mode(a) -> dict:
    "In the child: train the rows with `a.child_jobs` processes of `a.child_threads` threads; metrics and the wall time."
    from facialmmt.ablations import chain_config, run_rows
    t = time.perf_counter()
    res = run_rows(selected_rows(a), chain_config(a.config), Path(a.corpus), Path(a.stage1), Path(a.out), a.seed_list, a.cache,
                   epochs=a.epochs, jobs=a.child_jobs, threads=a.child_threads or None)
    return {"seconds": time.perf_counter() - t, "metrics": {k: v["per_seed"] for k, v in res.items()}}


def numbers(m):
    "A metrics record without its wall-clock fields (each epoch's `seconds`)."
    if isinstance(m, dict): return {k: numbers(v) for k, v in m.items() if k != "seconds"}
    if isinstance(m, list): return [numbers(v) for v in m]
    return m


def warm(a) -> None:
    "Fill the feature cache for every row's config (untimed), so neither mode pays for it."
    from facialmmt.ablations import chain_config, row_config
    from facialmmt.features import prepare_run
    for r in selected_rows(a):
        prepare_run(row_config(chain_config(a.config), r, a.epochs), Path(a.corpus), Path(a.stage1), a.cache, progress=False)


def differing(m: dict, m2: dict) -> str:
    "The fields that differ; in `history`, which per-epoch fields (e.g. train_loss in its last digits)."
    out = []
    for k in sorted(set(m) | set(m2)):
        if m.get(k) == m2.get(k): continue
        if k == "history" and len(m[k]) == len(m2[k]):
            fs = sorted({f for h, h2 in zip(m[k], m2[k]) for f in set(h) | set(h2) if h.get(f) != h2.get(f)})
            gap = max((abs(h[f] - h2[f]) for h, h2 in zip(m[k], m2[k]) for f in fs if isinstance(h.get(f), float)), default=0.0)
            out.append(f"history ({', '.join(fs)}; largest gap {gap:.2e})")
        else: out.append(k)
    return ", ".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--stage1", default=None)
    ap.add_argument("--config", default="cpu"); ap.add_argument("--rows", default="no_audio,no_vision,v_rules,v_final")
    ap.add_argument("--seeds", default="0"); ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2); ap.add_argument("--cache", default="data/cache/features")
    ap.add_argument("--child-jobs", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.corpus = str((_common.ROOT / a.corpus).resolve()); a.cache = str((_common.ROOT / a.cache).resolve())
    a.stage1 = str((_common.ROOT / (a.stage1 or f"data/stage1/{Path(a.corpus).name}")).resolve())
    a.seed_list = [int(s) for s in a.seeds.split(",")]
    if a.child_jobs is not None: return _common.emit(one_mode(a))
    print(f"rows {a.rows}, seeds {a.seeds}, {a.epochs} epochs, config {a.config}, corpus {a.corpus}; {_common.loadavg()}")
    warm(a)
    print(f"feature cache warm; {_common.loadavg()}")
    base = ["--corpus", a.corpus, "--stage1", a.stage1, "--config", a.config, "--rows", a.rows, "--seeds", a.seeds,
            "--epochs", a.epochs, "--cache", a.cache]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for jobs, threads in ((1, 0), (a.jobs, 1)):
            runs[jobs] = _common.run_child("bench_ablation_jobs.py", base + ["--child-jobs", jobs, "--child-threads", threads,
                                                                             "--out", f"{tmp}/jobs{jobs}"])
            print(f"jobs={jobs}, threads={threads or 'all'}: {runs[jobs]['seconds']:.1f} s wall; {_common.loadavg()}", flush=True)
    one, many = (numbers(runs[j]["metrics"]) for j in (1, a.jobs))
    for row, per_seed in one.items():
        for seed, m in per_seed.items():
            m2 = many[row][seed]
            print(f"  {row} seed {seed}: test weighted F1 {m['test']['weighted_f1']:.4f} (jobs=1) vs "
                  f"{m2['test']['weighted_f1']:.4f} (jobs={a.jobs}, 1 thread)" + ("" if m2 == m else "  <- differ: " + differing(m, m2)))
    same = one == many
    print(f"metrics identical in both modes (every row and seed; all but the epochs' wall-clock seconds): {same}")
    print(f"side by side ({a.jobs} processes, 1 thread each) vs one after another (all threads): "
          f"{runs[1]['seconds'] / runs[a.jobs]['seconds']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
