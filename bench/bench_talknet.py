"""TalkNet (stage 1's ASD, `facialmmt.asd`) on one face track: seconds per video-second on this machine's device,
for tracks of 1, 3 and 10 s at 25 fps, with the authors' multi-window averaging (window lengths 1-6 s). Random
weights in the authors' checkpoint layout (the cost does not depend on the weights' values).

    python bench/bench_talknet.py [--device cpu|cuda] [--json OUT.json]
Ratio printed last: video-seconds scored per wall second (> 1 is faster than real time).
"""
import argparse, json, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facialmmt.asd import TalkNet, talknet_frame_scores


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seconds", default="1,3,10"); ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    net = TalkNet().eval().to(a.device)
    rng = np.random.default_rng(0)
    res = {"device": torch.cuda.get_device_name() if a.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
           "params_m": round(sum(p.numel() for p in net.parameters()) / 1e6, 2), "tracks": []}
    with torch.no_grad():
        talknet_frame_scores(net, rng.normal(size=(100, 13)).astype(np.float32), rng.integers(0, 255, (25, 112, 112), dtype=np.uint8))
        for s in map(float, a.seconds.split(",")):
            T = int(25 * s)
            mfcc, faces = rng.normal(size=(4 * T, 13)).astype(np.float32), rng.integers(0, 255, (T, 112, 112), dtype=np.uint8)
            if a.device == "cuda": torch.cuda.synchronize()
            t = time.perf_counter()
            out = talknet_frame_scores(net, mfcc, faces)
            if a.device == "cuda": torch.cuda.synchronize()
            dt = time.perf_counter() - t
            r = {"track_s": s, "frames": T, "wall_s": round(dt, 3), "video_s_per_wall_s": round(s / dt, 2), "scores": len(out)}
            res["tracks"].append(r); print("TRACK", json.dumps(r), flush=True)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    tot_v = sum(r["track_s"] for r in res["tracks"]); tot_w = sum(r["wall_s"] for r in res["tracks"])
    print(f"{res['device']}: {tot_v / tot_w:.2f} video-seconds per wall second over {tot_v:.0f} s of tracks")


if __name__ == "__main__":
    main()
