"Stage 2 failure paths (issue 8): bad checkpoints and bad CLI input give one clear error naming the input."
import json

import numpy as np
import pytest
import torch

from facialmmt.core import get_config, override
from facialmmt.features import MermcItem, model_dims
from facialmmt.checkpoint import build_model, load_checkpoint, save_checkpoint
from facialmmt.train import train_main
from facialmmt.predict import predict, ModelBundle, predict_main


class _Text(torch.nn.Module):
    def __init__(self):
        super().__init__(); self.emb = torch.nn.Embedding(20, 8); self.dim = 8
    def forward(self, ids, am):
        return self.emb(ids).mean(1)


def _small(tmp_path):
    torch.set_num_threads(1)
    cfg = get_config("tiny", **{"dfer.embed_dim": 32, "dfer.depths": [1, 1, 1, 1], "dfer.num_heads": [1, 2, 4, 8]})
    items = [MermcItem(f"train/dia{i}_utt0", i % 7, np.arange(1, 5), np.ones((4, 3), np.float16),
                       np.ones((2, 5), np.float16), np.zeros((2, 56, 56, 3), np.uint8)) for i in range(4)]
    dims = model_dims(items, cfg, 8)
    m = build_model(cfg, dims, _Text())
    save_checkpoint(tmp_path / "ck", m, cfg)
    return cfg, dims, m, items


def test_other_config_and_corruption(tmp_path):
    cfg, dims, m, _ = _small(tmp_path)
    with pytest.raises(ValueError, match="model.heads"):
        load_checkpoint(tmp_path / "ck", override(cfg, **{"model.heads": 4}), text_encoder=_Text())
    w = tmp_path / "ck" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:100])                      # truncated file
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(tmp_path / "ck", cfg, text_encoder=_Text())
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nothing", cfg)


def test_predict_rejects_nan_features(tmp_path):
    cfg, dims, m, items = _small(tmp_path)
    b = ModelBundle(m.eval(), cfg, dims)
    with pytest.raises(ValueError, match="utt-x.*NaN"):
        predict(b, {"key": "utt-x", "input_ids": [1, 2], "audio": np.full((3, 3), np.nan)})


def test_cli_bad_input():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        train_main(["--set", "model.hidden"])
    with pytest.raises(KeyError, match="unknown config"):
        train_main(["--config", "no-such-preset"])
    with pytest.raises(FileNotFoundError):
        predict_main(["--checkpoint", "/nonexistent/ckpt", "--corpus", "/nonexistent", "--key", "test/dia0_utt0"])
