"""How many faces of a track stage 1 must embed (issue 16): SynMELD stage-1 accuracy against `embed_max_per_track`.

    python bench/bench_embed_per_track.py [--corpus data/synmeld] [--ks 1,2,3,4,8] [--rules ends,mid] [--workers 2]

The identity ResNet is two thirds of stage 1's time, and its cost is linear in the faces embedded. One stage-1 pass 1
with every candidate face embedded (`embed_max_per_track=0`; kept in `<out>/all/_pass1`, resumable) gives every
count exactly: for each k the script keeps the faces `analyze_clip` would have embedded and blanks the rest (NaN, as
pass 1 writes them), then runs the real library build and pass 2 (`run_stage1`, pass 1 skipped) and scores the
sequences against SynMELD's ground truth (`evaluate_sequences`). The k = 8 row reproduces a real pass 1 at k = 8
exactly (checked against `data/stage1/synmeld` on 2026-12-01).

Two sampling rules per k, to see how much the answer depends on *which* faces are taken rather than how many:
`ends` is stage 1's rule (k evenly spaced faces, first and last included); `mid` takes the middle face of each of k
equal parts of the track (not used by stage 1; here only as a second draw).
"""
import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

import _common  # noqa: F401  (repository on sys.path)
from facialmmt.core import evenly_spaced, get_config, resolve_path
from facialmmt.matching import read_json
from facialmmt.stage1 import pass1_hash, run_stage1
from facialmmt.stage1_eval import evaluate_sequences


def keep_faces(n: int, k: int, rule: str) -> np.ndarray:
    "Positions (into a track's n faces) of the k faces embedded under `rule`."
    if k <= 0 or n <= k: return np.arange(n)
    if rule == "ends": return evenly_spaced(n, k)                                          # analyze_clip's rule
    if rule == "mid": return np.unique(((np.arange(k) + 0.5) * n / k).astype(int))
    raise ValueError(rule)


def subsample(all_dir: Path, out: Path, cfg, k: int, rule: str) -> int:
    "Write `out/_pass1` from the embed-everything pass 1, only the faces rule k would embed kept; faces embedded."
    n_emb = 0
    for js in sorted(all_dir.glob("*/*.json")):
        m = read_json(js); m["pass1_hash"] = pass1_hash(cfg)
        with np.load(js.with_suffix(".npz")) as z: a = {n: z[n] for n in z.files}
        tids, cand = a["track_ids"], a["candidate"].astype(bool)
        want = np.zeros(len(tids), bool)
        for t in np.unique(tids[cand]):
            idx = np.flatnonzero(cand & (tids == t)); want[idx[keep_faces(len(idx), k, rule)]] = True
        a["embeddings"] = np.where(want[:, None], a["embeddings"], np.nan).astype(np.float32); n_emb += int(want.sum())
        _common.write_pass1(out, js, m, a)
    return n_emb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--config", default="cpu")
    ap.add_argument("--out", default=None, help="work folder (default: data/stage1/<corpus>-embed-study)")
    ap.add_argument("--ks", default="1,2,3,4,8"); ap.add_argument("--rules", default="ends,mid")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    corpus = resolve_path(a.corpus); work = resolve_path(a.out or f"data/stage1/{corpus.name}-embed-study")
    s = run_stage1(corpus, work / "all", get_config(a.config, **{"stage1.embed_max_per_track": 0}), workers=a.workers)
    print(f"pass 1 with every candidate face embedded: {s['pass1']}; {_common.loadavg()}")
    n_clips = len(list((work / "all" / "_pass1").glob("*/*.json")))
    print("| rule | k | faces embedded per clip | final accuracy train / dev / test / all | lost / gained vs top rule (all) "
          "| speaker off screen left empty (all) |")
    print("|---|---|---|---|---|---|")
    for rule in a.rules.split(","):
        for k in [int(x) for x in a.ks.split(",")]:
            cfg = get_config(a.config, **{"stage1.embed_max_per_track": k})
            out = work / f"{rule}{k}"; shutil.rmtree(out, ignore_errors=True)
            n_emb = subsample(work / "all" / "_pass1", out, cfg, k, rule)
            r1 = run_stage1(corpus, out, cfg, workers=a.workers, progress=False)
            assert r1["pass1"]["computed"] == 0, f"pass 1 recomputed: {r1['pass1']}"
            r = evaluate_sequences(corpus, out); fv = r["final_vs_rules"]
            n = sum(fv[sp]["n_utterances"] for sp in ("train", "dev", "test"))
            acc = " / ".join(f"{fv[sp]['final_accuracy']:.4f}" for sp in ("train", "dev", "test", "all"))
            print(f"| {rule} | {k} | {n_emb / max(n_clips, 1):.2f} | {acc} "
                  f"| {fv['all']['lost']} / {fv['all']['gained']} | {r['off_screen']['all']['full']['empty']:.3f} |", flush=True)
            shutil.rmtree(out, ignore_errors=True)
    print(f"({n} on-screen utterances scored; {_common.loadavg()})")


if __name__ == "__main__":
    sys.exit(main())
