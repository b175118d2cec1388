"""Guards: every MARIO branch learns what its input carries (issue 17).

For each modality a small MARIO is trained by the real training loop (`train.train_one`) on a tiny in-memory corpus
where ONLY that modality carries the label; the others carry noise. The audio corpus goes through the real log-mel
featurizer (raw waves -> `AudioFeaturizer('fbank')` -> `model_dims`), so a feature-scale bug shows up here. Two bugs
this would have caught: learned positions initialised N(0, 1) (they drowned the visual content) and raw log-mel
filterbanks (magnitude ~10, no standardisation) fed to the audio projection. Both left a branch on the majority class.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from facialmmt.core import get_config
from facialmmt.features import MermcItem, model_dims
from facialmmt.train import train_one

K = 3                  # classes carried by the label-carrying modality
N = {"train": 96, "dev": 30, "test": 45}
SR = 16000
T_DIM, V_DIM = 24, 256  # text features; frame features as the cpu preset's 'thumb' (256-d, unit norm)


class FirstTokenEmbedding(nn.Module):
    "A stand-in text encoder: the first token's embedding (MARIO reads the first-token state of its text encoder)."
    def __init__(self, vocab=16, dim=T_DIM):
        super().__init__()
        self.dim = dim
        self.emb = nn.Embedding(vocab, dim)
        with torch.no_grad(): self.emb.weight.copy_(torch.randn(vocab, dim, generator=torch.Generator().manual_seed(7)))
    def forward(self, input_ids, attention_mask=None): return self.emb(input_ids[:, 0])


def _wave(label: int | None, rng) -> np.ndarray:
    """~1 s of a voiced tone as SynMELD's speech: pitch and loudness vary at random (speaker, distance); the label, when
    given, sets the voice's brightness (how fast the harmonics fall off), else it is random too."""
    f0 = rng.uniform(100, 300)
    tilt = (0.4, 1.2, 2.0)[label] + rng.uniform(-0.1, 0.1) if label is not None else rng.uniform(0.3, 2.1)
    t = np.arange(int(SR * rng.uniform(0.8, 1.2))) / SR
    w = sum(np.sin(2 * np.pi * k * f0 * t) / k ** tilt for k in range(1, int(4000 / f0)))
    w = w * rng.uniform(0.05, 0.5) + rng.normal(0, 0.005, len(t))
    return w.astype(np.float32)


_AUDIO_CACHE = {}

def make_corpus(carrier: str, seed: int = 0) -> dict:
    "{split: [MermcItem]} where only `carrier` ('t', 'a' or 'v') depends on the label."
    from facialmmt.encoders import AudioFeaturizer
    fb = AudioFeaturizer("fbank", n_mels=80, pool=4)
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(K, V_DIM)).astype(np.float32)
    out = {}
    for split, n in N.items():
        items = []
        for i in range(n):
            y = i % K
            lab = lambda m: y if carrier == m else None
            key = (seed, list(N).index(split), i, int(carrier == "a"))
            if key not in _AUDIO_CACHE: _AUDIO_CACHE[key] = fb(_wave(lab("a"), np.random.default_rng(key)))
            audio = _AUDIO_CACHE[key]
            ids = np.array([1 + (y if carrier == "t" else 3 + rng.integers(0, 12 - 3)), 15, 15], np.int64)
            Lv = int(rng.integers(3, 7))
            fr = rng.normal(size=(Lv, V_DIM)).astype(np.float32)
            if carrier == "v": fr += 0.4 * dirs[y]
            fr /= np.linalg.norm(fr, axis=1, keepdims=True)
            items.append(MermcItem(f"{split}_{i}", y, ids, audio.astype(np.float16), fr.astype(np.float16),
                                   np.zeros((0, 1, 1, 3), np.uint8)))
        out[split] = items
    return out


def train_branch(mods: str, carrier: str, tmp_path, seed: int = 0, epochs: int = 8) -> float:
    "Test accuracy (0-1) of a small MARIO (`mods`) trained by train_one where only `carrier` carries the label."
    torch.set_num_threads(1)
    cfg = get_config("tiny", **{"model.modalities": mods, "model.use_dfer": False, "train.epochs": epochs,
                                "train.batch_size": 16, "train.seed": seed, "train.finetune_text": False})
    splits = make_corpus(carrier, seed)
    dims = model_dims(splits["train"], cfg, T_DIM)
    enc = FirstTokenEmbedding() if "t" in mods else None
    m = train_one(cfg, splits, dims, tmp_path / f"{mods}-{carrier}", device="cpu", text_encoder=enc, progress=False)
    return float(m["test"]["accuracy"]) / 100.0


@pytest.mark.parametrize("mods,carrier", [("a", "a"), ("t", "t"), ("v", "v"), ("tav", "a"), ("tav", "v")])
def test_branch_learns_its_modality(mods, carrier, tmp_path):
    acc = train_branch(mods, carrier, tmp_path)
    # chance is 1/3 (balanced classes); a branch that learns its input is far above it
    assert acc >= 0.6, f"modalities {mods!r}: test accuracy {acc:.2f} where only {carrier!r} carries the label (chance {1 / K:.2f})"
