"""Stage 1 on real faces (issue 14): clips from `facialmmt.synth_real`, where Grace Hopper's portrait talks beside a
SynMELD-rendered head (or, `--other collins`, beside Eileen Collins' portrait) that moves its mouth out of sync (or
the other way round), through stage 1's pass 1 and pass 2 with no library, so the rules and the final choice decide.
`--cut N`: the camera cuts between the two every N frames instead of showing both (the speaker is then two tracks
that only the identity threshold can join, and the other person a track it must keep apart). Counts, per condition,
the clips whose top rule track and whose final sequence are the speaker's, whose final sequence holds every face of
the speaker, and the clips the final step lost or gained against the rules.

Conditions: the mover's movement relative to the speaker's (`--gains`: 1 = as much, 1.5 = a laugh), the photo's
widest mouth opening in pixels (`--gaps`: 16 = clear speech, 8 = a speaker who hardly opens the mouth), and how late
the mover's mouth follows the speech (`--lag` seconds; default half the clip, 2 s).

    python bench/bench_real_face.py [--seeds 6] [--gains 1,1.5] [--gaps 16,8] [--lag S] [--other head|collins] [--cut N]
                                    [--set stage1.KEY=VALUE ...] [--out bench/results/real_face.json]
"""
import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import _common  # noqa: F401  (repository on sys.path)
from facialmmt.core import get_config, override, parse_overrides
from facialmmt.faces import FaceAnalyzer
from facialmmt.stage1 import analyze_frames, finish_utterance
from facialmmt.synth_real import real_face_clip, track_sides


def one_clip(photo_speaks: bool, seed: int, gain: float, gap: float, cfg, fa, lag=None, other="head", cut=0) -> dict:
    c = real_face_clip(photo_speaks, seed, max_gap=gap, mover_gain=gain, analyzer=fa, mover_lag=lag, other=other, cut=cut)
    utt = SimpleNamespace(key=f"test/dia{seed}_utt{int(photo_speaks)}", split="test", speaker="Nobody", clip=None)
    meta, arrays = analyze_frames(utt, c["frames"], c["times"], c["audio"], c["sr"], cfg, analyzer=fa)
    side = track_sides(arrays, right=other)
    top = max(meta["tracks"], key=lambda t: t["rule_score"]) if meta["tracks"] else None
    contract, _ = finish_utterance(utt, meta, arrays, cfg, None)
    chosen = {side[t["track_id"]] for t in contract.get("candidates", []) if t.get("cluster") == contract.get("chosen_cluster")}
    return dict(seed=seed, speaker=c["speaker_side"], status=meta["status"], top_rule=side.get(top["track_id"]) if top else None,
                final=sorted(chosen), whole=contract.get("n_faces", {}).get("final") == c["speaker_frames"],
                rules={f'T{t["track_id"]} {side[t["track_id"]]}': {k: round(t[k], 3) for k in ("rule_score", "open_close", "movement", "av_sync")}
                       for t in meta["tracks"]})


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--gains", default="1,1.5"); ap.add_argument("--gaps", default="16,8")
    ap.add_argument("--lag", type=float, default=None, help="how late the mover's mouth follows the speech (s; default half the clip)")
    ap.add_argument("--other", default="head", choices=["head", "collins"], help="who sits on the right: a rendered head, or Eileen Collins' photo")
    ap.add_argument("--cut", type=int, default=0, help="> 0: cut between the two every N frames instead of showing both")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides, e.g. stage1.rule_weights=[1,1,2]")
    ap.add_argument("--out", default="bench/results/real_face.json")
    a = ap.parse_args(argv)
    cfg, fa = override(get_config("cpu"), **parse_overrides(a.set)), FaceAnalyzer(frame_model="thumb")
    rows, clips, t0, load0 = [], [], time.perf_counter(), _common.loadavg()
    print("| mover's movement | photo's widest opening | clips | top rule = speaker | final = speaker | ... with every face of the speaker | final lost / gained vs rules |")
    print("|---|---|---|---|---|---|---|")
    for gain in map(float, a.gains.split(",")):
        for gap in map(float, a.gaps.split(",")):
            rs = [one_clip(ps, s, gain, gap, cfg, fa, a.lag, a.other, a.cut) | dict(gain=gain, gap=gap) for s in range(a.seeds) for ps in (True, False)]
            top = sum(r["top_rule"] == r["speaker"] for r in rs); fin = sum(r["final"] == [r["speaker"]] for r in rs)
            whole = sum(r["final"] == [r["speaker"]] and r["whole"] for r in rs)
            lost = sum(r["top_rule"] == r["speaker"] and r["final"] != [r["speaker"]] for r in rs)
            gained = sum(r["top_rule"] != r["speaker"] and r["final"] == [r["speaker"]] for r in rs)
            row = dict(gain=gain, gap=gap, clips=len(rs), top_rule=top, final=fin, final_whole=whole, lost=lost, gained=gained)
            rows.append(row); clips += rs
            print(f"| {gain:g}x the speaker's | {gap:g} px | {len(rs)} | {top} | {fin} | {whole} | {lost} / {gained} |", flush=True)
    res = dict(rows=rows, clips=clips, config="cpu", overrides=a.set, mover_lag_s=a.lag, other=a.other, cut=a.cut, seconds=round(time.perf_counter() - t0, 1), load=f"{load0} -> {_common.loadavg()}")
    print(f"{len(clips)} clips in {res['seconds']} s; {res['load']}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
