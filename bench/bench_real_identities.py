"""Stage 1's identity threshold on labelled photos of real people: are two photos of one person above
`stage1.knn_min_sim` (and so joined) and photos of two people below it (kept apart)?

    python bench/bench_real_identities.py --faces DIR [--thresholds 0.91,0.98] [--upsample 1]

DIR holds one folder a person, `<DIR>/<Person>/*.jpg|png`, one face a photo (the largest face of a photo is used):
the layout of a user's face library (`facialmmt.matching.load_library_dir` reads it, with stage 1's dlib detector,
alignment and ResNet, as `--library` does). Nothing ships with this script: point it at your own labelled faces,
or at any public set in that layout. Pairs of photos of one person are the same-person pairs (two shots of one
photo would be far easier: a clip's frames of one person sit at cosine ~0.99); pairs across people are the
different-person pairs. For each threshold it prints the share of same-person pairs below it (one person split
into two clusters when nothing else joins them) and of different-person pairs at or above it (two people merged
unless they share a frame), the percentiles of both distributions (`synth_datasheet.identity_spread`) and the
rank AUC (scikit-learn's `roc_auc_score`). dlib's documented operating point (Euclidean 0.6 on LFW, 99.38 %) is 0.91 in cosine at the real-face
descriptor norm (`clustering.same_person_cos`).
"""
import argparse
import itertools
import time

import numpy as np

import _common


def pair_cosines(embeddings: dict) -> tuple[dict, np.ndarray, list]:
    "({person: same-person cosines}, different-person cosines, [(person, person, max cosine)]) of unit embeddings."
    people = sorted(embeddings)
    same = {p: np.array([float(embeddings[p][i] @ embeddings[p][j])
                         for i, j in itertools.combinations(range(len(embeddings[p])), 2)]) for p in people}
    diff, named = [], []
    for p, q in itertools.combinations(people, 2):
        S = embeddings[p] @ embeddings[q].T
        diff += S.ravel().tolist(); named.append((p, q, float(S.max())))
    return same, np.asarray(diff), named


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", required=True, help="folder of <Person>/*.jpg|png, one face a photo")
    ap.add_argument("--thresholds", default=None, help="comma-separated cosines (default: stage1.knn_min_sim, and 0.98)")
    ap.add_argument("--upsample", type=int, default=1, help="dlib HOG upsampling for the photos (stage 1's setting: 0)")
    a = ap.parse_args(argv)
    from facialmmt.clustering import same_person_cos
    from facialmmt.core import Stage1Config
    from facialmmt.faces import load_face_analyzer
    from facialmmt.matching import load_library_dir
    from facialmmt.synth_datasheet import identity_spread
    from sklearn.metrics import roc_auc_score
    s1 = Stage1Config(upsample=a.upsample)
    ths = [float(t) for t in a.thresholds.split(",")] if a.thresholds else [s1.knn_min_sim, 0.98]
    t0 = time.perf_counter()
    lib = load_library_dir(a.faces, load_face_analyzer(None, s1))
    E = {p: lib.embeddings[p].astype(np.float64) for p in lib.roles}
    per_person, diff, named = pair_cosines(E)
    same = np.concatenate(list(per_person.values()))
    n_img = sum(len(e) for e in E.values())
    print(f"{len(E)} people, {n_img} photos with a face ({a.faces}); {len(same)} same-person pairs (two photos of one "
          f"person), {len(diff)} different-person pairs; dlib HOG upsample {a.upsample}; {time.perf_counter() - t0:.1f} s; "
          f"{_common.loadavg()}")
    if len(same) == 0 or len(diff) == 0:
        raise SystemExit("need at least one person with two photos and two people")
    spread = identity_spread(same, diff, ths[0])
    print(f"dlib's operating point (Euclidean 0.6 at the real-face descriptor norm) as a cosine: {same_person_cos():.3f}")
    print(f"same-person cosine: min {same.min():.4f}, percentiles 5/50/95 {spread['intra_cos_q']}")
    print(f"different-person cosine: max {diff.max():.4f}, percentiles 5/50/95 {spread['inter_cos_q']}")
    auc = roc_auc_score(np.r_[np.ones(len(same)), np.zeros(len(diff))], np.r_[same, diff])
    print(f"rank AUC (same above different): {auc:.4f}")
    for p, c in per_person.items():
        if len(c): print(f"  {p}: {len(E[p])} photos, same-person cosines {c.min():.4f}-{c.max():.4f}")
    print("  closest two people: " + ", ".join(f"{p} / {q} {c:.4f}" for p, q, c in sorted(named, key=lambda x: -x[2])[:3]))
    for th in ths:
        n_split, n_merged = int((same < th).sum()), int((diff >= th).sum())
        print(f"threshold {th:.3f}: same-person pairs below it (split) {n_split / len(same):.3f} ({n_split} of {len(same)}); "
              f"different-person pairs at or above it (merged) {n_merged / len(diff):.3f} ({n_merged} of {len(diff)})")

if __name__ == "__main__":
    main()
