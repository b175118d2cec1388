"""Stage 1 asks only for the models it runs. It detects, aligns and embeds identities (dlib); the per-face frame
features (InceptionResnetV1) are MARIO's input, computed later. So `facialmmt extract --config paper` (no fallbacks)
runs on someone's own footage without the CASIA-WebFace weights, and what does need them still names the file."""
import pytest

from facialmmt.core import get_config
from facialmmt.faces import FaceAnalyzer, ModelNotFound
from facialmmt.stage1 import run_stage1
from facialmmt.synth import ensure_corpus


def test_stage1_runs_under_the_paper_config_without_the_frame_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))     # no CASIA weights, whatever this machine has
    cfg = get_config("paper")
    assert not cfg.encoders.allow_fallback and cfg.encoders.frame_model == "inception-casia"
    with pytest.raises(ModelNotFound, match="casia-webface"):
        FaceAnalyzer(frame_model=cfg.encoders.frame_model, allow_fallback=False).frame_dim
    s = run_stage1(ensure_corpus(preset="tiny", seed=0), tmp_path / "stage1", cfg, splits=["test"], limit=3, workers=1,
                   progress=False)
    assert sum(s["statuses"].values()) == 3 and "error" not in s["statuses"], s["statuses"]
