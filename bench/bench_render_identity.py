"""How far apart SynMELD's renderer can put two people for dlib's identity ResNet (issue 14), against real people.

    python bench/bench_render_identity.py [--passers 14] [--seed 0] [--upsample 1]

Three measurements, each face rendered alone on a grey frame and embedded as stage 1 embeds it (dlib detector,
landmarks, 150 x 150 chip, dlib's ResNet; L2-normalised, cosine):

1. the corpus' cast (`make_cast`: the six leads and `--passers` passers-by), four views each (neutral; joy, sadness
   and surprise at other mouth openings and head turns): same-person and different-person cosines, their
   percentiles and the shares on the wrong side of stage 1's `knn_min_sim`;
2. one lead with one appearance knob at a time moved to each end of a range wider than the cast's: the cosine to
   the unchanged head (how much each knob moves dlib's descriptor);
3. the same lead's head made as unlike itself as the geometric knobs allow, in two opposite ways: the cosine
   between the two (about the farthest apart this renderer's geometry gets two faces).

For scale: two photos of different real people sit at 0.77-0.89 and two photos of one real person at 0.94-0.98
(`bench_real_identities.py` on 15 labelled photos, bench/README.md).
"""
import argparse
import dataclasses

import _common  # noqa: F401  (repository import path)
import numpy as np

VIEWS = (("neutral", 0, 0.0), ("joy", 2, 0.0), ("sadness", 1, 0.2), ("surprise", 3, -0.2))
KNOBS = {"a": (50, 70), "b": (70, 90), "jaw": (0.0, 0.45), "nose_w": (0.10, 0.24), "brow_thick": (0.03, 0.12),
         "eye_size": (0.75, 1.3), "eye_sep": (0.32, 0.45), "eye_y": (-0.2, 0.05), "nose_len": (0.2, 0.45),
         "mouth_y": (0.45, 0.7), "lip_th": (0.6, 1.6), "beard": (0.0, 0.8), "skin": ((118, 78, 56), (245, 210, 190)),
         "hair_style": ("bald", "curly")}
# two heads as unlike as this renderer's geometry allows: small, wide-set, high eyes, low mouth, long nose, large face;
# against large, close-set, low eyes, high mouth, short nose, small face (both grotesque; no cast member is near either)
APART = ({"eye_size": 0.75, "eye_sep": 0.45, "eye_y": -0.2, "mouth_y": 0.7, "nose_len": 0.45, "a": 70, "b": 90},
         {"eye_size": 1.3, "eye_sep": 0.32, "eye_y": 0.05, "mouth_y": 0.45, "nose_len": 0.2, "a": 50, "b": 72})


def embedder(upsample: int):
    from facialmmt.faces import FaceAnalyzer
    from facialmmt.synth_heads import SPRITE_H, SPRITE_W, render_head
    fa = FaceAnalyzer(upsample=upsample)

    def embed(idt, expression="neutral", mouth=0, yaw=0.0):
        "The descriptor of one rendered head on a 360 x 360 grey frame, or None when dlib finds no face."
        sprite = render_head(idt, expression, mouth, yaw).astype(np.float32)
        frame = np.full((360, 360, 3), (120, 125, 130), np.float32)
        y0, x0 = 40, (360 - SPRITE_W) // 2
        alpha = sprite[..., 3:] / 255
        roi = frame[y0:y0 + SPRITE_H, x0:x0 + SPRITE_W]
        roi[:] = roi * (1 - alpha) + sprite[..., :3] * alpha
        frame = frame.astype(np.uint8)
        faces = fa.detect(frame)
        return fa.identity(frame, faces[:1])[0] if faces else None
    return embed


def cast_spread(embed, cast, threshold: float) -> None:
    E, who = [], []
    for k, idt in enumerate(cast):
        for v in VIEWS:
            e = embed(idt, *v)
            if e is not None: E.append(e); who.append(k)
    E = np.asarray(E); S = E @ E.T; same = np.equal.outer(who, who); iu = np.triu_indices(len(who), 1)
    pos, neg = S[iu][same[iu]], S[iu][~same[iu]]
    q = lambda x: " / ".join(f"{v:.3f}" for v in np.percentile(x, [5, 50, 95]))
    print(f"1. the cast: {len(cast)} people x {len(VIEWS)} views, {len(who)} faces found")
    print(f"   same person  (5th / 50th / 95th percentile) {q(pos)}; below {threshold}: {np.mean(pos < threshold):.1%} of {len(pos)}")
    print(f"   two people   (5th / 50th / 95th percentile) {q(neg)}; at or above {threshold}: {np.mean(neg >= threshold):.1%} of {len(neg)}")
    print(f"   closest two people {neg.max():.3f}, farthest two {neg.min():.3f}")


def knob_moves(embed, head) -> None:
    e0 = embed(head)
    print(f"2. {head.name} with one knob moved (cosine to the unchanged head; None: no face found)")
    for k, ends in KNOBS.items():
        cos = []
        for v in ends:
            e = embed(dataclasses.replace(head, **{k: v}))
            cos.append(None if e is None else round(float(e @ e0), 3))
        print(f"   {k:11s} {getattr(head, k)!s:>16} -> {ends[0]!s:>16}: {cos[0]}   -> {ends[1]!s:>16}: {cos[1]}")


def extremes(embed, head) -> None:
    e0, e1, e2 = embed(head), embed(dataclasses.replace(head, **APART[0])), embed(dataclasses.replace(head, **APART[1]))
    if e1 is None or e2 is None:
        print("3. an extreme head was not detected"); return
    print(f"3. {head.name}'s head made as unlike itself as the geometry allows, two ways ({APART[0]} vs {APART[1]}): "
          f"cosine {float(e1 @ e2):.3f} (to the unchanged head {float(e1 @ e0):.3f} and {float(e2 @ e0):.3f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passers", type=int, default=14, help="passers-by in the cast (the default preset has 14)")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--upsample", type=int, default=1)
    a = ap.parse_args(argv)
    from facialmmt.core import Stage1Config
    from facialmmt.synth_heads import make_cast
    embed, cast = embedder(a.upsample), make_cast(a.passers, a.seed)
    cast_spread(embed, cast, Stage1Config().knn_min_sim)
    knob_moves(embed, cast[0])
    extremes(embed, cast[0])


if __name__ == "__main__":
    main()
