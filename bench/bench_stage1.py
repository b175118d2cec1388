"""Stage-1 speed on SynMELD: clips/min with 1 worker vs. N worker processes (default: all cores), time per second of
video, where the time goes (a per-phase profile) and the peak RSS of each worker. One run, the same clips for every
setting; the N-workers / 1-worker throughput ratio is printed last.

    python bench/bench_stage1.py [--corpus data/synmeld] [--split test] [--n 16] [--workers 2] [--config cpu] [--vs KEY=VALUE]
                                 [--vs-python OTHER_VENV/bin/python] [--vs-engine dlib] [--frame-size 1280x720]

Each clip runs both passes exactly as `facialmmt.stage1.run_stage1` runs them (`pass1_job`: decode, detect,
landmarks, tracks and rules, identity embeddings, pass-1 cache write; `pass2_job`: clustering, matching, contract
files) through the same job runner (`run_jobs`: in-process for 1 worker, joblib/loky processes for more), into a
fresh temp folder. N workers run twice: cold (process start-up, imports and dlib model loading included) and warm
(loky's reusable executor keeps the started workers: the steady state of a long run). The face library is the corpus' existing one
(`data/stage1/<corpus>/library`) when there is one, else none (then the largest cluster is chosen).

`--vs-engine dlib` times 1 worker with dlib's own identity ResNet (the default runs dlib's weights in NumPy,
`facialmmt.dlib_resnet`), after the worker runs: loading a second engine grows this process, and Linux keeps a
process's peak RSS across fork + exec, so workers started after it would report it as theirs.

The profile is a separate in-process pass over the same clips (after a warm-up clip) with the dlib detector, shape
predictor and ResNet wrapped in timers and `read_frames` / `read_audio` timed; `align`, `rules`, `cluster` and
`match` come from the timings stage 1 records in its json files; "other pass 1" is the rest of `analyze_utterance`
(clip hash, frame resize, min-face filter), "write" the npz/json writes of both passes.
"""
import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")      # one BLAS thread a process (stage 1 imports no torch: numpy does the kNN)
import pickle
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import _common
import numpy as np

PHASES = defaultdict(float)
COUNTS = defaultdict(int)         # dlib calls: frames for the detector, faces for landmarks and the ResNet


class Timed:
    "A stand-in for a dlib object that adds the time of every call to PHASES[name]."
    def __init__(self, obj, name): self.obj, self.name = obj, name
    def _t(self, fn, *a):
        t = time.perf_counter()
        try: return fn(*a)
        finally:
            PHASES[self.name] += time.perf_counter() - t
            COUNTS[self.name] += len(a[-1] if len(a) == 1 else a[1]) if self.name.startswith("identity") else 1   # faces
    def __call__(self, *a): return self._t(self.obj, *a)
    def run(self, *a): return self._t(self.obj.run, *a)
    def compute_face_descriptor(self, *a): return self._t(self.obj.compute_face_descriptor, *a)


def analyzer_copy(cfg, engine=None):
    "A private copy of the configured FaceAnalyzer (pickling drops the dlib objects), with another identity engine if given."
    from facialmmt.faces import load_face_analyzer
    a = pickle.loads(pickle.dumps(load_face_analyzer(cfg.encoders, cfg.stage1)))
    if engine: a.identity_engine = engine
    a._ensure()
    return a


def timed_analyzer(cfg):
    "A private copy of the configured FaceAnalyzer with its three face models timed."
    a = analyzer_copy(cfg)
    a._det, a._sp = Timed(a._det, "detect (HOG)"), Timed(a._sp, "landmarks (68 pts)")
    if a._net is not None: a._net = Timed(a._net, f"identity embed (ResNet, {a.identity_engine})")
    else: a._rec = Timed(a._rec, f"identity embed (ResNet, {a.identity_engine})")
    return a


def time_readers():
    "Time facialmmt.data.read_frames / read_audio (analyze_utterance imports them from the module at call time)."
    import facialmmt.data as fd
    for name, label in (("read_frames", "decode video"), ("read_audio", "decode audio")):
        fn = getattr(fd, name)
        def wrapped(*a, _fn=fn, _label=label, **k):
            t = time.perf_counter()
            try: return _fn(*a, **k)
            finally: PHASES[_label] += time.perf_counter() - t
        setattr(fd, name, wrapped)


def scale_frames(size):
    "Make facialmmt.data.read_frames (which stage 1 calls) return frames resized to `size` = (W, H), in this process only."
    import cv2
    import facialmmt.data as fd
    fn = fd.read_frames
    def wrapped(*a, **k):
        frames, times = fn(*a, **k)
        if len(frames): frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames])
        return frames, times
    fd.read_frames = wrapped


def both_passes(utt, cfg, tmp, library, lib_hash, analyzer=None):
    "Stage 1 for one clip as run_stage1 does it (pass 1, then pass 2 with the given library); pid and peak RSS back."
    import json, resource
    from facialmmt.stage1 import pass1_job, pass2_job, stage1_paths
    r1 = pass1_job(utt, cfg, str(Path(tmp) / "_pass1"), analyzer)
    r2 = pass2_job(utt, cfg, str(Path(tmp) / "_pass1"), tmp, library, lib_hash)
    m1 = json.loads(stage1_paths(Path(tmp) / "_pass1", utt.key)[1].read_text())
    npz2, js2 = stage1_paths(tmp, utt.key)
    m2 = json.loads(js2.read_text())
    with np.load(npz2) as z: final = z["frame_idx"].tolist()                    # the final face sequence's frames
    return dict(key=utt.key, status=m2["status"], final=final, pass1_s=r1["seconds"], pass2_s=r2["seconds"], t1=m1["timings_s"],
                t2=m2["timings_s"], pid=os.getpid(), maxrss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def profile(utts, cfg, library, lib_hash, duration):
    from facialmmt.stage1 import run_jobs
    time_readers(); an = timed_analyzer(cfg)
    tmp = tempfile.mkdtemp(prefix="bench_s1_prof_")
    try:
        both_passes(utts[0], cfg, tempfile.mkdtemp(dir=tmp), library, lib_hash, an)          # warm-up, not counted
        PHASES.clear(); COUNTS.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        rs = run_jobs(both_passes, utts, (cfg, tmp, library, lib_hash, an), 1, None, "profile", False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally: shutil.rmtree(tmp, ignore_errors=True)
    ph = dict(PHASES)
    for k in ("align", "rules", "cluster", "match"):
        ph[k] = sum(r["t1"].get(k, 0) + r["t2"].get(k, 0) for r in rs)
    p1 = sum(r["t1"]["pass1_total"] for r in rs)
    ph["other pass 1 (hash, frame resize, filters)"] = p1 - sum(ph[k] for k in ph if k not in ("cluster", "match"))
    ph["write npz/json + read pass-1 cache"] = wall - p1 - ph["cluster"] - ph["match"]
    print(f"profile, in-process, {len(utts)} clips ({duration:.1f} s of video), {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"({cpu / duration:.2f} CPU s per video second); {_common.loadavg()}")
    for k, v in sorted(ph.items(), key=lambda kv: -kv[1]):
        n = f"  {1000 * v / COUNTS[k]:5.1f} ms per {'frame' if 'HOG' in k else 'face'} x {COUNTS[k]}" if COUNTS.get(k) else ""
        print(f"  {k:44s} {v:7.2f} s  {100 * v / wall:5.1f} %  {1000 * v / len(utts):7.1f} ms/clip{n}")


def throughput(utts, cfg, library, lib_hash, w, duration, note="", analyzer=None):
    from facialmmt.stage1 import run_jobs
    tmp = tempfile.mkdtemp(prefix=f"bench_s1_w{w}_")
    try:
        t0 = time.perf_counter()
        rs = run_jobs(both_passes, utts, (cfg, tmp, library, lib_hash, analyzer), w, None, f"{w} worker(s)", False)
        dt = time.perf_counter() - t0
    finally: shutil.rmtree(tmp, ignore_errors=True)
    rss = defaultdict(float)
    for r in rs: rss[r["pid"]] = max(rss[r["pid"]], r["maxrss_mib"])
    cpm = 60 * len(utts) / dt
    print(f"{w} worker(s){note}: {cpm:6.1f} clips/min, {dt / duration:.2f} s per video second, {dt:.1f} s for {len(utts)} clips; "
          f"peak RSS per worker: {', '.join(f'{v:.0f}' for v in sorted(rss.values()))} MiB"
          f"{' (the driver process itself)' if w == 1 else ''}; {_common.loadavg()}")
    return cpm, {r["key"]: r["final"] for r in rs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=16); ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--config", default="cpu"); ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--vs", action="append", default=[], metavar="KEY=VALUE",
                    help="also time 1 worker with these config overrides, side by side (e.g. stage1.embed_max_per_track=4)")
    ap.add_argument("--vs-python", metavar="PY", help="also time 1 worker under another interpreter (another dlib build, "
                    "e.g. `make dlib-blas`'s), side by side, and count the clips whose final face sequence is the same")
    ap.add_argument("--vs-engine", choices=["dlib", "numpy"], help="also time 1 worker with this identity engine (the default "
                    "is NumPy's port of dlib's ResNet; dlib runs its own), side by side, and count the same final face sequences")
    ap.add_argument("--frame-size", metavar="WxH", help="resize every decoded frame to this size first (1280x720: MELD's), "
                    "to see what larger frames cost; in-process runs only (the profile and 1 worker)")
    ap.add_argument("--emit", action="store_true", help=argparse.SUPPRESS)      # child of --vs-python: hand results back
    a = ap.parse_args(argv)
    from facialmmt.core import get_config, parse_overrides, resolve_path
    from facialmmt.data import probe_clip, read_meld
    from facialmmt.matching import FaceLibrary
    cfg = get_config(a.config)
    corpus = resolve_path(a.corpus)
    utts = read_meld(corpus, [a.split])[a.split][:a.n]
    duration = sum(probe_clip(u.clip).duration for u in utts)
    lib_dir = resolve_path(f"data/stage1/{corpus.name}/library")
    library = FaceLibrary.load(lib_dir).lite() if (lib_dir / "library.json").exists() else None
    lib_hash = library.content_hash() if library else None
    print(f"stage 1 ({a.config} config, {cfg.stage1.fps} fps sampling) on {len(utts)} {a.split} clips of {corpus.name}, "
          f"{duration:.1f} s of video; library {'of ' + str(len(library.roles)) + ' roles' if library else 'none'}")
    if a.frame_size:
        w, h = (int(v) for v in a.frame_size.lower().split("x"))
        scale_frames((w, h)); a.workers, a.vs_python = 1, None
        print(f"every frame resized to {w}x{h} after decoding (decode video includes the resize); 1 worker only")
    if not a.no_profile: profile(utts, cfg, library, lib_hash, duration)
    one, finals = throughput(utts, cfg, library, lib_hash, 1, duration)
    if a.emit: return _common.emit(dict(cpm=one, finals=finals))
    if a.vs_python:
        import dlib
        args = ["--corpus", str(corpus), "--split", a.split, "--n", a.n, "--config", a.config, "--workers", 1, "--no-profile", "--emit"]
        print(f"the same under {a.vs_python} (this one: dlib {dlib.__version__}, BLAS {dlib.DLIB_USE_BLAS}):", flush=True)
        r = _common.run_child("bench_stage1.py", args, python=a.vs_python)
        same = sum(r["finals"].get(k) == v for k, v in finals.items())
        print(f"ratio clips/min 1 worker under {a.vs_python} / under {sys.executable}: {r['cpm'] / one:.2f}x; "
              f"final face sequence the same in {same} of {len(finals)} clips")
    if a.vs:
        other, _ = throughput(utts, get_config(a.config, **parse_overrides(a.vs)), library, lib_hash, 1, duration, f" with {' '.join(a.vs)}")
        print(f"ratio clips/min 1 worker with {' '.join(a.vs)} / 1 worker with the {a.config} config: {other / one:.2f}x")
    if a.workers > 1:
        cold, _ = throughput(utts, cfg, library, lib_hash, a.workers, duration, " cold, start-up included")
        warm, _ = throughput(utts, cfg, library, lib_hash, a.workers, duration, " warm, loky reuses them")
        print(f"ratio clips/min {a.workers} workers / 1 worker: {warm / one:.2f}x warm, {cold / one:.2f}x with worker start-up")
    # last: loading a second engine grows this process, and Linux keeps a process's peak RSS across fork + exec, so
    # workers started after it would report this process's peak as theirs
    if a.vs_engine:
        other, fin = throughput(utts, cfg, library, lib_hash, 1, duration, f" with identity engine {a.vs_engine}",
                                analyzer_copy(cfg, a.vs_engine))
        same = sum(fin.get(k) == v for k, v in finals.items())
        print(f"ratio clips/min 1 worker, this identity engine / engine {a.vs_engine}: {one / other:.2f}x; "
              f"final face sequence the same in {same} of {len(finals)} clips")


if __name__ == "__main__":
    main()
