"""Reliability (issue 8): safe loading. Every `torch.load` in the package and the notebooks passes `weights_only=True`;
nothing unpickles (pickle/joblib/dill loads, np.load(allow_pickle=True)); checkpoints are safetensors + JSON."""
import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _sources():
    "(name, python source) of the package modules, bench scripts and every notebook code cell."
    out = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for d in ("facialmmt", "bench") for p in sorted((ROOT / d).glob("*.py"))]
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if c["cell_type"] != "code": continue
            src = "".join(c["source"])
            src = "\n".join("pass" if l.lstrip().startswith(("%", "!")) else l for l in src.splitlines())   # magics
            out.append((f"{nb.relative_to(ROOT)} cell {i}", src))
    return out


def _calls(tree):
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            f = n.func
            name = f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else (
                f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else "")
            yield name, n


def _kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _torch_load_problems(sources):
    found, bad, unparsed = [], [], []
    for where, src in sources:
        try: tree = ast.parse(src)
        except SyntaxError:
            unparsed.append(where)
            if re.search(r"torch\.load\((?![^)]*weights_only\s*=\s*True)", src): bad.append(f"{where}: torch.load without weights_only=True")
            continue
        for name, call in _calls(tree):
            if name == "torch.load":
                found.append(where)
                v = _kw(call, "weights_only")
                if not (isinstance(v, ast.Constant) and v.value is True): bad.append(f"{where} line {call.lineno}: torch.load without weights_only=True")
    return found, bad, unparsed


def test_every_torch_load_is_weights_only():
    found, bad, unparsed = _torch_load_problems(_sources())
    assert not bad, bad
    assert len(found) >= 3, f"expected the known torch.load calls (encoders, dfer, train), found {found}"
    assert len(unparsed) < 5, unparsed
    # the check itself can fail
    _, b, _ = _torch_load_problems([("x", "import torch\nsd = torch.load(p, map_location='cpu')\n"),
                                    ("y", "torch.load(p, weights_only=False)"), ("z", "torch.load(p, weights_only=True)")])
    assert [x.split()[0] for x in b] == ["x", "y"]


def test_nothing_unpickles():
    bad = []
    for where, src in _sources():
        try: tree = ast.parse(src)
        except SyntaxError: continue
        for name, call in _calls(tree):
            if name in ("pickle.load", "pickle.loads", "joblib.load", "dill.load", "dill.loads", "cloudpickle.load",
                        "cloudpickle.loads", "pd.read_pickle", "pandas.read_pickle"):
                a = call.args[0] if call.args else None     # a round trip of an object made right there (a pickling test) is fine
                if isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute) and a.func.attr == "dumps": continue
                bad.append(f"{where} line {call.lineno}: {name}")
            if name in ("np.load", "numpy.load"):
                v = _kw(call, "allow_pickle")
                if v is not None and not (isinstance(v, ast.Constant) and v.value is False): bad.append(f"{where} line {call.lineno}: np.load(allow_pickle=...)")
    assert not bad, bad


def test_checkpoint_is_safetensors_plus_json(tmp_path):
    "A saved checkpoint folder holds model.safetensors (readable without pickle) and model.json (config, arch, dims, hash)."
    from safetensors import safe_open
    from facialmmt.core import config_from_dict, config_hash, get_config
    from facialmmt.checkpoint import arch_config, build_model, save_checkpoint, save_train_state
    from facialmmt.mario import ModelDims
    from facialmmt.train import make_optimizers
    cfg = get_config("tiny", **{"model.modalities": "av"})
    dims = ModelDims(text_dim=1, audio_dim=6, frame_dim=5, max_audio_len=8, max_vision_len=4)
    torch.manual_seed(0)
    m = build_model(cfg, dims)
    d = save_checkpoint(tmp_path / "ck", m, cfg)
    assert sorted(p.name for p in d.iterdir()) == ["model.json", "model.safetensors"]
    meta = json.loads((d / "model.json").read_text())
    assert config_hash(config_from_dict(meta["config"])) == config_hash(cfg) == meta["config_hash"] and meta["arch"] == json.loads(json.dumps(arch_config(cfg)))
    assert meta["dims"] == dims.to_dict() and len(meta["weights_sha256"]) == 64
    with safe_open(str(d / "model.safetensors"), framework="pt") as f:
        assert set(f.keys()) == set(m.state_dict())
    # the training state beside it loads with weights_only=True (tensors and plain values only)
    opts, scheds = make_optimizers(m, cfg, 4, 2)
    save_train_state(tmp_path / "last", m, cfg, opts, scheds, 0, {"history": []})
    st = torch.load(tmp_path / "last" / "state.pt", map_location="cpu", weights_only=True)
    assert st["epoch"] == 0 and set(st["optimizers"]) == set(opts)


def test_checkpoint_dims_json_layout_and_old_checkpoints(tmp_path):
    """model.json's "dims" is the dict `features.model_dims` returned before `ModelDims` (same keys, order, values), and
    a checkpoint written before `audio_norm` existed (its dims without that key) still loads, to the same outputs."""
    from facialmmt.core import get_config
    from facialmmt.checkpoint import build_model, load_checkpoint, save_checkpoint
    from facialmmt.mario import ModelDims
    from facialmmt.features import MermcItem, collate_mermc, model_dims
    cfg = get_config("tiny", **{"model.modalities": "av", "model.use_dfer": False})
    rng = np.random.default_rng(0)
    items = [MermcItem(f"train/dia0_utt{i}", i % 7, np.zeros(1, np.int64), rng.normal(size=(5 + i, 6)).astype(np.float16),
                       rng.normal(size=(2 + i, 5)).astype(np.float16), np.zeros((2 + i, 8, 8, 3), np.uint8)) for i in range(4)]
    dims = model_dims(items, cfg, 1)
    a = np.concatenate([it.audio for it in items]).astype(np.float64)
    old = {"text_dim": 1, "audio_norm": {"mean": [round(float(v), 5) for v in a.mean(0)], "std": [round(float(v), 5) for v in a.std(0)]},
           "audio_dim": 6, "frame_dim": 5, "max_audio_len": dims.max_audio_len, "max_vision_len": dims.max_vision_len}
    torch.manual_seed(0)
    d = save_checkpoint(tmp_path / "ck", build_model(cfg, dims), cfg)
    assert json.dumps(json.loads((d / "model.json").read_text())["dims"]) == json.dumps(old)   # keys, order and values
    # a checkpoint from before audio_norm: its dims have no such key (the model then had no audio standardisation)
    torch.manual_seed(0)
    legacy = {k: v for k, v in old.items() if k != "audio_norm"}
    m0 = build_model(cfg, ModelDims.from_dict(legacy)).eval()
    d0 = save_checkpoint(tmp_path / "old", m0, cfg)
    meta = json.loads((d0 / "model.json").read_text()); meta["dims"] = legacy
    (d0 / "model.json").write_text(json.dumps(meta))
    m1, meta1 = load_checkpoint(d0, cfg)
    assert meta1["dims"] == legacy and m1.dims == ModelDims.from_dict(legacy) and m1.dims.audio_norm is None
    b = collate_mermc(items, m0.dims)
    with torch.no_grad(): assert torch.equal(m0(b)["logits"], m1(b)["logits"])
