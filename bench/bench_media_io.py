"""Media IO speed: write_clip and read_frames on a 2 s 640x360 clip at 10 fps with 2 s of 16 kHz audio.

Run: python bench/bench_media_io.py [--reps 15]. Prints medians over interleaved repetitions (this machine is shared
and noisy), then the ratios last. Content: a moving gradient plus a 120x150 noise patch (seed 0), so the encoder
has real work to do.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from facialmmt.data import iter_frames, probe_clip, read_audio, read_frames, write_clip


def make_clip(T=20, H=360, W=640, seed=0):
    rng = np.random.default_rng(seed)
    fr = np.zeros((T, H, W, 3), np.uint8)
    yy, xx = np.mgrid[:H, :W]
    for i in range(T):
        fr[i, ..., 0] = (xx + 5 * i) % 256; fr[i, ..., 1] = (yy * 0.7).astype(np.uint8); fr[i, ..., 2] = 90
        fr[i, 120:240, 25 * i:25 * i + 150] = rng.integers(0, 256, (120, 150, 3))
    au = (0.3 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000)).astype(np.float32)
    return fr, au


def main(argv=None):
    ap = argparse.ArgumentParser(); ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args(argv)
    fr, au = make_clip()
    d = Path(tempfile.mkdtemp(prefix="bench_media_"))
    cases = {
        "write_clip veryfast (default)": lambda: write_clip(d / "a.mp4", fr, 10, au),
        "write_clip veryfast threads=1": lambda: write_clip(d / "b.mp4", fr, 10, au, threads=1),
        "write_clip ultrafast threads=1": lambda: write_clip(d / "c.mp4", fr, 10, au, preset="ultrafast", threads=1),
        "read_frames native 10 fps": lambda: read_frames(d / "a.mp4"),
        "read_frames fps=5": lambda: read_frames(d / "a.mp4", fps=5),
        "read_audio 16 kHz": lambda: read_audio(d / "a.mp4"),
        "probe_clip (demux check)": lambda: probe_clip(d / "a.mp4"),
    }
    for fn in cases.values(): fn()   # warm up, create files
    times = {k: [] for k in cases}
    for _ in range(a.reps):
        for k, fn in cases.items():
            t = time.perf_counter(); fn(); times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    for k, v in med.items(): print(f"{k:34s} {v:7.1f} ms")
    for n in "abc": print(f"size {n}.mp4: {(d / f'{n}.mp4').stat().st_size / 1024:.0f} KiB")
    n = sum(1 for _ in iter_frames(d / "a.mp4"))
    print(f"frames per clip: {n}; clip seconds written per second of write_clip: {2000 / med['write_clip veryfast (default)']:.1f}")
    print(f"ratio write/read (default): {med['write_clip veryfast (default)'] / med['read_frames native 10 fps']:.2f}; "
          f"ratio veryfast/ultrafast (threads=1): {med['write_clip veryfast threads=1'] / med['write_clip ultrafast threads=1']:.2f}")


if __name__ == "__main__":
    main()
