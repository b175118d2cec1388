"""Reliability (issue 8): kill -9 during stage-1 extraction and during training, restart, nothing finished is lost or
recomputed and training reaches the uninterrupted run's metrics; torn training checkpoints (a kill between the files
of one checkpoint); the same seed and config give identical metrics twice on CPU. Tiny SynMELD corpus, seed 0."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from facialmmt.core import config_hash, get_config, override, project_root
from facialmmt.synth import ensure_corpus

torch.set_num_threads(1)
FACIALMMT = str(Path(sys.executable).parent / "facialmmt")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "PYTHONUNBUFFERED": "1"}


def _wait_for(cond, proc, timeout, what):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond(): return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}:\n{err[-3000:]}")
        time.sleep(0.05)
    proc.kill(); raise AssertionError(f"timed out waiting for {what}")


def _kill9(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# ---------------------------------------------------------------- stage 1
STAGE1_KEEP = ("status", "clip_hash", "config_hash", "chosen_cluster", "n_faces", "speaker", "leading_role", "n_sampled_frames")


def test_kill9_stage1_extract(tmp_path):
    """`facialmmt extract` (1 worker, 2 clips per split) killed with SIGKILL once 2 clips are finished; the restart skips
    them (pass-1 json untouched), computes the rest, and the result equals an uninterrupted run's."""
    from facialmmt.stage1 import load_face_sequence, run_stage1
    tiny = ensure_corpus(preset="tiny", seed=0)
    out = tmp_path / "killed"
    cmd = [FACIALMMT, "extract", "--meld-root", str(tiny), "--out", str(out), "--workers", "1", "--limit", "2",
           "--config", "cpu", "--no-progress"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    done1 = lambda: sorted((out / "_pass1").glob("*/*.json"))
    _wait_for(lambda: len(done1()) >= 2, p, 300, "2 finished pass-1 clips")
    _kill9(p)
    before = {f: (f.stat().st_mtime_ns, f.read_bytes()) for f in done1()}
    assert 2 <= len(before) < 6, f"the kill came too late: {len(before)} of 6 clips already finished"
    leftovers = [f.name for f in out.rglob("*.tmp")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    s = json.loads(r.stdout[r.stdout.index("{"):])
    assert s["pass1"]["skipped"] == len(before) and s["pass1"]["computed"] == 6 - len(before), s
    for f, (mt, data) in before.items():                                 # finished clips are not recomputed
        assert f.stat().st_mtime_ns == mt and f.read_bytes() == data, f
    # the same as an uninterrupted run
    ref = run_stage1(tiny, tmp_path / "ref", get_config("cpu"), workers=1, limit=2, progress=False)
    assert s["statuses"] == ref["statuses"] and s["config_hash"] == ref["config_hash"]
    keys = sorted(f"{f.parent.name}/{f.stem}" for f in (tmp_path / "ref").glob("[tdv]*/*.json"))
    assert len(keys) == 6
    for k in keys:
        a = json.loads((out / f"{k}.json").read_text()); b = json.loads((tmp_path / "ref" / f"{k}.json").read_text())
        assert {x: a[x] for x in STAGE1_KEEP} == {x: b[x] for x in STAGE1_KEEP}, k
        for v in ("final", "all"):
            ca, ia = load_face_sequence(out, k, v); cb, ib = load_face_sequence(tmp_path / "ref", k, v)
            assert np.array_equal(ia, ib) and np.array_equal(ca, cb), (k, v)
    print(f"stage-1 kill: {len(before)} finished clips kept, {6 - len(before)} computed after restart; "
          f"{len(leftovers)} .tmp file(s) left by the kill: {leftovers}")


def _children(pid):
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid):
    try: st = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError: return False
    return st != "Z"


def test_kill9_stage1_workers_do_not_outlive_driver(tmp_path):
    tiny = ensure_corpus(preset="tiny", seed=0)
    out = tmp_path / "k2"
    cmd = [FACIALMMT, "extract", "--meld-root", str(tiny), "--out", str(out), "--workers", "2", "--limit", "2",
           "--config", "cpu", "--no-progress"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    kids = []
    try:
        def started():
            kids[:] = _children(p.pid)
            return len((list((out / "_pass1").glob("*/*.json")))) >= 1 and len(kids) >= 2
        _wait_for(started, p, 300, "the loky workers and a first finished clip")
        _kill9(p)
        time.sleep(8)
        left = [k for k in kids if _alive(k)]
        assert not left, f"{len(left)} of {len(kids)} child processes still running 8 s after the driver was killed"
    finally:
        for k in kids:                          # the orphans this test made
            if _alive(k):
                try: os.kill(k, signal.SIGKILL)
                except ProcessLookupError: pass


# ---------------------------------------------------------------- training on the tiny corpus
EPOCHS = 3


@pytest.fixture(scope="module")
def tiny_stage1():
    "Stage-1 output of the tiny corpus (the project's default place; computed once if absent, resumable)."
    from facialmmt.data import read_meld
    from facialmmt.stage1 import run_stage1
    tiny = ensure_corpus(preset="tiny", seed=0)
    s1 = project_root() / "data" / "stage1" / tiny.name
    utts = [u for us in read_meld(tiny).values() for u in us]
    if not (s1 / "stage1_summary.json").exists() or not all((s1 / u.split / f"{u.name}.json").exists() for u in utts):
        run_stage1(tiny, s1, get_config("cpu"), workers=1, progress=False)
    return tiny, s1


@pytest.fixture(scope="module")
def baseline(tiny_stage1, tmp_path_factory):
    "An uninterrupted run: tiny config, 3 epochs, seed 0, in this process (one torch thread)."
    from facialmmt.train import run_experiment
    tiny, s1 = tiny_stage1
    cfg = get_config("tiny", **{"train.epochs": EPOCHS})
    out = tmp_path_factory.mktemp("baseline")
    r = run_experiment(cfg, tiny, s1, out, seeds=(0,), progress=False)
    return cfg, r, out


def _same_run(a: dict, b: dict, da: Path, db: Path):
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]
    assert a["config_hash"] == b["config_hash"]
    assert a["best_epoch"] == b["best_epoch"] and a["best_dev_wf1"] == b["best_dev_wf1"]
    assert strip(a["history"]) == strip(b["history"])
    assert a["test"]["weighted_f1"] == b["test"]["weighted_f1"] and a["test"]["confusion"] == b["test"]["confusion"]
    assert a.get("dfer_val") == b.get("dfer_val")
    assert (da / "test_predictions.csv").read_bytes() == (db / "test_predictions.csv").read_bytes()


def test_kill9_training_resumes_to_same_metrics(baseline, tiny_stage1, tmp_path):
    """`facialmmt train` killed with SIGKILL once epoch 0's training state is written; the same command again resumes
    from ckpt/last (weights, optimisers, schedulers, RNG) and ends with the uninterrupted run's metrics and predictions."""
    cfg, ref, ref_out = baseline
    tiny, s1 = tiny_stage1
    out = tmp_path / "run"
    cmd = [FACIALMMT, "train", "--corpus", str(tiny), "--stage1", str(s1), "--config", "tiny", "--epochs", str(EPOCHS),
           "--seeds", "0", "--out", str(out)]
    state = out / "seed0" / "ckpt" / "last" / "state.json"
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    _wait_for(state.exists, p, 400, "epoch 0's training state")
    _kill9(p)
    killed_at = json.loads(state.read_text())["epoch"]
    leftovers = [str(f.relative_to(out)) for f in out.rglob("*.tmp")]
    assert killed_at < EPOCHS - 1 and not (out / "seed0" / "metrics.json").exists()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resumed from {out / 'seed0' / 'ckpt' / 'last'} after epoch {killed_at}" in r.stderr
    m = json.loads((out / "seed0" / "metrics.json").read_text())
    _same_run(m, ref["per_seed"]["0"], out / "seed0", ref_out / "seed0")
    print(f"training kill: killed after epoch {killed_at}; resumed run test wF1 {m['test']['weighted_f1']:.4f} "
          f"best epoch {m['best_epoch']} == uninterrupted; {len(leftovers)} .tmp file(s) left by the kill: {leftovers}")


def test_same_seed_same_metrics_twice(baseline, tiny_stage1, tmp_path):
    "Determinism on CPU: a second run of the same config and seed into another folder gives identical metrics."
    from facialmmt.train import run_experiment
    cfg, ref, ref_out = baseline
    tiny, s1 = tiny_stage1
    r = run_experiment(cfg, tiny, s1, tmp_path / "again", seeds=(0,), progress=False)
    _same_run(r["per_seed"]["0"], ref["per_seed"]["0"], tmp_path / "again" / "seed0", ref_out / "seed0")
    assert r["summary"] == ref["summary"]


# ---------------------------------------------------------------- torn checkpoints (random data, a stand-in text encoder)
class TinyText(nn.Module):
    def __init__(self, vocab=50, dim=12):
        super().__init__(); self.dim = dim
        self.emb = nn.Embedding(vocab, dim); nn.init.normal_(self.emb.weight, generator=torch.Generator().manual_seed(5))
    def forward(self, input_ids, attention_mask):
        m = attention_mask.unsqueeze(-1).float()
        return (self.emb(input_ids) * m).sum(1) / m.sum(1).clamp_min(1)


def _fake(n, seed, prefix):
    from facialmmt.features import MermcItem
    rng = np.random.default_rng(seed); items = []
    for i in range(n):
        y = int(rng.integers(0, 7)); la, lv = int(rng.integers(0, 20)), int(rng.integers(0, 6))
        items.append(MermcItem(f"{prefix}/dia{i}_utt0", y, rng.integers(1, 50, int(rng.integers(3, 10))),
                               (rng.normal(size=(la, 6)) + y).astype(np.float16), (rng.normal(size=(lv, 5)) + y * .3).astype(np.float16),
                               rng.integers(0, 255, (lv, 56, 56, 3)).astype(np.uint8), np.arange(lv)))
    return items


@pytest.fixture(scope="module")
def toy():
    from facialmmt.features import model_dims
    from facialmmt.train import train_one
    cfg = get_config("tiny", **{"train.epochs": 3, "train.batch_size": 4, "train.lr": 1e-3, "dfer.batch_size": 16,
                                "dfer.embed_dim": 32, "dfer.depths": [1, 1, 1, 1], "dfer.num_heads": [1, 2, 4, 8]})
    splits = {"train": _fake(16, 0, "train"), "dev": _fake(8, 1, "dev"), "test": _fake(8, 2, "test")}
    rng = np.random.default_rng(1)
    dfer = {"train": (rng.integers(0, 255, (32, 56, 56, 3)).astype(np.uint8), rng.integers(0, 7, 32)),
            "val": (rng.integers(0, 255, (16, 56, 56, 3)).astype(np.uint8), rng.integers(0, 7, 16))}
    dims = model_dims(splits["train"], cfg, 12)
    run = lambda out, **kw: train_one(cfg, splits, dims, out, dfer, "cpu", text_encoder=TinyText(), progress=False, **kw)
    return types.SimpleNamespace(cfg=cfg, splits=splits, dims=dims, dfer=dfer, run=run)


@pytest.fixture(scope="module")
def toy_states(toy, tmp_path_factory):
    "(uninterrupted metrics + dir, a run stopped after epoch 0, a copy of it continued to the end of epoch 1)."
    d = tmp_path_factory.mktemp("toy")
    full = toy.run(d / "full")
    toy.run(d / "ep0", stop_after_epoch=0)
    shutil.copytree(d / "ep0", d / "ep1")
    toy.run(d / "ep1", stop_after_epoch=1)
    assert [h["epoch"] for h in json.loads((d / "ep1/ckpt/last/state.json").read_text())["history"]] == [0, 1]
    return full, d


def test_state_json_epoch_after_resume(toy_states):
    full, d = toy_states
    assert json.loads((d / "ep1/ckpt/last/state.json").read_text())["epoch"] == 1


WINDOWS = {  # files of ckpt/last already replaced by epoch 1's when the kill came (save order: weights, model.json, state.pt, state.json)
    "after_weights": ("model.safetensors",),
    "after_model_json": ("model.safetensors", "model.json"),
    "after_state_pt": ("model.safetensors", "model.json", "state.pt"),
}


@pytest.mark.parametrize("window", list(WINDOWS))
def test_torn_training_checkpoint(toy, toy_states, tmp_path, window):
    """A kill in the middle of writing ckpt/last (between two of its files): resuming must either reach the
    uninterrupted run's metrics or stop with a clear error — never carry on from a mixed state."""
    full, d = toy_states
    t = tmp_path / "torn"
    shutil.copytree(d / "ep0", t)
    shutil.rmtree(t / "ckpt" / "best"); shutil.copytree(d / "ep1" / "ckpt" / "best", t / "ckpt" / "best")  # best is saved before last
    for f in WINDOWS[window]: shutil.copy2(d / "ep1" / "ckpt" / "last" / f, t / "ckpt" / "last" / f)
    try: m = toy.run(t)
    except ValueError as e:   # a clear error naming the folder and the mismatch, never a silent mixed resume
        assert str(t / "ckpt" / "last") in str(e) and "state.json" in str(e), e
        return
    _same_run(m, full, t, d / "full")


def test_resume_toy_after_clean_kill_point(toy, toy_states, tmp_path):
    "Control for the torn cases: resuming from a complete epoch-0 or epoch-1 state reaches the uninterrupted metrics."
    full, d = toy_states
    for src in ("ep0", "ep1"):
        shutil.copytree(d / src, tmp_path / src)
        _same_run(toy.run(tmp_path / src), full, tmp_path / src, d / "full")


def test_resume_with_corrupt_state_or_other_config(toy, toy_states, tmp_path):
    "A truncated state.pt, or resuming a folder trained with another model config: a clear error naming the folder."
    full, d = toy_states
    a = tmp_path / "trunc"; shutil.copytree(d / "ep0", a)
    st = a / "ckpt" / "last" / "state.pt"; st.write_bytes(st.read_bytes()[:1000])
    with pytest.raises(ValueError) as e: toy.run(a)
    assert "state.pt" in str(e.value) and str(a) in str(e.value) and "corrupt" in str(e.value)
    b = tmp_path / "other"; shutil.copytree(d / "ep0", b)
    from facialmmt.train import train_one
    other = override(toy.cfg, **{"model.hidden": 48})
    with pytest.raises(ValueError) as e:
        train_one(other, toy.splits, toy.dims, b, toy.dfer, "cpu", text_encoder=TinyText(), progress=False)
    assert "cannot resume" in str(e.value) and "model.hidden" in str(e.value) and str(b) in str(e.value)


def test_kill_while_writing_new_generation_resumes_from_previous(toy, toy_states, tmp_path):
    """The new save protocol's own crash window: the previous generation already moved to ckpt/last.prev, the new
    ckpt/last only half written. Resume must pick last.prev (epoch 1) and still reach the uninterrupted metrics."""
    full, d = toy_states
    t = tmp_path / "mid"
    shutil.copytree(d / "ep1", t)
    last = t / "ckpt" / "last"
    os.replace(last, t / "ckpt" / "last.prev")
    last.mkdir()
    shutil.copy2(t / "ckpt" / "last.prev" / "model.safetensors", last / "model.safetensors")
    from facialmmt.checkpoint import find_train_state
    assert find_train_state(last) == t / "ckpt" / "last.prev"
    _same_run(toy.run(t), full, t, d / "full")
