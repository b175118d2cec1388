"""Data-parallel training with torchrun (DDP, gloo on CPU, 2 processes): both processes train on disjoint halves of
each epoch and end with the same weights (DDP averaged their gradients), and only the main process writes."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WORKER = textwrap.dedent('''
    import json, os, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    from facialmmt.core import get_config
    from facialmmt.features import MermcItem, model_dims
    from facialmmt.train import run_experiment, train_one
    out = sys.argv[1]
    cfg = get_config("tiny", **{"model.modalities": "av", "train.epochs": 2, "train.batch_size": 4,
                                "dfer.batch_size": 8, "dfer.img_size": 28, "dfer.embed_dim": 16,
                                "dfer.depths": [1, 1], "dfer.num_heads": [1, 2], "dfer.window_size": 7})
    rng = np.random.default_rng(0)          # the same data on both processes
    def items(n, split):
        return [MermcItem(f"{split}/dia{i}_utt0", i % 7, np.arange(3), rng.normal(size=(5 + i % 4, 8)).astype(np.float16),
                          rng.normal(size=(2 + i % 3, 6)).astype(np.float16), rng.integers(0, 255, (2 + i % 3, 28, 28, 3), dtype=np.uint8))
                for i in range(n)]
    splits = {"train": items(18, "train"), "dev": items(6, "dev"), "test": items(6, "test")}
    dfer = {"train": (rng.integers(0, 255, (40, 28, 28, 3), dtype=np.uint8), rng.integers(0, 7, 40)),
            "val": (rng.integers(0, 255, (10, 28, 28, 3), dtype=np.uint8), rng.integers(0, 7, 10))}
    dims = model_dims(splits["train"], cfg, 1)
    m = train_one(cfg, splits, dims, out, dfer_data=dfer, device="cpu", progress=False)
    with open(os.path.join(out, f"rank{os.environ['RANK']}.json"), "w") as f: json.dump(m, f)
    # run_experiment under torchrun: its own process group, reports written once
    prepared = {"splits": splits, "dims": dims, "dfer": dfer, "pad_id": 0}
    r = run_experiment(cfg, corpus=out, out_dir=os.path.join(out, "exp"), seeds=(1,), prepared=prepared, progress=False)
    with open(os.path.join(out, f"exp_rank{os.environ['RANK']}.json"), "w") as f: json.dump(sorted(r), f)
''')


def test_ddp_two_processes_gloo(tmp_path):
    pytest.importorskip("torch.distributed")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        str(script), str(out)], capture_output=True, text=True, timeout=300, env=env,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    m0, m1 = (json.loads((out / f"rank{k}.json").read_text()) for k in (0, 1))
    d0, d1 = m0["distributed"], m1["distributed"]
    assert (d0["world"], d0["rank"], d1["rank"]) == (2, 0, 1)
    assert d0["utterances_per_epoch"] == d1["utterances_per_epoch"] == 9          # 18 training utterances, halved
    # gradients were averaged: both processes hold the same weights after different halves of the data
    assert abs(d0["param_checksum"] - d1["param_checksum"]) <= 1e-6 * max(1.0, abs(d0["param_checksum"])), (d0, d1)
    # only the main process evaluates and writes
    assert "test" in m0 and "test" not in m1 and len(m0["history"]) == 2
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["distributed"]["world"] == 2 and (out / "ckpt" / "best").exists()
    # run_experiment: the main process returns the full result and writes the reports, the other a short record
    e0, e1 = (json.loads((out / f"exp_rank{k}.json").read_text()) for k in (0, 1))
    assert "summary" in e0 and "summary" not in e1
    assert (out / "exp" / "table2.md").exists() and (out / "exp" / "seed1" / "metrics.json").exists()
