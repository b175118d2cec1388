"dlib's face-recognition ResNet run in NumPy (issue 16): dlib's own descriptors on real and rendered faces, and clear errors on other files."
import pickle

import numpy as np
import pytest

from facialmmt.dlib_resnet import DlibResNet
from facialmmt.faces import FaceAnalyzer, face_models_dir, render_test_face
from facialmmt.synth_real import eileen_collins, grace_hopper

RESNET = face_models_dir() / "dlib_face_recognition_resnet_model_v1.dat"


def _faces():
    "Two real portraits, a rendered test face and a frame with two rendered faces: (frame, faces) each."
    two = np.concatenate([render_test_face(w=320, cx=160, seed=1), render_test_face(w=320, cx=160, seed=5, skin=(90, 120, 160))], axis=1)
    fa = FaceAnalyzer(identity_engine="dlib")
    items = [(img, fa.detect(img, upsample=1)) for img in (grace_hopper(), eileen_collins(), render_test_face(), two)]
    assert [len(f) for _, f in items] == [1, 1, 1, 2]
    return items


def test_numpy_engine_gives_dlibs_descriptors():
    items = _faces()
    ours, theirs = FaceAnalyzer(), FaceAnalyzer(identity_engine="dlib")
    assert ours.identity_engine == "numpy"
    a = np.concatenate([ours.identity(fr, fs) for fr, fs in items])
    b = np.concatenate([theirs.identity(fr, fs) for fr, fs in items])
    assert a.shape == b.shape == (5, 128)
    assert np.abs(a - b).max() < 1e-5, np.abs(a - b).max()
    assert np.abs(a @ a.T - b @ b.T).max() < 1e-5                      # every cosine stage 1 compares
    batched = np.concatenate(ours.identity_many(items))                 # one batch for all frames, as stage 1 runs it
    assert np.abs(batched - a).max() < 1e-5


def test_other_files_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="not dlib's face-recognition ResNet"):
        DlibResNet(face_models_dir() / "shape_predictor_68_face_landmarks.dat")
    cut = tmp_path / "cut.dat"
    cut.write_bytes(RESNET.read_bytes()[:1_000_000])
    with pytest.raises(ValueError, match="truncated"):
        DlibResNet(cut)
    with pytest.raises(ValueError, match="identity_engine"):
        FaceAnalyzer(identity_engine="torch")


def test_the_network_is_not_pickled_to_workers():
    fa = FaceAnalyzer()
    fr = render_test_face()
    e = fa.identity(fr, fa.detect(fr))
    blob = pickle.dumps(fa)
    assert len(blob) < 100_000                                          # the 22 MB of weights stay behind
    fb = pickle.loads(blob)
    assert np.abs(fb.identity(fr, fb.detect(fr)) - e).max() < 1e-6     # and load again in the receiving process
