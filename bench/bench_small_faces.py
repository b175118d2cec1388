"""Detection recall on small faces (issue 14): SynMELD scenes rendered at MELD's frame size (1280x720) with the faces
scaled down to a wide shot's 40-80 px, detected by stage 1 (`analyze_clip`) with `upsample_small` off and on.

    python bench/bench_small_faces.py [--clips 12] [--frames 3] [--out bench/results/small_faces.json]
"""
import argparse, json, sys, time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facialmmt.core import get_config, override                                         # noqa: E402
from facialmmt.encoders import load_face_analyzer                                         # noqa: E402
from facialmmt.face_rules import analyze_clip                                             # noqa: E402
from facialmmt.synth import SYNTH_PRESETS, face_box, make_cast, match_boxes, plan_corpus, render_clip  # noqa: E402

def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=12); ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--width", type=float, nargs=2, default=(40, 80), help="face widths to draw (px)")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--out", default="bench/results/small_faces.json")
    a = ap.parse_args(argv)
    P = replace(SYNTH_PRESETS["tiny"], size=(1280, 720)); W, H = P.size
    plan = plan_corpus(SYNTH_PRESETS["tiny"], a.seed); cast = plan["cast"]; rng = np.random.default_rng(a.seed)
    base = get_config("cpu")
    res = {}
    for up_small in (0, 1):
        cfg = override(base, **{"stage1.upsample_small": up_small})
        fa = load_face_analyzer(cfg.encoders, cfg.stage1)
        res[up_small] = dict(gt=0, found=0, false=0, seconds=0.0, by_width=[])
    clips = []
    for u in plan["utterances"][: a.clips]:
        u = dict(u, n_frames=a.frames, faces=[dict(f) for f in u["faces"]])
        for f in u["faces"]:
            idt = cast[f["identity"]]; bw = face_box(idt)[2] - face_box(idt)[0]
            f["scale"] = float(rng.uniform(*a.width) / bw)              # a wide shot: faces 40-80 px wide
            f["x"] = float(f["x"] * W / 640); f["y"] = float(rng.uniform(0.3, 0.6) * H)
        clips.append(render_clip(u, cast, P))
    for up_small in (0, 1):
        cfg = override(base, **{"stage1.upsample_small": up_small})
        fa = load_face_analyzer(cfg.encoders, cfg.stage1); r = res[up_small]
        for frames, audio, gt in clips:
            t0 = time.perf_counter()
            cf = analyze_clip(frames, np.arange(len(frames)) / P.fps, audio, 16000, fa, cfg.stage1)
            r["seconds"] += time.perf_counter() - t0
            for t, gf in enumerate(gt["frames"]):
                gts = [g["box"] for g in gf]; dets = cf.boxes[cf.frame_idx == t].tolist()
                m = match_boxes(dets, gts); hit = {j for _, j, _ in m}
                r["gt"] += len(gts); r["found"] += len(m); r["false"] += len(dets) - len(m)
                r["by_width"] += [(float(g[2] - g[0]), j in hit) for j, g in enumerate(gts)]
    out = dict(frame_size=[W, H], clips=len(clips), frames_per_clip=a.frames, face_width_px=list(a.width), seed=a.seed,
               detector="dlib HOG (stage1.upsample = 0)", results={})
    for up_small, r in res.items():
        wd = np.array([w for w, _ in r["by_width"]]); hit = np.array([h for _, h in r["by_width"]])
        bins = {f"{lo}-{lo + 10}px": float(hit[(wd >= lo) & (wd < lo + 10)].mean()) for lo in range(30, 90, 10) if ((wd >= lo) & (wd < lo + 10)).any()}
        out["results"][f"upsample_small={up_small}"] = dict(gt_faces=r["gt"], recall=r["found"] / max(r["gt"], 1), false_detections=r["false"],
                                                            seconds_per_frame=r["seconds"] / (len(clips) * a.frames), recall_by_width=bins)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))

if __name__ == "__main__": main()
