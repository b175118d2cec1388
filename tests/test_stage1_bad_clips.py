"""Stage 1 on bad clips, with the real dlib analyzer: each gets a status in its json and the run goes on.
Clips are derived from the tiny SynMELD corpus (generated on first use, ~15 s)."""
import csv, json, shutil
from pathlib import Path

import numpy as np
import pytest

from facialmmt.core import get_config
from facialmmt.data import read_audio, read_frames, read_meld, write_clip
from facialmmt.stage1 import load_face_sequence, load_stage1_meta, run_stage1
from facialmmt.synth import ensure_corpus

COLS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory):
    tiny = ensure_corpus(preset="tiny", seed=0)
    gt = json.loads((tiny / "ground_truth.json").read_text())["clips"]
    utts = read_meld(tiny, ["train", "test"])
    # a good clip: speaker on screen, alone
    from facialmmt.faces import load_face_analyzer
    fa = load_face_analyzer()
    for good in utts["train"]:
        g = gt[good.key]
        if not (g["speaker_on_screen"] and g["speaker_is_leading"] and len(g["face_motion"]) == 1): continue
        frames, _ = read_frames(good.clip)
        if all(len(fa.detect(f)) == 1 for f in frames[::3]): break
    else: pytest.skip("no single-face clip the detector finds in the tiny corpus")
    audio = read_audio(good.clip)
    root = tmp_path_factory.mktemp("badcorpus")
    (root / "train").mkdir(); (root / "test").mkdir()
    rows = {"train": [], "test": []}
    def add(split, name_idx, speaker, make):
        p = root / split / f"dia{name_idx}_utt0.mp4"
        make(p)
        rows[split].append([len(rows[split]) + 1, "words", speaker, "neutral", "neutral", name_idx, 0, 1, 1, "00:00:01,000", "00:00:02,000"])
    add("train", 0, good.speaker, lambda p: shutil.copy(good.clip, p))
    add("test", 0, good.speaker, lambda p: shutil.copy(good.clip, p))                                   # ok
    add("test", 1, good.speaker, lambda p: write_clip(p, frames, 10, None))                              # no audio
    add("test", 2, good.speaker, lambda p: write_clip(p, frames[:1], 10, audio[:1600]))                  # one frame
    add("test", 3, good.speaker, lambda p: p.write_bytes(Path(good.clip).read_bytes()[:2000]))           # truncated / corrupt
    add("test", 4, good.speaker, lambda p: write_clip(p, np.full_like(frames, 90), 10, audio))           # no face
    add("test", 5, good.speaker, lambda p: write_clip(p, np.repeat(frames[:1], len(frames), 0), 10, audio))  # face never speaks
    add("test", 6, good.speaker, lambda p: p.write_bytes(b""))                                           # zero bytes
    for split, rs in rows.items():
        with open(root / f"{split}_sent_emo.csv", "w", newline="") as f:
            w = csv.writer(f); w.writerow(COLS); w.writerows(rs)
    cfg = get_config("cpu", **{"stage1.leading_roles": [good.speaker]})
    out = root / "s1"
    summary = run_stage1(root, out, cfg, splits=["test"], workers=1, progress=False)
    return out, summary, cfg, root


def status(out, i): return load_stage1_meta(out, f"test/dia{i}_utt0")


def test_good_clip_is_ok(bad_corpus):
    out, summary, *_ = bad_corpus
    m = status(out, 0)
    assert m["status"] == "ok" and m["n_faces"]["final"] > 0
    crops, idx = load_face_sequence(out, "test/dia0_utt0")
    assert crops.dtype == np.uint8 and crops.shape[1:] == (112, 112, 3) and len(crops) == len(idx)


def test_no_audio(bad_corpus):
    out, *_ = bad_corpus
    m = status(out, 1)
    assert m["status"] == "no_audio" and "audio" in m["detail"]
    assert m["n_faces"]["all"] > 0


def test_one_frame(bad_corpus):
    out, *_ = bad_corpus
    assert status(out, 2)["status"] == "too_short"


def test_corrupt(bad_corpus):
    out, *_ = bad_corpus
    m = status(out, 3)
    assert m["status"] == "corrupt" and "dia3_utt0.mp4" in m["detail"]
    assert len(load_face_sequence(out, "test/dia3_utt0", "all")[0]) == 0


def test_no_face(bad_corpus):
    out, *_ = bad_corpus
    m = status(out, 4)
    assert m["status"] == "no_face"
    assert len(load_face_sequence(out, "test/dia4_utt0")[0]) == 0
    assert len(load_face_sequence(out, "test/dia4_utt0", "frames")[0]) > 0   # whole frames are still there


def test_speaker_never_speaks_on_screen(bad_corpus):
    out, *_ = bad_corpus
    m = status(out, 5)
    assert m["status"] == "speaker_not_found" and m["n_faces"]["all"] > 0 and m["n_faces"]["final"] == 0


def test_empty_file(bad_corpus):
    out, *_ = bad_corpus
    assert status(out, 6)["status"] == "missing_clip"


def test_run_went_on_and_rerun_skips(bad_corpus):
    out, summary, cfg, root = bad_corpus
    assert sum(summary["statuses"].values()) == 7 and "error" not in summary["statuses"]
    again = run_stage1(root, out, cfg, splits=["test"], workers=1, progress=False)
    assert again["pass1"]["computed"] == 0 and again["pass2"]["computed"] == 0


def test_run_records_its_dlib_build_and_the_report_names_it(bad_corpus, tmp_path):
    "A dlib built with BLAS (`make dlib-blas`) or dlib's own ResNet instead of the NumPy port: the run record and report say which ran."
    import dlib
    from facialmmt.stage1_eval import evaluate_stage1, write_stage1_report
    out, summary, cfg, root = bad_corpus
    assert summary["dlib"] == {"version": dlib.__version__, "blas": bool(dlib.DLIB_USE_BLAS), "identity_engine": "numpy"}
    assert json.loads((out / "stage1_summary.json").read_text())["dlib"] == summary["dlib"]
    res = evaluate_stage1(root, out, cfg, splits=["test"], tune=False)
    _, md = write_stage1_report(res, tmp_path)
    blas = "with" if dlib.DLIB_USE_BLAS else "without"
    assert f"dlib {dlib.__version__} {blas} BLAS, its ResNet on NumPy" in md.read_text().split("\n## ")[0]
