"""SynMELD stage-1 accuracy under other settings of the rules (issue 14), computed exactly from a finished stage 1's pass 1.

    python bench/bench_rule_settings.py [--corpus data/synmeld] [--stage1 data/stage1/synmeld]
                                        [--rows "stage1.rule_weights=[1,1,1]" "stage1.av_max_trail=2" ...]

Each row is one or more `stage1.KEY=VALUE` overrides (separated by `;`) of the `--config` preset. The rules' settings
(`rule_weights`, the lag window `av_max_lag` / `av_max_trail`, `mouth_delta`, `av_min`, `candidate_margin`, ...) only
change what `score_tracks` makes of the landmarks, frame indices, tracks and audio energy that pass 1 stored, so pass 1
need not run again: every clip's tracks are scored again from its stored arrays, except where a clip's candidate set
changes: its new candidate tracks need identity embeddings, so pass 1 runs again for those clips only. Each row gets
its own stage-1 folder (`<stage1>-r<i>`), then the real library build and pass 2 (`run_stage1`, pass 1 skipped) and
the evaluation against SynMELD's ground truth (`evaluate_sequences`). A row with the settings of the finished run
must reproduce its numbers exactly (and its `pass 1 run again` is 0).
"""
import argparse
import json
import shutil
import sys
import time

import numpy as np

import _common  # noqa: F401  (repository on sys.path)
from facialmmt.core import get_config, parse_overrides, resolve_path
from facialmmt.data import read_meld
from facialmmt.face_rules import score_tracks
from facialmmt.stage1 import analyze_utterance, pass1_hash, run_stage1
from facialmmt.stage1_eval import evaluate_sequences


def rescore(src, out, corpus, cfg) -> list[str]:
    "Write `out/_pass1` from the finished pass 1 in `src`, every clip's tracks scored again under `cfg`; returns the clips run again."
    utts = {u.key: u for s, us in read_meld(corpus, ["train", "dev", "test"]).items() for u in us}
    redo = []
    for js in sorted(src.glob("*/*.json")):
        m = json.loads(js.read_text())
        with np.load(js.with_suffix(".npz")) as z: a = {n: z[n] for n in z.files}
        if m.get("tracks"):
            if any(t.get("asd") is not None for t in m["tracks"]):   # TalkNet's per-frame scores are not stored: rescoring would drop them
                raise SystemExit(f"{js}: pass 1 ran with an active-speaker scorer; its scores are not stored, so this bench cannot rescore it")
            ts = score_tracks(a["landmarks"], a["face_frame"], a["track_ids"], a["energy"], cfg.stage1)
            if any(t.is_candidate != o["is_candidate"] for t, o in zip(ts, m["tracks"])):
                redo.append(m["key"]); m, a = analyze_utterance(utts[m["key"]], cfg)
            else:
                m["tracks"] = [o | t.to_dict() for t, o in zip(ts, m["tracks"])]
        m["pass1_hash"] = pass1_hash(cfg)
        _common.write_pass1(out, js, m, a)
    return redo


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--stage1", default="data/stage1/synmeld")
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--rows", nargs="+", default=["stage1.av_max_trail=2", "stage1.av_max_trail=0"],
                    help="one row per item: stage1 overrides separated by ';'")
    a = ap.parse_args(argv)
    corpus, s1 = resolve_path(a.corpus), resolve_path(a.stage1)
    if any(get_config(a.config, **parse_overrides([r for r in row.split(";") if r.strip()])).stage1.use_asd for row in a.rows):
        raise SystemExit("a row sets stage1.use_asd: TalkNet's scores come from pass 1, which this bench does not run again")
    print("| settings | pass 1 run again (clips) | final accuracy train / dev / test / all | top rule (all) "
          "| lost / gained vs top rule | speaker off screen left empty |")
    print("|---|---|---|---|---|---|")
    for i, row in enumerate(a.rows):
        cfg = get_config(a.config, **parse_overrides([r for r in row.split(";") if r.strip()]))
        out = s1.with_name(f"{s1.name}-r{i}"); shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        redo = rescore(s1 / "_pass1", out, corpus, cfg)
        r = run_stage1(corpus, out, cfg, workers=1, progress=False)
        assert r["pass1"]["computed"] == 0, f"pass 1 recomputed: {r['pass1']}"
        ev = evaluate_sequences(corpus, out); fv = ev["final_vs_rules"]
        acc = " / ".join(f"{fv[s]['final_accuracy']:.4f}" for s in ("train", "dev", "test", "all"))
        print(f"| {row} | {len(redo)} | {acc} | {fv['all']['top_rule_accuracy']:.4f} "
              f"| {fv['all']['lost']} / {fv['all']['gained']} | {ev['off_screen']['all']['full']['empty']:.3f} |", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s; run again: {redo})", file=sys.stderr)
        shutil.rmtree(out, ignore_errors=True)
    print(f"({_common.loadavg()})")


if __name__ == "__main__":
    sys.exit(main())
