"""`facialmmt predict CLIP --text ... --checkpoint DIR` on a researcher's own clip (issue 13): stage 1 on the clip (no
face library: the rules decide), MARIO on text + context, audio and the stage-1 faces, the JSON distribution, the
annotated contact sheet; the bad-input paths (missing clip, unreadable video, no audio stream, CLIP with --key) and a
model without vision (stage 1 skipped and said so). A tiny MARIO is trained for 1 epoch on random features of the
featurizers' sizes (the test is about the command's path, not about accuracy)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facialmmt.core import EMOTIONS
from facialmmt.synth import ensure_corpus

ROOT = Path(__file__).resolve().parents[1]
FACIALMMT = str(Path(sys.executable).parent / "facialmmt")


def _run(*args, timeout=600):
    return subprocess.run([FACIALMMT, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _train(tmp: Path, modalities: str) -> Path:
    "A 1-epoch tiny checkpoint of `modalities` (random features of the sizes the featurizers give at predict time)."
    from facialmmt.core import get_config
    from facialmmt.features import Extractors, MermcItem, model_dims
    from facialmmt.train import run_experiment
    cfg = get_config("tiny", **{"model.modalities": modalities, "train.epochs": 1, "train.batch_size": 4, "dfer.batch_size": 8,
                                "dfer.img_size": 28, "dfer.embed_dim": 16, "dfer.depths": [1, 1], "dfer.num_heads": [1, 2],
                                "dfer.window_size": 7})
    ex = Extractors(cfg)
    da, dv = int(ex.audio.dim), int(ex.face.frame_dim)
    rng = np.random.default_rng(0)
    items = lambda n, s: [MermcItem(f"{s}/dia{i}_utt0", i % 7, np.arange(1, 6), rng.normal(size=(4, da)).astype(np.float16),
                                    rng.normal(size=(3, dv)).astype(np.float16), rng.integers(0, 255, (3, 28, 28, 3), dtype=np.uint8))
                          for i in range(n)]
    splits = {"train": items(8, "train"), "dev": items(4, "dev"), "test": items(4, "test")}
    dfer = {"train": (rng.integers(0, 255, (8, 28, 28, 3), dtype=np.uint8), rng.integers(0, 7, 8)),
            "val": (rng.integers(0, 255, (8, 28, 28, 3), dtype=np.uint8), rng.integers(0, 7, 8))}
    td, pad = 1, 0
    if "t" in modalities:                     # the text encoder predict will load (the config's, resolved offline)
        from facialmmt.encoders import load_text_encoder
        tok, te, _ = load_text_encoder(cfg.encoders)
        td, pad = int(te.dim), int(tok.pad_token_id or 0)
    run_experiment(cfg, corpus=tmp, out_dir=tmp / "exp", seeds=(0,), progress=False,
                   prepared={"splits": splits, "dims": model_dims(splits["train"], cfg, td), "dfer": dfer, "pad_id": pad})
    return tmp / "exp" / "seed0" / "ckpt" / "best"


@pytest.fixture(scope="module")
def own_clip(tmp_path_factory):
    "A clip of the tiny corpus copied to a new name outside any corpus (no CSV, no ground truth next to it)."
    tiny = ensure_corpus(preset="tiny", seed=0)
    d = tmp_path_factory.mktemp("mine")
    clip = d / "my_interview_take3.mp4"
    shutil.copy2(tiny / "test" / "dia0_utt1.mp4", clip)      # two people on screen
    return clip


@pytest.fixture(scope="module")
def ckpt_tav(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("tav"), "tav")


def _json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{"):])


def _cli(capsys, *args):
    "`facialmmt ...` in this process (the bad-input paths: no interpreter + torch start per case); (exit code, stdout, stderr)."
    from facialmmt.cli import main
    try: rc = main([str(a) for a in args])
    except SystemExit as e: rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_predict_own_clip(own_clip, ckpt_tav, tmp_path):
    ctx = tmp_path / "context.txt"
    ctx.write_text("So how did it go?\n\nThey called me back this morning.\n", encoding="utf-8")
    sheet = tmp_path / "out" / "sheet.png"
    r = _run("predict", own_clip, "--text", "I got the job!", "--context", ctx, "--checkpoint", ckpt_tav, "--sheet", sheet)
    assert r.returncode == 0, r.stderr[-3000:]
    out = _json(r.stdout)
    assert set(out["emotion"]) == set(EMOTIONS) and abs(sum(out["emotion"].values()) - 1) < 1e-4
    assert out["label"] == max(out["emotion"], key=out["emotion"].get)
    assert out["context_lines"] == 2 and out["clip"] == str(own_clip)
    s1 = out["stage1"]
    assert s1["library"].startswith("none") and s1["decided_by"] and s1["status"]
    ids = [t["track_id"] for t in s1["tracks"]]
    assert len(s1["tracks"]) >= 2, s1          # every face track is reported, not only the chosen one
    # the chosen track is one of the clip's tracks, in the chosen cluster, and its faces are what the model saw
    assert s1["chosen_track"] in ids, s1
    chosen = next(t for t in s1["tracks"] if t["track_id"] == s1["chosen_track"])
    assert chosen["cluster"] == s1["chosen_cluster"] and chosen["final"] >= 0.5 and chosen["is_candidate"]
    assert s1["n_faces_used"] == s1["n_faces"]["final"] == len(out["frames"]) > 0
    assert sheet.is_file() and sheet.stat().st_size > 10_000 and out["sheet"] == str(sheet)
    from PIL import Image
    w, h = Image.open(sheet).size
    assert w > 600 and h > 400


def test_predict_own_clip_default_sheet_and_video(own_clip, ckpt_tav, tmp_path, capsys):
    clip = tmp_path / "copy.mp4"; shutil.copy2(own_clip, clip)
    vid = tmp_path / "annot.mp4"
    rc, stdout, _ = _cli(capsys, "predict", clip, "--text", "hello", "--checkpoint", ckpt_tav, "--video", vid)
    assert rc == 0
    out = _json(stdout)
    assert Path(out["sheet"]) == tmp_path / "copy.stage1.png" and (tmp_path / "copy.stage1.png").is_file()
    from facialmmt.data import probe_clip
    assert vid.is_file() and probe_clip(vid).n_frames > 0


def test_predict_clip_missing_file(ckpt_tav, tmp_path):
    r = _run("predict", tmp_path / "nope.mp4", "--text", "hi", "--checkpoint", ckpt_tav)
    assert r.returncode != 0 and "not found" in r.stderr and "nope.mp4" in r.stderr and "Traceback" not in r.stderr


def test_predict_clip_bad_inputs(own_clip, ckpt_tav, tmp_path, capsys):
    # unreadable video
    bad = tmp_path / "broken.mp4"; bad.write_bytes(b"\x00\x01 not a video" * 100)
    rc, _, err = _cli(capsys, "predict", bad, "--text", "hi", "--checkpoint", ckpt_tav)
    assert rc == 1 and "broken.mp4" in err and "corrupt" in err
    # a video without audio: the model's acoustic modality needs it
    from facialmmt.data import read_frames, write_clip
    frames, _ = read_frames(own_clip, fps=6.0)
    mute = write_clip(tmp_path / "mute.mp4", frames, 6.0, None)
    rc, _, err = _cli(capsys, "predict", mute, "--text", "hi", "--checkpoint", ckpt_tav)
    assert rc == 1 and "mute.mp4" in err and "no audio" in err
    # the model uses text: --text is needed
    rc, _, err = _cli(capsys, "predict", own_clip, "--checkpoint", ckpt_tav)
    assert rc == 1 and "--text" in err
    # missing --context file, and a --library folder without library.json
    rc, _, err = _cli(capsys, "predict", own_clip, "--text", "hi", "--context", tmp_path / "no_ctx.txt", "--checkpoint", ckpt_tav)
    assert rc == 1 and "no_ctx.txt" in err
    rc, _, err = _cli(capsys, "predict", own_clip, "--text", "hi", "--library", tmp_path, "--checkpoint", ckpt_tav)
    assert rc == 1 and "library.json" in err
    # a CLIP and --key are mutually exclusive; neither is a usage error too; --key alone still needs --corpus
    rc, _, err = _cli(capsys, "predict", own_clip, "--key", "test/dia0_utt0", "--corpus", own_clip.parent, "--checkpoint", ckpt_tav)
    assert rc == 2 and "not both" in err
    rc, _, err = _cli(capsys, "predict", "--checkpoint", ckpt_tav)
    assert rc == 2 and "CLIP" in err
    rc, _, err = _cli(capsys, "predict", "--key", "test/dia0_utt0", "--checkpoint", ckpt_tav)
    assert rc == 2 and "--corpus" in err


def test_predict_clip_model_without_vision(own_clip, tmp_path, capsys, caplog):
    ck = _train(tmp_path, "a")             # audio only: no stage 1, and the text given is said to be unused
    sheet = tmp_path / "s.png"
    rc, stdout, _ = _cli(capsys, "predict", own_clip, "--text", "fine.", "--checkpoint", ck, "--sheet", sheet)
    assert rc == 0
    out = _json(stdout)
    assert "no visual modality" in out["stage1"]["skipped"] and "no visual modality" in caplog.text
    assert abs(sum(out["emotion"].values()) - 1) < 1e-4 and not sheet.exists() and "sheet" not in out
    assert "no text modality" in out["text_ignored"]
