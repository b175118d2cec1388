"""The datasheet's face measurements in one process vs several (issue 16: "compute the datasheet once", and use both cores).

    python bench/bench_datasheet.py [--corpus data/synmeld] [--workers 2]

`synth_datasheet.measure_faces` (dlib's HOG detector and landmarks on every 2nd frame of 150 clips, then 400 identity
embeddings: most of the datasheet's time) with the chain's sampling, first on `--workers` processes, then in this
one. Printed: both wall times, whether the two results are equal (every number), and the ratio.
"""
import argparse
import sys
import time

import _common


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/synmeld")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from facialmmt.synth_datasheet import measure_faces
    kw = dict(max_clips=150, frame_step=2, max_embed=400)       # the chain's datasheet sampling (`datasheet`'s defaults)
    print(_common.loadavg())
    res, secs = {}, {}
    for w in (a.workers, 1):
        t = time.perf_counter(); res[w] = measure_faces(a.corpus, workers=w, **kw); secs[w] = time.perf_counter() - t
        print(f"{w} worker(s): {secs[w]:.1f} s ({res[w]['clips']} clips, {res[w]['frames']} frames, "
              f"{res[w].get('embedded_faces')} faces embedded)")
    print(f"same numbers: {res[a.workers] == res[1]}; ratio 1 / {a.workers}: {secs[1] / secs[a.workers]:.2f}x; {_common.loadavg()}")


if __name__ == "__main__":
    sys.exit(main())
