"""MARIO training throughput (utterances/s): batched with padding masks (batch 16) vs. batch size 1 (the paper's
setting). Same model, same data, same machine, one run; the ratio is printed last (issue 7 target: >= 5x on CPU).

    python bench/bench_batched_training.py [--config cpu] [--n 64] [--batch 16] [--text frozen|finetune|stub]

Data: random utterances with the length statistics of SynMELD default (audio ~ 25-65 frames of 80-d log-mel after the
encoder's pooling, 0-16 face crops at the DFER size with 128-d frame features, 20-200 context tokens).
--text finetune loads the configured text encoder offline and fine-tunes it (as Algorithm 1 does); frozen uses
precomputed text features (train.finetune_text=False); stub uses a small embedding-bag encoder.
"""
import argparse, copy, sys, time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facialmmt.core import get_config, override, seed_everything
from facialmmt.features import MermcItem, collate_mermc, model_dims
from facialmmt.checkpoint import build_model
from facialmmt.mario import mermc_loss


class StubText(nn.Module):
    def __init__(self, vocab=30522, dim=384):
        super().__init__(); self.emb = nn.Embedding(vocab, dim); self.dim = dim
    def forward(self, ids, am):
        m = am[..., None].float()
        return (self.emb(ids) * m).sum(1) / m.sum(1).clamp_min(1)


def make_items(n, cfg, text_dim, seed=0):
    rng = np.random.default_rng(seed)
    s = cfg.dfer.img_size
    out = []
    for i in range(n):
        la, lv, lt = int(rng.integers(25, 66)), int(rng.integers(0, 17)), int(rng.integers(20, 201))
        out.append(MermcItem(f"train/dia{i}_utt0", int(rng.integers(0, 7)), rng.integers(1000, 20000, lt),
                             rng.normal(size=(la, 80)).astype(np.float16), rng.normal(size=(lv, 128)).astype(np.float16),
                             rng.integers(0, 255, (lv, s, s, 3)).astype(np.uint8),
                             text_feats=rng.normal(size=text_dim).astype(np.float32)))
    return out


def throughput(model, items, dims, bs, frozen_text, pad_id=0, warmup=1):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    model.train()
    batches = [items[i:i + bs] for i in range(0, len(items), bs)]
    def step(chunk):
        b = collate_mermc(chunk, dims, pad_id)
        if not frozen_text: b.pop("text_feats", None)
        loss = mermc_loss(model(b)["logits"], b["labels"])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    for c in batches[:warmup]: step(c)
    t = time.perf_counter()
    for c in batches: step(c)
    return len(items) / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="cpu"); ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16); ap.add_argument("--text", default="frozen", choices=["frozen", "finetune", "stub"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-dfer", action="store_true", help="w/o the DFER module (no Swin over the faces): shows what bounds the ratio")
    a = ap.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    cfg = get_config(a.config, **{"train.finetune_text": a.text == "finetune", "model.use_dfer": not a.no_dfer})
    seed_everything(0)
    if a.text == "finetune":
        from facialmmt.encoders import load_text_encoder
        _, te, _ = load_text_encoder(cfg.encoders)
    else: te = StubText()
    items = make_items(a.n, cfg, te.dim)
    dims = model_dims(items, cfg, te.dim)
    base = build_model(cfg, dims, te)
    if a.text == "frozen":
        for p in base.text_encoder.parameters(): p.requires_grad_(False)
    print(f"config {a.config}: hidden {cfg.model.hidden}, Swin embed {cfg.dfer.embed_dim or 96} at {cfg.dfer.img_size}px, "
          f"text {a.text}, DFER {'off' if a.no_dfer else 'on'}; {a.n} utterances; torch threads {torch.get_num_threads()}; dims {dims.to_dict()}")
    res = {}
    for bs in (1, a.batch):
        m = copy.deepcopy(base)
        torch.manual_seed(0)
        res[bs] = throughput(m, items, dims, bs, a.text == "frozen")
        print(f"batch {bs:>3}: {res[bs]:.2f} utterances/s")
    print(f"ratio batch {a.batch} / batch 1: {res[a.batch] / res[1]:.2f}x")


if __name__ == "__main__":
    main()
