"""Stage 1's three dlib models under different dlib builds, side by side on the same frames: HOG detection per frame,
68 landmarks per face and the ResNet identity descriptor per face, plus how far each build's descriptors are from the
first build's. Issue 16: the ResNet is half of stage 1's time, and the `dlib-bin` wheel that `make install` takes is
built without BLAS.

    python bench/bench_dlib_build.py --python .venv/bin/python --python /path/to/venv-with-other-dlib/bin/python
                                     [--corpus data/synmeld] [--split test] [--n 12] [--rounds 2]

The frames are the first `--n` clips of the split, sampled at stage 1's rate (`stage1.fps` of the `cpu` config) by
the running interpreter and handed to every build in one .npz file. Each interpreter needs only numpy and its dlib:
it runs this script with `--child`, the same calls as `facialmmt.faces.FaceAnalyzer` (detector `run(img, 0, 0.0)`,
the 68-point predictor on every detection, `compute_face_descriptor(img, shapes, 0, 0.25)` once per frame). The
builds take turns for `--rounds` rounds; each figure is the fastest round (wall and CPU time of the one process).
"""
import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1"); os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # one thread a build
import sys
import tempfile
import time
from pathlib import Path

import _common                          # stdlib only: the other interpreters import it too (run_child / emit)
import numpy as np


def child(frames_npz: str, models: str, out: str) -> None:
    import dlib
    m = Path(models)
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(str(m / "shape_predictor_68_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(str(m / "dlib_face_recognition_resnet_model_v1.dat"))
    frames = list(np.load(frames_npz)["frames"])
    rec.compute_face_descriptor(np.zeros((150, 150, 3), np.uint8))            # first call allocates: not timed

    def timed(fn):
        w, c = time.perf_counter(), time.process_time()
        r = fn()
        return r, time.perf_counter() - w, time.process_time() - c

    dets, hog_w, hog_c = timed(lambda: [det.run(f, 0, 0.0)[0] for f in frames])
    shapes, lm_w, lm_c = timed(lambda: [dlib.full_object_detections([sp(f, r) for r in rs]) for f, rs in zip(frames, dets)])
    desc, id_w, id_c = timed(lambda: [np.array([np.array(x) for x in rec.compute_face_descriptor(f, s, 0, 0.25)])
                                      for f, s in zip(frames, shapes) if len(s)])
    n_faces = sum(len(s) for s in shapes)
    np.save(out, np.concatenate(desc) if desc else np.zeros((0, 128)))
    _common.emit(dict(
        dlib=dlib.__version__, blas=bool(getattr(dlib, "DLIB_USE_BLAS", False)), avx=bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
        frames=len(frames), faces=n_faces, hog_ms=1e3 * hog_w / len(frames), hog_cpu_ms=1e3 * hog_c / len(frames),
        landmarks_ms=1e3 * lm_w / max(n_faces, 1), resnet_ms=1e3 * id_w / max(n_faces, 1),
        resnet_cpu_ms=1e3 * id_c / max(n_faces, 1)))


def sample_frames(corpus: Path, split: str, n: int) -> tuple[np.ndarray, int]:
    "The first `n` clips' frames at stage 1's sampling rate, stacked, and how many clips that was."
    from facialmmt.core import get_config
    from facialmmt.data import read_frames
    fps = get_config("cpu").stage1.fps
    clips = sorted((corpus / split).glob("*.mp4"))[:n]
    if not clips: raise SystemExit(f"no clips in {corpus / split}: generate the corpus first (`make reproduce` or facialmmt synth)")
    return np.concatenate([read_frames(c, fps=fps)[0] for c in clips]), len(clips)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", help="an interpreter with dlib (repeat; default: this one)")
    ap.add_argument("--corpus", default="data/synmeld"); ap.add_argument("--split", default="test")
    ap.add_argument("--n", type=int, default=12); ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", nargs=3, metavar=("FRAMES", "MODELS", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(*a.child)
    from facialmmt.faces import face_models_dir
    pythons = a.python or [sys.executable]
    frames, n_clips = sample_frames(Path(a.corpus), a.split, a.n)
    print(f"{len(frames)} frames {frames.shape[2]}x{frames.shape[1]} from {n_clips} {a.split} clips of {a.corpus}; "
          f"{_common.loadavg()}", flush=True)
    best, descs = {}, {}
    with tempfile.TemporaryDirectory() as d:
        fnpz = Path(d) / "frames.npz"; np.savez(fnpz, frames=frames)
        for r in range(a.rounds):
            for i, py in enumerate(pythons):
                out = Path(d) / f"desc{i}.npy"
                res = _common.run_child(Path(__file__).name, ["--child", fnpz, face_models_dir(), out], python=py)
                descs[i] = np.load(out)
                print(f"  round {r + 1}, {py}: HOG {res['hog_ms']:.1f} ms a frame, ResNet {res['resnet_ms']:.1f} ms a face", flush=True)
                prev = best.get(i)
                best[i] = res if prev is None else {k: (min(v, prev[k]) if k.endswith("_ms") else v) for k, v in res.items()}
    print(f"\nafter: {_common.loadavg()}\n")
    print("| interpreter | dlib | BLAS | frames / faces | HOG ms a frame (CPU) | landmarks ms a face | ResNet ms a face (CPU) "
          "| ResNet vs first | HOG vs first | max abs Δ descriptor vs first |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    b0 = best[0]
    for i, py in enumerate(pythons):
        b = best[i]
        same = descs[i].shape == descs[0].shape
        delta = f"{np.abs(descs[i] - descs[0]).max():.1e}" if same and len(descs[0]) else "faces differ"
        print(f"| `{py}` | {b['dlib']} | {'yes' if b['blas'] else 'no'} | {b['frames']} / {b['faces']} "
              f"| {b['hog_ms']:.1f} ({b['hog_cpu_ms']:.1f}) | {b['landmarks_ms']:.2f} | {b['resnet_ms']:.1f} ({b['resnet_cpu_ms']:.1f}) "
              f"| **{b0['resnet_ms'] / b['resnet_ms']:.2f}×** | {b0['hog_ms'] / b['hog_ms']:.2f}× | {delta} |")


if __name__ == "__main__":
    main()
