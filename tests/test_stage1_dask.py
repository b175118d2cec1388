"""The stage-1 driver on a local Dask cluster of processes gives the same contract files as joblib."""
import json

import numpy as np
import pytest

from facialmmt.core import get_config
from facialmmt.stage1 import load_face_sequence, load_stage1_meta, run_stage1
from facialmmt.synth import ensure_corpus


@pytest.mark.slow
def test_dask_local_matches_joblib(tmp_path):
    pytest.importorskip("distributed")
    tiny = ensure_corpus(preset="tiny", seed=0)
    cfg = get_config("cpu")
    a = run_stage1(tiny, tmp_path / "joblib", cfg, splits=["test"], workers=2, limit=4, progress=False)
    b = run_stage1(tiny, tmp_path / "dask", cfg, splits=["test"], workers=2, limit=4, scheduler="local", progress=False)
    assert a["statuses"] == b["statuses"] and a["config_hash"] == b["config_hash"]
    for k in [f"test/{p.stem}" for p in sorted((tmp_path / "joblib" / "test").glob("*.json"))]:
        ma, mb = load_stage1_meta(tmp_path / "joblib", k), load_stage1_meta(tmp_path / "dask", k)
        assert ma["status"] == mb["status"] and ma["chosen_cluster"] == mb["chosen_cluster"]
        ca, ia = load_face_sequence(tmp_path / "joblib", k); cb, ib = load_face_sequence(tmp_path / "dask", k)
        assert np.array_equal(ia, ib) and np.array_equal(ca, cb)
