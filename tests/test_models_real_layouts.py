"""Issue 13 (models half): pretrained models in their real layouts load, or stop the run with a clear error.

Every checkpoint here is built from random weights in the layout the real file has (timm Swin, the authors'
FaceX-Zoo/Microsoft Swin, a Hugging Face RoBERTa folder, facenet-pytorch's InceptionResnetV1); nothing downloads."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from facialmmt.core import EncoderConfig, get_config, override
from facialmmt.dfer import (DFERModel, IMAGENET_MEAN, load_pretrained_backbone, microsoft_to_timm, resize_rel_pos_bias,
                            swin_layout, timm_to_microsoft)
from facialmmt.encoders import (ModelNotFound, load_text_encoder, resolve_frame_model, resolve_swin_weights,
                                resolve_text_model, used_models, used_swin)

# a small Swin with Swin-T's structure (window 7, 4 stages, patch merging): the layouts and the 224 -> 112 window
# change are the same as Swin-T's, at a fraction of the build time (Swin-T itself takes ~18 s to build here)
SMALL = {"dfer.pretrained": None, "dfer.embed_dim": 16, "dfer.depths": [2, 2, 2, 2], "dfer.num_heads": [1, 2, 4, 8],
         "dfer.feat_dim": 16, "dfer.mlp_hidden": 8}


def _dcfg(size):
    return override(get_config("paper"), **{**SMALL, "dfer.img_size": size}).dfer


@pytest.fixture(scope="module")
def src():
    torch.manual_seed(0); torch.set_num_threads(1)
    return DFERModel(_dcfg(224))


def _authors_checkpoint(model, path, wrap=True):
    "The authors' file: original layout under `backbone.`, derived buffers saved, the flatten-Linear-BN output_layer head."
    sd = {"backbone." + timm_to_microsoft(k): v.clone() for k, v in model.backbone.state_dict().items()}
    for k, v in model.backbone.named_buffers():
        if k.endswith(("relative_position_index", "attn_mask")) and v is not None:
            sd["backbone." + timm_to_microsoft(k)] = v.clone()
    C = model.backbone.num_features
    sd.update({"backbone.output_layer.2.weight": torch.randn(512, 49 * C), "backbone.output_layer.2.bias": torch.zeros(512),
               "backbone.output_layer.3.weight": torch.ones(512), "backbone.output_layer.3.bias": torch.zeros(512),
               "backbone.output_layer.3.running_mean": torch.zeros(512), "backbone.output_layer.3.running_var": torch.ones(512),
               "backbone.output_layer.3.num_batches_tracked": torch.tensor(7)})
    torch.save({"state_dict": sd, "epoch": torch.tensor(17)} if wrap else sd, path)
    return sd


def _timm_checkpoint(model, path):
    from safetensors.torch import save_file
    sd = {k: v.clone().contiguous() for k, v in model.backbone.state_dict().items()}
    sd.update({"head.fc.weight": torch.randn(1000, model.backbone.num_features), "head.fc.bias": torch.zeros(1000)})
    save_file(sd, str(path))
    return sd


def test_key_maps_are_inverse_and_layouts_detected(src):
    keys = list(src.backbone.state_dict())
    ms = [timm_to_microsoft(k) for k in keys]
    assert "layers.0.downsample.reduction.weight" in ms and "layers.3.downsample.reduction.weight" not in ms
    assert "output_layer.0.weight" in ms and "norm.weight" not in ms
    assert [microsoft_to_timm(k) for k in ms] == keys
    assert swin_layout(ms) == "microsoft" and swin_layout(keys) == "timm"
    assert microsoft_to_timm("output_layer.2.weight") is None and microsoft_to_timm("head.weight") is None


@pytest.fixture(params=["timm", "authors"])
def layout_ckpt(request, src, tmp_path):
    "(layout, file): `src`'s backbone saved as a timm safetensors file or as the authors' Swin_tiny_Ms-Celeb-1M.pt."
    layout = request.param
    f = tmp_path / ("swin.safetensors" if layout == "timm" else "Swin_tiny_Ms-Celeb-1M.pt")
    (_timm_checkpoint if layout == "timm" else _authors_checkpoint)(src, f)
    return layout, f


def _load_into(src, f, img_size):
    "A fresh DFERModel at `img_size` with `f` loaded: (model, load report, src's backbone weights, the loaded ones)."
    dst = DFERModel(_dcfg(img_size))
    rep = load_pretrained_backbone(dst, f)
    return dst, rep, src.backbone.state_dict(), dst.backbone.state_dict()


def test_checkpoint_loads_exactly_at_224(src, layout_ckpt):
    layout, f = layout_ckpt
    dst, rep, want, got = _load_into(src, f, 224)
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    assert rep["loaded"] == len(want) and not rep["missing"] and not rep["unexpected"] and not rep["interpolated"]
    if layout == "timm":
        assert rep["layout"] == "timm" and rep["pixel_norm"] == "imagenet" and sorted(rep["dropped_head"]) == ["head.fc.bias", "head.fc.weight"]
        assert dst.pixel_norm == "imagenet"
    else:
        assert rep["layout"] == "microsoft" and rep["pixel_norm"] == "half" and dst.pixel_norm == "half"
        assert sorted(rep["dropped_head"]) == sorted(k for k in ["output_layer.2.weight", "output_layer.2.bias", "output_layer.3.weight",
                                                                 "output_layer.3.bias", "output_layer.3.running_mean",
                                                                 "output_layer.3.running_var", "output_layer.3.num_batches_tracked"])
        assert rep["dropped_buffers"] > 0
        # 0.5/0.5 preprocessing is applied: a mid-grey image is ~0 after normalisation
        assert torch.allclose(dst.pixel_mean, torch.tensor([0.5] * 3)) and torch.allclose(dst.pixel_std, torch.tensor([0.5] * 3))
    with torch.no_grad():
        assert dst(torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8))[1].shape == (2, 7)


def test_checkpoint_at_224_loads_into_112_with_interpolated_stage4_tables(src, layout_ckpt):
    layout, f = layout_ckpt
    dst, rep, want, got = _load_into(src, f, 112)
    tables = [k for k in want if k.startswith("layers.3.") and k.endswith("relative_position_bias_table")]
    assert len(rep["interpolated"]) == len(tables) == 2          # only stage 4's window changes (7 -> 4)
    for k in want:
        if k in tables:
            assert want[k].shape[0] == 169 and got[k].shape[0] == 49
            assert torch.allclose(got[k], resize_rel_pos_bias(want[k], 49))
        else: assert torch.equal(got[k], want[k]), k
    # refusing the interpolation makes the mismatch an error naming the tables
    with pytest.raises(ValueError, match="relative_position_bias_table"):
        load_pretrained_backbone(DFERModel(_dcfg(112)), f, interpolate=False)


def test_bias_table_resize():
    const = torch.full((169, 3), 0.25)
    assert torch.allclose(resize_rel_pos_bias(const, 49), torch.full((49, 3), 0.25), atol=1e-6)
    ramp = torch.arange(-6, 7, dtype=torch.float32)[:, None].expand(13, 13).reshape(169, 1)   # value = Δy
    r = resize_rel_pos_bias(ramp, 49).reshape(7, 7)
    assert abs(float(r[3, 3])) < 1e-5 and (r[1:, 0] > r[:-1, 0]).all()                       # centre offset kept, order kept
    with pytest.raises(ValueError, match="square"): resize_rel_pos_bias(torch.zeros(10, 2), 49)


def test_wrong_checkpoints_fail_naming_keys(src, tmp_path):
    sd = _authors_checkpoint(src, tmp_path / "a.pt", wrap=False)
    drop = "backbone.layers.1.blocks.0.attn.qkv.weight"
    torch.save({k: v for k, v in sd.items() if k != drop}, tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="layers.1.blocks.0.attn.qkv.weight"):
        load_pretrained_backbone(DFERModel(_dcfg(224)), tmp_path / "missing.pt")
    # a deeper Swin (Swin-S has 18 blocks in stage 3): extra blocks are unexpected, not silently ignored
    extra = dict(sd); extra["backbone.layers.2.blocks.2.mlp.fc1.weight"] = torch.zeros(4, 4)
    torch.save(extra, tmp_path / "deeper.pt")
    with pytest.raises(ValueError, match=r"unexpected \['layers.2.blocks.2.mlp.fc1.weight'\]"):
        load_pretrained_backbone(DFERModel(_dcfg(224)), tmp_path / "deeper.pt")
    # a state dict of some other network matches nothing
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="0 of"):
        load_pretrained_backbone(DFERModel(_dcfg(224)), tmp_path / "other.pt")


def test_pixel_norm_travels_with_the_weights(src, tmp_path):
    _authors_checkpoint(src, tmp_path / "a.pt")
    m = DFERModel(_dcfg(224)); load_pretrained_backbone(m, tmp_path / "a.pt")
    fresh = DFERModel(_dcfg(224)); assert fresh.pixel_norm == "imagenet"
    fresh.load_state_dict(m.state_dict()); assert fresh.pixel_norm == "half"
    # a state dict saved before the normalisation was stored loads as ImageNet's (what it was trained with)
    old = {k: v for k, v in m.state_dict().items() if not k.startswith("pixel_")}
    again = DFERModel(_dcfg(224)); again.set_pixel_norm("half")
    again.load_state_dict(old); assert again.pixel_norm == "imagenet" and torch.allclose(again.pixel_mean, torch.tensor(IMAGENET_MEAN))


def _fake_hub(cache, repo, files: dict, rev="0123456789abcdef0123456789abcdef01234567"):
    "A Hugging Face cache entry laid out as huggingface_hub writes it: blobs named by SHA-256, snapshot links to them."
    import hashlib
    d = cache / ("models--" + repo.replace("/", "--"))
    (d / "refs").mkdir(parents=True); (d / "refs" / "main").write_text(rev)
    (d / "blobs").mkdir(); snap = d / "snapshots" / rev; snap.mkdir(parents=True)
    for name, data in files.items():
        sha = hashlib.sha256(data).hexdigest()
        (d / "blobs" / sha).write_bytes(data)
        os.symlink(os.path.relpath(d / "blobs" / sha, snap), snap / name)
    return snap


def test_swin_from_the_hf_cache_and_missing_paper_swin(src, tmp_path, monkeypatch):
    import huggingface_hub.constants as C
    from safetensors.torch import save
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = "timm/swin_tiny_patch4_window7_224.ms_in1k"
    data = save({k: v.contiguous() for k, v in src.backbone.state_dict().items()})
    snap = _fake_hub(tmp_path / "hub", repo, {"model.safetensors": data, "config.json": b"{}"})
    f, info = resolve_swin_weights(repo)
    assert f == snap / "model.safetensors" and info["source"] == "hf-cache"
    import hashlib
    u = used_swin(repo)
    assert u["sha256"] == hashlib.sha256(data).hexdigest()[:12] and u["used"].startswith(repo + "@01234567")
    dst = DFERModel(_dcfg(112)); rep = load_pretrained_backbone(dst, repo)
    assert rep["layout"] == "timm" and len(rep["interpolated"]) == 2
    # the paper preset names the authors' file: absent, the error says what it is, where to get it and where to put it
    with pytest.raises(ModelNotFound) as e: resolve_swin_weights(get_config("paper").dfer.pretrained)
    msg = str(e.value)
    assert "Swin_tiny_Ms-Celeb-1M.pt" in msg and "github.com/NUSTM/FacialMMT" in msg and "models/Swin_tiny_Ms-Celeb-1M.pt" in msg
    assert "dfer.pretrained=null" in msg and f"hf download {repo}" in msg
    assert used_swin(None)["used"] == "random init"


def test_text_dims_follow_the_encoder_and_roberta_large_resolution(tmp_path, monkeypatch):
    "A RoBERTa-large-shaped folder (tiny random weights, 48-d here) sets text_dim; MARIO projects it to model.hidden."
    from transformers import RobertaConfig, RobertaModel
    from facialmmt.checkpoint import build_model
    from facialmmt.mario import ModelDims
    import huggingface_hub.constants as C
    torch.manual_seed(0)
    rc = RobertaConfig(vocab_size=60, hidden_size=48, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       max_position_embeddings=40)
    folder = tmp_path / "roberta-large-tiny"
    RobertaModel(rc).save_pretrained(folder)
    from facialmmt.encoders import packaged_text_dir
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(packaged_text_dir()).save_pretrained(folder)   # any tokenizer: shapes only
    tok, enc, info = load_text_encoder(EncoderConfig(text_model=str(folder), allow_fallback=False))
    assert enc.dim == 48 and info["source"] == "path"
    cfg = get_config("tiny")
    dims = ModelDims(text_dim=enc.dim, audio_dim=80, frame_dim=256, max_audio_len=8, max_vision_len=4)
    m = build_model(cfg, dims, enc)
    lin = [l for l in m.text_proj if isinstance(l, torch.nn.Linear)][0]
    assert (lin.in_features, lin.out_features) == (48, cfg.model.hidden)
    # `roberta-large` is found in the HF cache under either Hub name (legacy or FacebookAI/...)
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotFound) as e: resolve_text_model("roberta-large", allow_fallback=False)
    assert "hf download FacebookAI/roberta-large" in str(e.value) and "encoders.text_model=" in str(e.value)
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    _fake_hub(tmp_path / "hub", "FacebookAI/roberta-large", files)
    path, info = resolve_text_model("roberta-large", allow_fallback=False)
    assert info["source"] == "hf-cache" and path.endswith("0123456789abcdef0123456789abcdef01234567")
    u = used_models(EncoderConfig(text_model="roberta-large", allow_fallback=False), "t")[0]
    assert u["used"] == "FacebookAI/roberta-large@01234567" and len(u["sha256"]) == 12 and "fallback_for" not in u


def test_paper_never_falls_back(monkeypatch, tmp_path):
    import huggingface_hub.constants as C
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    enc = get_config("paper").encoders
    for what, fn in [("roberta-large", lambda: used_models(enc, "t")),
                     ("facebook/wav2vec2-base-960h", lambda: used_models(enc, "a"))]:
        with pytest.raises(ModelNotFound, match="hf download"): fn()
    from facialmmt.faces import CASIA_FILE, torch_home
    if importlib.util.find_spec("facenet_pytorch") is None or not (torch_home() / "checkpoints" / CASIA_FILE).exists():
        with pytest.raises(ModelNotFound, match="--no-deps"): resolve_frame_model(enc.frame_model, enc.allow_fallback)
    # where a fallback is allowed it is recorded, not hidden
    cpu = get_config("cpu", **{"encoders.text_model": "roberta-large"}).encoders
    u = used_models(cpu, "t")[0]
    assert u["fallback_for"] == "roberta-large" and u["source"] == "packaged"


@pytest.mark.skipif(importlib.util.find_spec("facenet_pytorch") is None,
                    reason="facenet-pytorch is not installed (pip install facenet-pytorch==2.6.0 --no-deps)")
def test_inception_resnet_v1_in_facenet_layout(tmp_path):
    "Random InceptionResnetV1 weights saved as facenet-pytorch's release files are (with the `logits` classifier) load into the frame-feature path."
    from facenet_pytorch import InceptionResnetV1
    from facialmmt.faces import FaceAnalyzer
    torch.manual_seed(0)
    ref = InceptionResnetV1(pretrained=None, classify=True, num_classes=10575).eval()   # CASIA-WebFace: 10,575 identities
    sd = ref.state_dict()
    assert "logits.weight" in sd and "last_linear.weight" in sd and "last_bn.running_var" in sd
    f = tmp_path / "20180408-102900-casia-webface.pt"
    torch.save(sd, f)
    fa = FaceAnalyzer(frame_model=str(f), allow_fallback=False)
    assert fa.frame_kind == "inception" and fa.frame_dim == 512
    crops = np.random.default_rng(0).integers(0, 255, (3, 112, 112, 3), dtype=np.uint8)
    v = fa.frame_features(crops)
    assert v.shape == (3, 512) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    loaded = fa._inception.state_dict()
    assert all(torch.equal(loaded[k], sd[k]) for k in loaded)
    # the same crops through the reference module (160 px, (x - 127.5) / 128) give the same embedding
    import torch.nn.functional as F
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(160, 160), mode="bilinear", align_corners=False)
    ref.classify = False
    with torch.no_grad(): r = ref((x - 127.5) / 128.0).numpy()
    assert np.allclose(v, r / np.linalg.norm(r, axis=1, keepdims=True), atol=1e-4)
    # a checkpoint in another layout (e.g. a torchvision-style rename) is refused, naming keys
    torch.save({k.replace("conv2d_1a", "stem"): t for k, t in sd.items()}, tmp_path / "renamed.pt")
    with pytest.raises(RuntimeError, match="conv2d_1a"):
        FaceAnalyzer(frame_model=str(tmp_path / "renamed.pt"), allow_fallback=False).frame_features(crops[:1])


def test_feature_cache_key_follows_the_model_actually_used(tmp_path, monkeypatch):
    "Same config, another installed frame model: another feature-cache key, so fallback features are never reused."
    from facialmmt import features
    w = tmp_path / "casia.pt"; w.write_bytes(b"x")
    cfg = get_config("cpu", **{"encoders.frame_model": str(w)})
    stand_in = tmp_path / "pkgs"; (stand_in / "facenet_pytorch").mkdir(parents=True)
    (stand_in / "facenet_pytorch" / "__init__.py").write_text("")
    features._FEATURE_MODELS.clear()
    # facenet-pytorch "not installed" (whether or not it is): the frame model falls back to dlib
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a, _f=importlib.util.find_spec: None if n == "facenet_pytorch" else _f(n, *a))
    before = features.feature_config(cfg)
    fb = used_models(cfg.encoders, "v")[0]
    assert fb["fallback_for"] == str(w) and "dlib" in fb["used"]
    monkeypatch.undo()                                   # facenet-pytorch "installed": the requested model now runs
    monkeypatch.syspath_prepend(str(stand_in))
    features._FEATURE_MODELS.clear()
    after = features.feature_config(cfg)
    real = used_models(cfg.encoders, "v")[0]
    assert "fallback_for" not in real and real["source"] == "path" and real["sha256"] == __import__("hashlib").sha256(b"x").hexdigest()[:12]
    assert before["models"] != after["models"] and {k: v for k, v in before.items() if k != "models"} == {k: v for k, v in after.items() if k != "models"}
    features._FEATURE_MODELS.clear()


def test_report_header_names_the_models_used(tmp_path):
    from facialmmt.core import EMOTIONS
    from facialmmt.reports import summarize, write_reports
    models = used_models(get_config("cpu", **{"encoders.text_model": "roberta-large"}).encoders, "tav")
    per_seed = {"0": {"test": {"weighted_f1": 50.0, "per_class_f1": {e: 50.0 for e in EMOTIONS}, "confusion": np.eye(7).tolist()}}}
    result = {"config": "cpu", "config_hash": "abc", "seeds": [0], "corpus_name": "synmeld-tiny-s0", "per_seed": per_seed,
              "summary": summarize(per_seed), "models": models}
    write_reports(result, tmp_path)
    t2 = (tmp_path / "table2.md").read_text()
    assert "Models used" in t2 and "FALLBACK: 'roberta-large'" in t2 and models[0]["sha256"] in t2
    assert "frame_features: 16x16 grey thumbnail" in t2


def test_unresolved_models_are_recorded_when_not_strict(monkeypatch, tmp_path):
    "Runs fed precomputed features (bench, tests) record a model that does not resolve here instead of crashing; strict raises."
    import huggingface_hub.constants as C
    from facialmmt.encoders import format_used_models
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    enc = get_config("paper").encoders
    u = used_models(enc, "a", strict=False)[0]
    assert u["source"] == "unresolved" and "wav2vec2-base-960h" in u["error"]
    assert "NOT RESOLVED" in format_used_models([u])
    with pytest.raises(ModelNotFound): used_models(enc, "a")


def test_paper_runs_on_random_models_in_their_real_layouts(tmp_path, monkeypatch):
    "bench/random_real_layouts.py --small: `paper` resolves every model by its real name, nothing substituted, and MARIO runs."
    import importlib.util as iu
    import huggingface_hub.constants as C
    from facialmmt.encoders import load_audio_featurizer
    from facialmmt.features import MermcItem, collate_mermc
    from facialmmt.checkpoint import build_model
    from facialmmt.mario import ModelDims
    spec = iu.spec_from_file_location("rrl", Path(__file__).parents[1] / "bench" / "random_real_layouts.py")
    rrl = iu.module_from_spec(spec); spec.loader.exec_module(rrl)
    res = rrl.main([str(tmp_path / "models"), "--small"])
    monkeypatch.setattr(C, "HF_HUB_CACHE", str(res["hub"]))
    monkeypatch.setenv("TORCH_HOME", str(res["torch_home"]))
    cfg = get_config("paper", **{"dfer.pretrained": str(res["swin"]), **rrl.SMALL_SWIN, "model.hidden": 32, "model.heads": 2})
    have_inception = res["inception"] is not None
    used = used_models(cfg.encoders, "ta" + ("v" if have_inception else ""), cfg.dfer)
    assert not any("fallback_for" in m for m in used) and all(m["sha256"] for m in used)
    assert used[0]["used"].startswith("FacebookAI/roberta-large@") and used[1]["used"].startswith("facebook/wav2vec2-base-960h@")
    tok, te, info = load_text_encoder(cfg.encoders)
    assert info["source"] == "hf-cache" and te.dim == 64
    af = load_audio_featurizer(cfg.encoders)
    assert af.kind == "wav2vec2" and af.dim == 32
    audio = af(np.zeros(16000, np.float32))
    dims = ModelDims(text_dim=te.dim, audio_dim=af.dim, frame_dim=512, max_audio_len=60, max_vision_len=4)
    m = build_model(cfg, dims, te)                      # loads the authors'-layout Swin (224 -> 112: stage-4 tables)
    assert m.dfer.pixel_norm == "half"
    from facialmmt.encoders import build_text_input
    ids = np.asarray(build_text_input(tok, ["hello there", "how are you"], 1, 512)["input_ids"])
    items = [MermcItem("test/dia0_utt1", 0, ids, audio.astype(np.float16), np.zeros((3, 512), np.float16),
                       np.zeros((3, 112, 112, 3), np.uint8))]
    with torch.no_grad(): out = m.eval()(collate_mermc(items, dims, int(tok.pad_token_id or 0), img_size=112))
    assert out["logits"].shape == (1, 7) and torch.isfinite(out["logits"]).all()
