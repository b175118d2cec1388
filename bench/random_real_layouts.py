"""Random-weight stand-ins for the `paper` preset's pretrained models, written in their real on-disk layouts.

Where the real weights cannot be downloaded (CI, a GPU box without network) this lets `--config paper` resolve
every model by its real name, through the real resolution code, with nothing substituted:

  * `FacebookAI/roberta-large` and `facebook/wav2vec2-base-960h` as Hugging Face cache entries (blobs named by
    their SHA-256, snapshot links, refs/main) under OUT/hub: point `HF_HUB_CACHE` there;
  * the authors' `Swin_tiny_Ms-Celeb-1M.pt` (original Swin layout under `backbone.`, `output_layer` head, saved
    buffers) at OUT/Swin_tiny_Ms-Celeb-1M.pt: pass `--set dfer.pretrained=OUT/Swin_tiny_Ms-Celeb-1M.pt`;
  * facenet-pytorch's `20180408-102900-casia-webface.pt` (with its `logits` classifier) under
    OUT/torch/checkpoints when facenet-pytorch is installed: point `TORCH_HOME` at OUT/torch.

Full size by default (roberta-large 355 M parameters, wav2vec2-base, Swin-T); `--small` writes tiny models of the
same layouts for tests. The text tokenizer is the packaged MiniLM's WordPiece (no RoBERTa BPE files ship
offline): ids stay inside RoBERTa's vocabulary, so shapes and costs are right, the text is not. Random weights
measure cost and check plumbing only: numbers from them are not results.

    python bench/random_real_layouts.py OUT [--small]
"""
import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from facialmmt.core import get_config, override

REV = "0000000000000000000000000000000000000000"
SMALL_SWIN = {"dfer.embed_dim": 16, "dfer.depths": [2, 2, 2, 2], "dfer.num_heads": [1, 2, 4, 8]}


def hf_entry(hub: Path, repo: str, folder: Path) -> Path:
    "Copy `folder`'s files into `hub` as huggingface_hub lays out a cached repo; returns the snapshot folder."
    d = hub / ("models--" + repo.replace("/", "--"))
    snap = d / "snapshots" / REV
    (d / "blobs").mkdir(parents=True, exist_ok=True); snap.mkdir(parents=True, exist_ok=True)
    (d / "refs").mkdir(exist_ok=True); (d / "refs" / "main").write_text(REV)
    for f in sorted(folder.iterdir()):
        if not f.is_file(): continue
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            while b := fh.read(1 << 22): h.update(b)
        blob = d / "blobs" / h.hexdigest()
        shutil.move(str(f), blob)
        link = snap / f.name
        if link.is_symlink() or link.exists(): link.unlink()
        os.symlink(os.path.relpath(blob, snap), link)
    return snap


def write_roberta_large(hub: Path, small: bool):
    from transformers import AutoTokenizer, RobertaConfig, RobertaModel
    from facialmmt.encoders import packaged_text_dir
    kw = (dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128) if small else
          dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096))
    cfg = RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, **kw)
    with tempfile.TemporaryDirectory() as t:
        RobertaModel(cfg, add_pooling_layer=False).save_pretrained(t)
        AutoTokenizer.from_pretrained(packaged_text_dir()).save_pretrained(t)
        return hf_entry(hub, "FacebookAI/roberta-large", Path(t))


def write_wav2vec2(hub: Path, small: bool):
    from transformers import Wav2Vec2Config, Wav2Vec2Model
    kw = (dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, conv_dim=(16,) * 7,
               num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2) if small else {})
    with tempfile.TemporaryDirectory() as t:
        Wav2Vec2Model(Wav2Vec2Config(**kw)).save_pretrained(t)
        (Path(t) / "preprocessor_config.json").write_text(json.dumps({"do_normalize": True, "sampling_rate": 16000}))
        return hf_entry(hub, "facebook/wav2vec2-base-960h", Path(t))


def write_authors_swin(path: Path, small: bool):
    from facialmmt.dfer import DFERModel, timm_to_microsoft
    cfg = override(get_config("paper"), **{"dfer.pretrained": None, "dfer.img_size": 224, **(SMALL_SWIN if small else {})})
    bb = DFERModel(cfg.dfer).backbone
    sd = {"backbone." + timm_to_microsoft(k): v for k, v in bb.state_dict().items()}
    sd.update({"backbone." + timm_to_microsoft(k): v for k, v in bb.named_buffers()
               if k.endswith(("relative_position_index", "attn_mask")) and v is not None})
    C = bb.num_features
    sd.update({"backbone.output_layer.2.weight": torch.randn(512, 49 * C) * 0.01, "backbone.output_layer.2.bias": torch.zeros(512),
               "backbone.output_layer.3.weight": torch.ones(512), "backbone.output_layer.3.bias": torch.zeros(512),
               "backbone.output_layer.3.running_mean": torch.zeros(512), "backbone.output_layer.3.running_var": torch.ones(512),
               "backbone.output_layer.3.num_batches_tracked": torch.tensor(0)})
    torch.save({"state_dict": sd}, path)
    return path


def write_inception(torch_home: Path):
    if importlib.util.find_spec("facenet_pytorch") is None: return None
    from facenet_pytorch import InceptionResnetV1
    from facialmmt.encoders import CASIA_FILE
    p = torch_home / "checkpoints" / CASIA_FILE
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(InceptionResnetV1(pretrained=None, classify=True, num_classes=10575).state_dict(), p)
    return p


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out"); ap.add_argument("--small", action="store_true")
    a = ap.parse_args(argv)
    out = Path(a.out).resolve(); out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    res = {"hub": out / "hub", "torch_home": out / "torch",
           "roberta": write_roberta_large(out / "hub", a.small), "wav2vec2": write_wav2vec2(out / "hub", a.small),
           "swin": write_authors_swin(out / "Swin_tiny_Ms-Celeb-1M.pt", a.small), "inception": write_inception(out / "torch")}
    print(f"export HF_HUB_CACHE={res['hub']} TORCH_HOME={res['torch_home']}")
    print(f"--set dfer.pretrained={res['swin']}" + (" " + " ".join(f"--set {k}={json.dumps(v, separators=(',', ':'))}"
                                                                for k, v in SMALL_SWIN.items()) if a.small else ""))
    if res["inception"] is None: print("facenet-pytorch is not installed: no InceptionResnetV1 file written "
                                       "(pip install facenet-pytorch==2.6.0 --no-deps)")
    return res


if __name__ == "__main__":
    main()
