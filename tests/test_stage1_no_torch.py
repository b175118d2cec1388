"Stage 1 runs without torch (issue 16): importing its modules, and running a clip's clustering and matching, leaves torch unimported."
import subprocess
import sys

import pytest

STAGE1_MODULES = ["facialmmt.dlib_resnet", "facialmmt.faces", "facialmmt.face_rules", "facialmmt.clustering", "facialmmt.matching",
                  "facialmmt.stage1", "facialmmt.stage1_eval"]


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("mod", STAGE1_MODULES)
def test_import_without_torch(mod):
    assert _run(f"import sys, {mod}; print('torch' in sys.modules)") == "False"


def test_clustering_runs_without_torch():
    code = ("import sys, numpy as np\n"
            "from facialmmt.clustering import infomap_cluster, knn_topk\n"
            "g = np.random.default_rng(0); c = g.normal(size=(2, 8)); x = c[np.arange(60) // 30] + 0.1 * g.normal(size=(60, 8))\n"
            "lab = infomap_cluster(x, k=10, min_sim=0.3)\n"
            "s, i = knn_topk(x, 5, knn='exact')\n"
            "assert len(set(lab[:30]) & set(lab[30:])) == 0 and (i[:30] < 30).all(), lab\n"
            "print('torch' in sys.modules)")
    assert _run(code) == "False"


def test_face_analyzer_runs_without_torch():
    code = ("import sys\n"
            "from facialmmt.faces import FaceAnalyzer, render_test_face, largest_face_crop\n"
            "fa = FaceAnalyzer(frame_model='thumb'); fr = render_test_face(); f = fa.detect(fr)\n"
            "assert len(f) == 1 and fa.identity(fr, f).shape == (1, 128)\n"
            "assert fa.frame_features(fa.align(fr, f[0])[None]).shape == (1, 256) and largest_face_crop(fa, fr).shape == (112, 112, 3)\n"
            "print('torch' in sys.modules)")
    assert _run(code) == "False"


def test_tracking_runs_without_scipy_optimize():
    "Linking a clip's detections into tracks leaves scipy.optimize unimported (50 MiB a stage-1 worker, issue 16)."
    code = ("import sys, numpy as np\n"
            "from facialmmt.face_rules import link_tracks\n"
            "fi = np.repeat(np.arange(6), 3); bx = np.tile([[0, 0, 100, 100], [300, 0, 400, 100], [600, 0, 700, 100]], (6, 1))\n"
            "assert len(set(link_tracks(fi, bx + fi[:, None]).tolist())) == 3\n"
            "print('scipy.optimize' in sys.modules or 'torch' in sys.modules)")
    assert _run(code) == "False"
