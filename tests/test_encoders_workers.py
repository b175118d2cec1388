"FaceAnalyzer and AudioFeaturizer must survive pickling into worker processes (joblib/loky, spawn) and give the same results there."
import pickle
from concurrent.futures import ProcessPoolExecutor
import multiprocessing as mp

import numpy as np
import pytest

from facialmmt.core import EncoderConfig, Stage1Config
from facialmmt.encoders import load_audio_featurizer
from facialmmt.faces import FaceAnalyzer, load_face_analyzer, render_test_face


def _work(fa, frame):
    faces = fa.detect(frame)
    return [f.box for f in faces], fa.identity(frame, faces)


def test_face_analyzer_in_spawned_worker():
    fa = load_face_analyzer(EncoderConfig(), Stage1Config())
    frame = render_test_face()
    boxes, emb = _work(fa, frame)
    assert len(boxes) == 1
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        wboxes, wemb = ex.submit(_work, fa, frame).result(timeout=120)
    assert wboxes == boxes
    assert np.allclose(wemb, emb, atol=1e-6)


def test_face_analyzer_in_joblib_loky():
    joblib = pytest.importorskip("joblib")
    fa = FaceAnalyzer(min_face=40)
    frames = [render_test_face(seed=i) for i in range(2)] + [np.zeros((360, 640, 3), np.uint8)]
    res = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(_work)(fa, f) for f in frames)
    assert [len(b) for b, _ in res] == [1, 1, 0]
    assert res[2][1].shape == (0, 128)


def test_pickled_state_has_no_dlib_objects():
    fa = FaceAnalyzer()
    fa.detect(render_test_face())  # loads dlib models
    state = fa.__getstate__()
    assert all(state[k] is None for k in ("_det", "_sp", "_rec"))
    assert len(pickle.dumps(fa)) < 100_000  # no model weights travel


def test_audio_featurizer_pickles():
    af = load_audio_featurizer(EncoderConfig(audio_model="fbank"))
    w = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    assert np.array_equal(pickle.loads(pickle.dumps(af))(w), af(w))
