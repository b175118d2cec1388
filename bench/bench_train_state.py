"""One epoch's training-state write (`checkpoint.save_train_state`) at git revision REV vs the working tree (issue 16).

    python bench/bench_train_state.py [--vs fbdb980] [--text-params 22.7] [--epochs 5]

Every epoch of every training run writes one generation: the weights (safetensors), the optimiser/scheduler/RNG state
(torch.save) and `state.json` with the sha256 of each file. The state is ~3x the weights (AdamW keeps two moments a
parameter), so with a fine-tuned text encoder it dominates: MiniLM (22.7 M parameters, the cpu preset's) writes
~270 MB an epoch, roberta-large (355 M, the paper's) ~4.3 GB. REV's `checkpoint.py` (read from git, loaded beside the
working tree's) and the working tree's write the same generations of one MARIO (the `tiny` config, audio + text, its
text encoder a stand-in of `--text-params` million parameters: MiniLM's vocabulary embedding plus linear layers),
trained one AdamW step, into fresh folders, alternating old and new for `--epochs` rounds. Printed: the median
seconds a write takes in each, whether the two wrote the same weights and the same state (loaded and compared), and
the ratio. The disk and the page cache move these timings a lot: compare within one run only.
"""
import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common


def checkpoint_at(rev: str):
    "facialmmt.checkpoint as it was at git revision `rev`, as a module beside the working tree's."
    src = subprocess.run(["git", "show", f"{rev}:facialmmt/checkpoint.py"], cwd=_common.ROOT, capture_output=True,
                         text=True, check=True).stdout
    tmp = Path(tempfile.mkdtemp()); path = tmp / "checkpoint_old.py"; path.write_text(src)
    try:
        spec = importlib.util.spec_from_file_location("facialmmt._checkpoint_old", path)
        mod = importlib.util.module_from_spec(spec); mod.__package__ = "facialmmt"
        spec.loader.exec_module(mod)
    finally:
        shutil.rmtree(tmp)
    return mod


def model(text_params: float):
    import torch
    from torch import nn
    from facialmmt.core import get_config
    from facialmmt.checkpoint import build_model
    from facialmmt.mario import ModelDims

    class StandIn(nn.Module):          # forward(input_ids, attention_mask) -> [B, dim], as MARIO's text encoders
        dim = 384
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(30522, 384)
            n = max(0, int((text_params * 1e6 - 30522 * 384) / (384 * 385)))
            self.layers = nn.ModuleList(nn.Linear(384, 384) for _ in range(n))
        def forward(self, ids, am):
            h = self.emb(ids).mean(1)
            for l in self.layers: h = torch.tanh(l(h))       # bounded: no inf/NaN however deep
            return h

    torch.manual_seed(0)
    cfg = get_config("tiny", **{"model.modalities": "ta"})
    dims = ModelDims(text_dim=384, audio_dim=10, frame_dim=8, max_audio_len=30, max_vision_len=6)
    m = build_model(cfg, dims, StandIn())
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
    b = {"input_ids": torch.randint(0, 30522, (2, 12)), "attention_mask": torch.ones(2, 12, dtype=torch.long),
         "audio": torch.randn(2, 30, 10), "audio_mask": torch.ones(2, 30, dtype=torch.bool)}
    m(b)["logits"].sum().backward(); opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return m, cfg, opt, sched, sum(p.numel() for p in m.parameters())


def _differences(a, b, at="") -> list[str]:
    "Where two nested states differ (tensors compared exactly): a list of paths, empty when equal."
    import torch
    if isinstance(a, torch.Tensor):
        same = isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and (a.numel() == 0 or bool(
            (a.reshape(-1).contiguous().view(torch.uint8) == b.reshape(-1).contiguous().view(torch.uint8)).all()))  # bitwise: NaN = NaN
        return [] if same else [at]
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys(): return [at]
        return [d for k in a for d in _differences(a[k], b[k], f"{at}/{k}")]
    if isinstance(a, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b): return [at]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{at}/{i}")]
    return [] if a == b else [at]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vs", default="fbdb980", help="the revision to compare with (default: before the one-hash write)")
    ap.add_argument("--text-params", type=float, default=22.7, help="the text encoder stand-in's size, millions")
    ap.add_argument("--epochs", type=int, default=5)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    import facialmmt.checkpoint as new
    old = checkpoint_at(a.vs)
    m, cfg, opt, sched, n = model(a.text_params)
    print(f"MARIO with a {n / 1e6:.1f} M-parameter model, one AdamW step; {_common.loadavg()}")
    root = Path(tempfile.mkdtemp())
    times = {"old": [], "new": []}
    try:
        for ep in range(a.epochs):
            for name, mod in (("old", old), ("new", new)):
                t = time.perf_counter()
                mod.save_train_state(root / name / "last", m, cfg, {"mermc": opt}, {"mermc": sched}, ep, {"best_dev_wf1": 0.5})
                times[name].append(time.perf_counter() - t)
        files = ("model.safetensors", "model.json", "state.pt")
        same = {f: (root / "old/last" / f).read_bytes() == (root / "new/last" / f).read_bytes() for f in files}
        ok = new.find_train_state(root / "new/last") == root / "new/last"
        st = [torch.load(root / k / "last/state.pt", weights_only=True) for k in ("old", "new")]
        diff = _differences(st[0], st[1])
    finally:
        shutil.rmtree(root)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"old ({a.vs}): median {med['old']:.3f} s a write  {['%.3f' % t for t in times['old']]}")
    print(f"new (working tree): median {med['new']:.3f} s a write  {['%.3f' % t for t in times['new']]}")
    print(f"byte-identical files: {same} (torch.save names its zip records after the file it writes: the old way wrote to a "
          f"random temp name); state.pt's content identical: {not diff}{'' if not diff else f' (differs at {diff[:5]})'}; the new generation verifies: {ok}")
    print(f"ratio old/new: {med['old'] / med['new']:.2f}x; {_common.loadavg()}")


if __name__ == "__main__":
    sys.exit(main())
