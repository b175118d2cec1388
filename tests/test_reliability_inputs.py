"""Reliability (issue 8): bad inputs through stage 1, text preparation, the feature cache, training data prep, the face
library, checkpoints and `predict`. Each case gets a clear error naming the input, or a per-item status while the rest
goes on. Reader/media cases already in tests/test_data_bad_inputs.py and stage-1 bad clips in
tests/test_stage1_bad_clips.py are not repeated here. Fixtures: the tiny SynMELD corpus (seed 0) and hand-made clips."""
import csv
import json
import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from facialmmt.core import EMOTIONS, get_config, override
from facialmmt.data import Utterance, read_audio, read_frames, read_meld, write_clip
from facialmmt.synth import ensure_corpus

torch.set_num_threads(1)   # tiny models: one thread is fastest on the shared 2-core machine, and deterministic
COLS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season", "Episode",
        "StartTime", "EndTime"]


@pytest.fixture(scope="module")
def tiny():
    return ensure_corpus(preset="tiny", seed=0)


@pytest.fixture(scope="module")
def s1cfg():
    return get_config("cpu")


@pytest.fixture(scope="module")
def text_model():
    from facialmmt.encoders import load_text_encoder
    tok, te, _ = load_text_encoder(get_config("tiny").encoders)
    return tok, te


def _first_speaking_clip(tiny):
    gt = json.loads((tiny / "ground_truth.json").read_text())["clips"]
    for u in read_meld(tiny, ["test"])["test"]:
        g = gt[u.key]
        if g["speaker_on_screen"] and len(g["face_motion"]) == 1: return u
    pytest.skip("no single-face clip in the tiny corpus")


# ---------------------------------------------------------------- stage 1: many faces, 4K, grayscale
def test_ten_faces_on_screen(tmp_path, s1cfg):
    "10 rendered heads, one of them talking in sync with the audio: 10 tracks, the talking one is the sequence."
    from facialmmt.stage1 import extract_clip
    from facialmmt.synth import MOUTH_LEVELS, energy_envelope, make_cast, render_head, synth_speech
    from facialmmt.synth_scenes import _paste
    cast = make_cast(4, 0)
    fps, T, W, H = 10, 15, 1280, 720
    audio, _ = synth_speech(T / fps, cast[0], "neutral", np.random.default_rng(0))
    mouth = np.clip((energy_envelope(audio, fps, T) - 0.15) / 0.85, 0, 1) ** 0.8
    pos = [(128 + 256 * (i % 5), 180 + 360 * (i // 5)) for i in range(10)]
    frames = np.empty((T, H, W, 3), np.uint8)
    for t in range(T):
        fr = np.full((H, W, 3), 110, np.float32)
        for i, (cx, cy) in enumerate(pos):
            _paste(fr, render_head(cast[i], "neutral", int(round(mouth[t] * (MOUTH_LEVELS - 1))) if i == 0 else 0), cx, cy, 0.85, 0.0)
        frames[t] = np.clip(fr, 0, 255).astype(np.uint8)
    clip = write_clip(tmp_path / "dia0_utt0.mp4", frames, fps, audio)
    r = extract_clip(Utterance("test", 0, 0, cast[0].name, "hi", "neutral", 0, clip), s1cfg)
    m, a = r["meta"], r["arrays"]
    assert m["status"] == "ok", m["detail"]
    assert len(m["candidates"]) == 10 and m["n_faces"]["all"] >= 10 * (m["n_sampled_frames"] - 1)
    assert 0 < m["n_faces"]["final"] <= m["n_sampled_frames"]
    fin = a["clusters_all"] == m["chosen_cluster"]
    cx = a["boxes_all"][fin][:, [0, 2]].mean(); cy = a["boxes_all"][fin][:, [1, 3]].mean()
    assert abs(cx - pos[0][0]) < 60 and abs(cy - pos[0][1]) < 60, (cx, cy)        # the talking head, not a listener
    assert a["crops"].shape[1:] == (112, 112, 3) and a["crops"].dtype == np.uint8


def test_4k_clip_through_stage1(tmp_path, tiny, s1cfg):
    "A 3840x2160 clip (a tiny corpus clip upscaled): faces found, crops at the contract size, no error."
    import cv2
    from facialmmt.stage1 import extract_clip
    u = _first_speaking_clip(tiny)
    fr, _ = read_frames(u.clip); au = read_audio(u.clip)
    big = np.stack([cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR) for f in fr[:6]])
    clip = write_clip(tmp_path / "dia2_utt0.mp4", big, 10, au[:9600], preset="ultrafast")
    r = extract_clip(Utterance("test", 2, 0, u.speaker, "hi", "neutral", 0, clip), s1cfg)
    m = r["meta"]
    assert m["status"] in ("ok", "speaker_not_found"), m
    assert m["n_faces"]["all"] >= m["n_sampled_frames"] - 1 > 0
    assert r["arrays"]["crops_all"].shape[1:] == (112, 112, 3) and r["arrays"]["frames"].shape[1:] == (112, 112, 3)


def test_grayscale_clip_through_stage1(tmp_path, tiny, s1cfg):
    "The same clip re-encoded as grayscale: same status and the same number of faces as in colour."
    from facialmmt.stage1 import extract_clip
    u = _first_speaking_clip(tiny)
    fr, _ = read_frames(u.clip)
    clip = write_clip(tmp_path / "dia1_utt0.mp4", fr, 10, read_audio(u.clip), pix_fmt="gray")
    colour = extract_clip(u, s1cfg)["meta"]
    r = extract_clip(Utterance("test", 1, 0, u.speaker, "hi", "neutral", 0, clip), s1cfg)
    assert r["meta"]["status"] == colour["status"] == "ok", r["meta"]["detail"]
    assert abs(r["meta"]["n_faces"]["all"] - colour["n_faces"]["all"]) <= 1
    c = r["arrays"]["crops"]
    assert len(c) > 0 and np.abs(c[..., 0].astype(int) - c[..., 2]).mean() < 3     # grey faces stay grey


# ---------------------------------------------------------------- text: > 512 tokens, empty
LONG = " ".join(["supercalifragilistic"] * 400)     # ~2000 word pieces


def test_long_text_build_text_input(text_model):
    from facialmmt.encoders import build_text_input
    tok, _ = text_model
    for max_len in (128, 512):
        ids = build_text_input(tok, [LONG, "short one", LONG], 1, max_len)["input_ids"]
        assert len(ids) <= max_len
        assert tok.decode(ids[1:4]).startswith("short one")          # the target utterance survives the truncation
    # asking for more than the model's positions is clamped to them (no index error inside the embedding)
    ids = build_text_input(tok, [LONG], 0, 1000)["input_ids"]
    assert len(ids) <= tok.model_max_length == 512


def _bundle(tmp_path, text_model, **ov):
    from facialmmt.checkpoint import build_model, save_checkpoint
    from facialmmt.mario import ModelDims
    from facialmmt.predict import load_bundle
    cfg = get_config("tiny", **ov)
    _, te = text_model
    dims = ModelDims(text_dim=te.dim, audio_dim=80, frame_dim=128, max_audio_len=48, max_vision_len=14)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "ck", build_model(cfg, dims, te), cfg)
    return tmp_path / "ck", cfg, dims


def test_long_and_empty_text_predict(tmp_path, text_model):
    from facialmmt.predict import load_bundle, predict
    ck, cfg, dims = _bundle(tmp_path, text_model, **{"encoders.text_max_len": 1000})
    b = load_bundle(ck)
    for inp in ({"texts": [LONG, "", LONG], "target": 1}, {"texts": [LONG], "target": 0}, {"texts": [""], "target": 0},
                {"texts": [LONG], "target": 0, "audio": np.zeros((0, 80), np.float32)}):
        r = predict(b, inp)
        p = np.array(list(r["emotion"].values()))
        assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-5 and r["label"] in EMOTIONS


def test_predict_nonfinite_input_named(tmp_path, text_model):
    "NaN/inf in the features handed to predict: a clear error naming the utterance, not NaN probabilities."
    from facialmmt.predict import load_bundle, predict
    ck, cfg, dims = _bundle(tmp_path, text_model)
    b = load_bundle(ck)
    a = np.zeros((5, 80), np.float32); a[2, 1] = np.nan
    with pytest.raises(ValueError) as e: predict(b, {"key": "test/dia9_utt9", "texts": ["hi"], "target": 0, "audio": a})
    assert "test/dia9_utt9" in str(e.value) and "audio" in str(e.value)
    f = np.zeros((3, 128), np.float32); f[0, 0] = np.inf
    with pytest.raises(ValueError) as e:
        predict(b, {"key": "test/dia9_utt8", "texts": ["hi"], "target": 0, "frame_feats": f, "faces": np.zeros((3, 56, 56, 3), np.uint8)})
    assert "test/dia9_utt8" in str(e.value) and "frame" in str(e.value)


def _mini_corpus(tmp_path, tiny, edit=None, splits=("train", "dev", "test")):
    "A copy of the tiny corpus (clip folders symlinked) whose CSV rows `edit(split, rows)` may change."
    root = tmp_path / "corpus"; root.mkdir()
    for s in splits:
        os.symlink(tiny / s, root / s, target_is_directory=True)
        with open(tiny / f"{s}_sent_emo.csv", newline="", encoding="utf-8") as f: rows = list(csv.reader(f))
        hdr, rows = rows[0], rows[1:]
        if edit: rows = edit(s, rows)
        with open(root / f"{s}_sent_emo.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f); w.writerow(hdr); w.writerows(rows)
    return root



def test_empty_utterance_text_training_prep(tmp_path, tiny, text_model):
    "An empty utterance: tokenised to the special tokens only, its features prepared, the model gives finite logits."
    from facialmmt.features import collate_mermc, model_dims, prepare_items
    from facialmmt.checkpoint import build_model
    from facialmmt.data import group_dialogues
    cfg = get_config("tiny", **{"model.modalities": "ta"})
    tok, te = text_model
    def blank(split, rows):
        if split == "train": rows[0][1] = ""
        return rows
    root = _mini_corpus(tmp_path, tiny, blank, splits=("train",))
    st = []
    utts = read_meld(root, ["train"], statuses=st)["train"]
    assert any(s["status"] == "empty_text" for s in st)
    dia = group_dialogues(utts)[utts[0].dialogue_id]
    items = prepare_items({"train": dia}, cfg, None, tmp_path / "cache", tok, progress=False)["train"]
    empty = next(it for it, u in zip(items, dia) if u.text == "")
    assert len(empty.input_ids) >= 2 and set(empty.input_ids.tolist()) <= set(tok.all_special_ids) | set(
        tok(" ".join(u.text for u in dia if u.text), add_special_tokens=False)["input_ids"])
    dims = model_dims(items, cfg, te.dim)
    torch.manual_seed(0)
    m = build_model(cfg, dims, te).eval()
    with torch.no_grad(): lg = m(collate_mermc(items, dims, int(tok.pad_token_id or 0)))["logits"]
    assert lg.shape == (len(items), 7) and torch.isfinite(lg).all()


# ---------------------------------------------------------------- NaN / inf in the feature cache
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_cached_feature(tmp_path, tiny, bad):
    "A cache entry corrupted on disk: preparing again is a clear error naming the utterance and the cache file."
    from facialmmt.data import group_dialogues
    from facialmmt.features import prepare_items
    cfg = get_config("tiny", **{"model.modalities": "a"})
    utts = read_meld(tiny, ["train"])["train"]
    dia = group_dialogues(utts)[utts[0].dialogue_id]
    cache = tmp_path / "cache"
    prepare_items({"train": dia}, cfg, None, cache, None, progress=False)
    target = dia[-1]
    (f,) = list((cache / "train").glob(f"{target.name}.*.npz"))
    with np.load(f) as z: d = {k: z[k] for k in z.files}
    assert d["audio"].size
    d["audio"][len(d["audio"]) // 2, 3] = bad
    np.savez(f, **d)
    with pytest.raises(ValueError) as e: prepare_items({"train": dia}, cfg, None, cache, None, progress=False)
    msg = str(e.value)
    assert target.key in msg and str(f) in msg and "NaN" in msg


# ---------------------------------------------------------------- face library folder
def test_library_folder_with_non_image_files(tmp_path):
    import cv2
    from facialmmt.faces import load_face_analyzer, render_test_face
    from facialmmt.matching import load_library_dir
    lib = tmp_path / "lib"; role = lib / "Joey"; role.mkdir(parents=True)
    cv2.imwrite(str(role / "01.png"), cv2.cvtColor(render_test_face(), cv2.COLOR_RGB2BGR))
    (role / "notes.txt").write_text("who is this")
    (role / "broken.jpg").write_text("not a jpeg")
    (role / ".DS_Store").write_bytes(b"\x00\x01")
    (role / "sub").mkdir()
    (lib / "Ross").mkdir(); (lib / "Ross" / "readme.md").write_text("no images here")
    fa = load_face_analyzer()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as e: load_library_dir(lib, fa)
    assert "Ross" in str(e.value) and "no usable face image" in str(e.value)
    shutil.rmtree(lib / "Ross")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fl = load_library_dir(lib, fa)
    msgs = " ".join(str(x.message) for x in w)
    assert fl.roles == ["Joey"] and len(fl.embeddings["Joey"]) == 1 and fl.sources["Joey"] == [str(role / "01.png")]
    assert "notes.txt" in msgs and "broken.jpg" in msgs and ".DS_Store" in msgs


# ---------------------------------------------------------------- checkpoints: other config, corrupted
def test_checkpoint_from_another_config(tmp_path, text_model):
    from facialmmt.checkpoint import load_checkpoint
    ck, cfg, _ = _bundle(tmp_path, text_model)
    _, te = text_model
    other = override(cfg, **{"model.hidden": 48, "model.modalities": "ta", "encoders.audio_model": "other-audio",
                             "train.lr": 1.0})          # train.lr is not an architecture field: not listed
    with pytest.raises(ValueError) as e: load_checkpoint(ck, other, text_encoder=te)
    msg = str(e.value)
    assert str(ck) in msg and "model.hidden" in msg and "model.modalities" in msg and "encoders.audio_model" in msg
    assert "train.lr" not in msg and "32" in msg and "48" in msg


@pytest.mark.parametrize("how", ["truncated", "truncated_no_hash", "empty", "missing"])
def test_corrupted_checkpoint(tmp_path, text_model, how):
    "Truncated / empty / missing model.safetensors: a clear error naming the file, from load_checkpoint and load_bundle."
    from facialmmt.checkpoint import load_checkpoint
    from facialmmt.predict import load_bundle
    ck, cfg, _ = _bundle(tmp_path, text_model)
    _, te = text_model
    w = ck / "model.safetensors"; raw = w.read_bytes()
    if how.startswith("truncated"): w.write_bytes(raw[: len(raw) // 2])
    if how == "empty": w.write_bytes(b"")
    if how == "missing": w.unlink()
    if how == "truncated_no_hash":        # without the recorded hash the safetensors parser itself must notice
        meta = json.loads((ck / "model.json").read_text()); meta.pop("weights_sha256"); (ck / "model.json").write_text(json.dumps(meta))
    exc = FileNotFoundError if how == "missing" else ValueError
    for load in (lambda: load_checkpoint(ck, cfg, text_encoder=te), lambda: load_bundle(ck)):
        with pytest.raises(exc) as e: load()
        assert "model.safetensors" in str(e.value) and str(ck) in str(e.value)


# ---------------------------------------------------------------- CSV problems through the stage-1 driver and training
def _bad_rows(split, rows):
    "train: first row's emotion -> 'contempt', second row duplicated (same dialogue/utterance, other text)."
    if split == "test": rows = rows[:3]
    if split != "train": return rows
    rows[0][3] = "contempt"
    dup = list(rows[1]); dup[1] = "a different text for the same key"
    return rows + [dup]


def test_unknown_label_and_duplicate_key_stage1(tmp_path, tiny, s1cfg, caplog):
    "Stage 1 goes on: the unknown-label row and the duplicate are left out (logged), every other clip is extracted once."
    import cv2
    from facialmmt.faces import render_test_face
    from facialmmt.stage1 import run_stage1
    root = _mini_corpus(tmp_path, tiny, _bad_rows, splits=("train", "test"))
    # a user face library, so that stage 1 reads (not extracts) the training split: only 3 test clips run
    (tmp_path / "lib" / "Nobody").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "lib" / "Nobody" / "1.png"), cv2.cvtColor(render_test_face(), cv2.COLOR_RGB2BGR))
    with open(root / "test_sent_emo.csv", newline="") as f: rows = list(csv.reader(f))
    rows[2][3] = "Contempt"; rows.append(list(rows[1]))                  # test split: the same problems
    with open(root / "test_sent_emo.csv", "w", newline="") as f: csv.writer(f).writerows(rows)
    caplog.set_level(logging.WARNING)
    s = run_stage1(root, tmp_path / "s1", s1cfg, splits=["test"], workers=1, library_dir=tmp_path / "lib", progress=False)
    assert sum(s["statuses"].values()) == 2 and "error" not in s["statuses"] and "missing" not in s["statuses"]
    assert s["pass1"]["computed"] == 2
    done = sorted(p.stem for p in (tmp_path / "s1" / "test").glob("*.json"))
    bad_key = f"dia{rows[2][5]}_utt{rows[2][6]}"
    assert bad_key not in done and len(done) == 2
    log = caplog.text
    assert "test_sent_emo.csv" in log and "unknown_emotion" in log and "duplicate_key" in log


def test_stage1_summary_records_skipped_rows(tmp_path, tiny, s1cfg):
    import cv2
    from facialmmt.faces import render_test_face
    from facialmmt.stage1 import run_stage1
    def edit(split, rows):
        rows = rows[:2]
        if split == "test": rows[1][3] = "contempt"
        return rows
    root = _mini_corpus(tmp_path, tiny, edit, splits=("train", "test"))
    (tmp_path / "lib" / "Nobody").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "lib" / "Nobody" / "1.png"), cv2.cvtColor(render_test_face(), cv2.COLOR_RGB2BGR))
    run_stage1(root, tmp_path / "s1", s1cfg, splits=["test"], workers=1, library_dir=tmp_path / "lib", progress=False)
    summary = (tmp_path / "s1" / "stage1_summary.json").read_text()
    assert "unknown_emotion" in summary


def test_unknown_label_and_duplicate_key_training(tmp_path, tiny, caplog):
    "Training data prep (prepare_run reads with on_error='record'): the bad rows are left out, logged, keys stay unique."
    from facialmmt.features import prepare_run
    cfg = get_config("tiny", **{"model.modalities": "a"})
    root = _mini_corpus(tmp_path, tiny, _bad_rows)
    with open(tiny / "train_sent_emo.csv", newline="") as f: orig = list(csv.reader(f))[1:]
    caplog.set_level(logging.WARNING)
    p = prepare_run(cfg, root, None, tmp_path / "cache", progress=False)
    keys = [it.key for it in p["splits"]["train"]]
    assert len(keys) == len(orig) - 1 and len(set(keys)) == len(keys)
    assert f"train/dia{orig[0][5]}_utt{orig[0][6]}" not in keys
    assert "unknown_emotion" in caplog.text and "duplicate_key" in caplog.text and "train_sent_emo.csv" in caplog.text
