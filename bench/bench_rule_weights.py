"""SynMELD stage-1 accuracy under other rule weights (issue 14), computed exactly from a finished stage 1's pass 1.

    python bench/bench_rule_weights.py [--corpus data/synmeld] [--stage1 data/stage1/synmeld] [--weights 1,1,1 1,1,2]

The fusion's weights (`stage1.rule_weights`: open-close count, mouth movement, audio-visual agreement) only re-weigh
diagnostics that pass 1 already stored per track, so pass 1 need not run again, except where a clip's candidate set
changes: its new candidate tracks need identity embeddings, so pass 1 runs again for those clips only. Each weight
setting gets its own stage-1 folder (`<stage1>-w<weights>`), then the real library build and pass 2 (`run_stage1`,
pass 1 skipped) and the evaluation against SynMELD's ground truth (`evaluate_sequences`). The row with the weights of
the finished run must reproduce its numbers exactly.
"""
import argparse
import json
import shutil
import sys
import time

import numpy as np

import _common  # noqa: F401  (repository on sys.path)
from facialmmt.core import get_config, resolve_path
from facialmmt.data import read_meld
from facialmmt.face_rules import TrackScore, fuse_scores
from facialmmt.stage1 import analyze_utterance, pass1_hash, run_stage1
from facialmmt.stage1_eval import evaluate_sequences

FIELDS = ("track_id", "n_faces", "open_close", "movement", "av_sync", "av_lag", "mouth_std", "asd")


def reweigh(src, out, corpus, cfg) -> list[str]:
    "Write `out/_pass1` from the finished pass 1 in `src`, its rule scores re-fused under `cfg`; returns the clips run again."
    utts = {u.key: u for s, us in read_meld(corpus, ["train", "dev", "test"]).items() for u in us}
    redo = []
    for js in sorted(src.glob("*/*.json")):
        m = json.loads(js.read_text())
        with np.load(js.with_suffix(".npz")) as z: a = {n: z[n] for n in z.files}
        if m.get("tracks"):
            ts = fuse_scores([TrackScore(**{k: t[k] for k in FIELDS}) for t in m["tracks"]], cfg.stage1)
            if any(t.is_candidate != o["is_candidate"] for t, o in zip(ts, m["tracks"])):
                redo.append(m["key"]); m, a = analyze_utterance(utts[m["key"]], cfg)
            else:
                for t, o in zip(ts, m["tracks"]): o["rule_score"] = t.rule_score
        m["pass1_hash"] = pass1_hash(cfg)
        _common.write_pass1(out, js, m, a)
    return redo


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--stage1", default="data/stage1/synmeld")
    ap.add_argument("--config", default="cpu"); ap.add_argument("--weights", nargs="+", default=["1,1,1", "1,1,2"])
    a = ap.parse_args(argv)
    corpus, s1 = resolve_path(a.corpus), resolve_path(a.stage1)
    print("| rule weights (r1, r2, r3) | pass 1 run again (clips) | final accuracy train / dev / test / all | top rule (all) "
          "| lost / gained vs top rule | speaker off screen left empty |")
    print("|---|---|---|---|---|---|")
    for w in a.weights:
        W = [float(x) for x in w.split(",")]
        cfg = get_config(a.config, **{"stage1.rule_weights": W})
        out = s1.with_name(f"{s1.name}-w{'-'.join(f'{x:g}' for x in W)}"); shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        redo = reweigh(s1 / "_pass1", out, corpus, cfg)
        r = run_stage1(corpus, out, cfg, workers=1, progress=False)
        assert r["pass1"]["computed"] == 0, f"pass 1 recomputed: {r['pass1']}"
        ev = evaluate_sequences(corpus, out); fv = ev["final_vs_rules"]
        acc = " / ".join(f"{fv[s]['final_accuracy']:.4f}" for s in ("train", "dev", "test", "all"))
        print(f"| {', '.join(f'{x:g}' for x in W)} | {len(redo)} | {acc} | {fv['all']['top_rule_accuracy']:.4f} "
              f"| {fv['all']['lost']} / {fv['all']['gained']} | {ev['off_screen']['all']['full']['empty']:.3f} |", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s; run again: {redo})", file=sys.stderr)
        shutil.rmtree(out, ignore_errors=True)
    print(f"({_common.loadavg()})")


if __name__ == "__main__":
    sys.exit(main())
