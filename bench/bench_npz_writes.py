"""Stage 1's npz writes at different zlib levels, side by side on the same arrays: ms to write a file (atomically, as
`facialmmt.matching.save_npz` does), ms to read it back with `np.load`, and its size. Level 6 is what
`np.savez_compressed` uses (zlib's default); `save_npz` writes level 1 (issue 16: the writes were 10-15 % of stage 1).

    python bench/bench_npz_writes.py [--stage1 data/stage1/synmeld] [--n 40] [--levels 6,1,0]

The arrays are those of `--n` pass-1 cache files (`_pass1/*.npz`: every detected face's crop, landmarks, embeddings)
and `--n` pass-2 contract files of the test split, loaded once; every level writes all of them into a temp folder.
"""
import argparse
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (repository on sys.path)
import numpy as np

from facialmmt.core import resolve_path
from facialmmt.matching import save_npz


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")     # embeddings of faces too small to embed are NaN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage1", default="data/stage1/synmeld"); ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--levels", default="6,1,0")
    a = ap.parse_args()
    root = resolve_path(a.stage1)
    files = sorted((root / "_pass1").glob("*.npz"))[:a.n] + sorted((root / "test").glob("*.npz"))[:a.n]
    if not files: raise SystemExit(f"no stage-1 npz files under {root}: run stage 1 first (`facialmmt extract` or make reproduce)")
    data = []
    for f in files:
        with np.load(f) as z: data.append({k: z[k] for k in z.files})
    raw = sum(v.nbytes for d in data for v in d.values()) / len(data)
    print(f"{len(data)} stage-1 npz files of {root} ({raw / 1e6:.2f} MB of arrays a file); {_common.loadavg()}")
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for level in (int(x) for x in a.levels.split(",")):
            paths = [Path(d) / f"{level}_{i}.npz" for i in range(len(data))]
            t = time.perf_counter()
            for p, arrays in zip(paths, data): save_npz(p, arrays, level=level)
            w = (time.perf_counter() - t) / len(data)
            t = time.perf_counter()
            for p, arrays in zip(paths, data):
                with np.load(p) as z: assert all(_same(z[k], v) for k, v in arrays.items()), p
            r = (time.perf_counter() - t) / len(data)
            rows[level] = (w, r, sum(p.stat().st_size for p in paths) / len(data))
    first = next(iter(rows))
    print(f"\n| zlib level | write ms a file | read ms a file | MB a file | write time vs level {first} | size vs level {first} |")
    print("|---|---|---|---|---|---|")
    for level, (w, r, size) in rows.items():
        print(f"| {level} | {1e3 * w:.1f} | {1e3 * r:.1f} | {size / 1e6:.2f} | **{rows[first][0] / w:.2f}×** faster | {size / rows[first][2]:.2f}× |")
    print(f"\n{_common.loadavg()}")


if __name__ == "__main__":
    main()
