"""Bad-input cases for the readers and media IO (issue 8): each gives a clear error naming the file, or a recorded
per-item status while the rest is read. Fixtures are tiny and written in the shipped formats inside tmp_path."""
import pickle
from fractions import Fraction

import av
import numpy as np
import pytest

from facialmmt.core import EMO2ID
from facialmmt.data import (MELD_COLUMNS, DataError, MediaError, find_affwild, find_meld_split, fix_text,
                            load_face_image, probe_clip, read_affwild, read_audio, read_frames, read_meld,
                            read_meld_csv, write_clip)

HDR = ",".join(MELD_COLUMNS)
FPS, SR = 10, 16000


def row(sr, text, spk="Joey", emo="neutral", d=0, u=0):
    return f'{sr},"{text}",{spk},{emo},neutral,{d},{u},1,1,"00:00:01,000","00:00:02,500"'


def csv_file(tmp_path, lines, name="train_sent_emo.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return p


def frames(n=6, h=64, w=96):
    f = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n): f[i, :, (8 * i) % w:(8 * i) % w + 16] = 200
    return f


def tone(sec=1.0, amp=0.3):
    t = np.arange(int(sec * SR)) / SR
    return (amp * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


@pytest.fixture
def clip(tmp_path):
    return write_clip(tmp_path / "ok.mp4", frames(20), FPS, tone(2.0))


def names_file(exc_info, path):
    msg = str(exc_info.value)
    assert str(path) in msg or path.name in msg, msg
    return msg


# ---------------------------------------------------------------- MELD CSV
def test_csv_missing_column(tmp_path):
    p = csv_file(tmp_path, [HDR.replace(",Emotion", ""), '1,"Hi",Joey,neutral,0,0,1,1,a,b'])
    with pytest.raises(DataError) as e: read_meld_csv(p, "train")
    assert "Emotion" in names_file(e, p)


def test_csv_extra_column_ignored(tmp_path):
    p = csv_file(tmp_path, [HDR + ",Comment", row(1, "Hi") + ",x"])
    us, st = read_meld_csv(p, "train")
    assert len(us) == 1 and us[0].text == "Hi" and st == []


def test_csv_unknown_emotion(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "Hi"), row(2, "Ugh", emo="contempt", u=1)])
    with pytest.raises(DataError) as e: read_meld_csv(p, "train")
    msg = names_file(e, p); assert "contempt" in msg and "row 2" in msg
    us, st = read_meld_csv(p, "train", on_error="record")
    assert [u.name for u in us] == ["dia0_utt0"] and st[0]["status"] == "unknown_emotion" and st[0]["key"] == "train/dia0_utt1"


def test_csv_duplicate_key(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "Hi"), row(2, "Hi again")])
    with pytest.raises(DataError) as e: read_meld_csv(p, "train")
    assert "duplicate" in names_file(e, p)
    us, st = read_meld_csv(p, "train", on_error="record")
    assert len(us) == 1 and us[0].text == "Hi" and st[0]["status"] == "duplicate_key"


def test_csv_bad_ids(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "Hi", d="x")])
    with pytest.raises(DataError) as e: read_meld_csv(p, "train")
    names_file(e, p)
    assert read_meld_csv(p, "train", on_error="record")[1][0]["status"] == "bad_row"


def test_csv_empty_file(tmp_path):
    p = tmp_path / "train_sent_emo.csv"; p.write_bytes(b"")
    with pytest.raises(DataError) as e: read_meld_csv(p, "train")
    names_file(e, p)


def test_csv_not_utf8(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "It’s café time…")], encoding="cp1252")
    us, st = read_meld_csv(p, "train")
    assert us[0].text == "It\u2019s café time\u2026" and st[0]["status"] == "encoding" and "cp1252" in st[0]["detail"]


def test_csv_mojibake_repaired(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "Iâ\x80\x99m sorry.Â\x85"), row(2, "You\x92re late\x97again", u=1)])
    us, _ = read_meld_csv(p, "train")
    assert us[0].text == "I\u2019m sorry.\u2026" and us[1].text == "You\u2019re late\u2014again"
    assert fix_text("résumé") == "résumé"


def test_csv_empty_text_recorded(tmp_path):
    p = csv_file(tmp_path, [HDR, row(1, "")])
    us, st = read_meld_csv(p, "train")
    assert len(us) == 1 and us[0].text == "" and st[0]["status"] == "empty_text"


def test_missing_and_empty_clip_status(tmp_path):
    cdir = tmp_path / "train"; cdir.mkdir()
    write_clip(cdir / "dia0_utt0.mp4", frames(3), FPS)
    (cdir / "dia0_utt2.mp4").write_bytes(b"")
    p = csv_file(tmp_path, [HDR, row(1, "a"), row(2, "b", u=1), row(3, "c", u=2)])
    us = read_meld(tmp_path, splits=["train"], statuses=(st := []))["train"]
    assert us[0].clip is not None and us[1].clip is None and us[2].clip is None
    assert [s["status"] for s in st] == ["missing_clip", "empty_clip"] and "dia0_utt1.mp4" in st[0]["detail"]


def test_meld_root_missing_says_what_to_download(tmp_path):
    with pytest.raises(DataError) as e: find_meld_split(tmp_path, "dev")
    msg = names_file(e, tmp_path); assert "dev_sent_emo.csv" in msg and "MELD.Raw" in msg and "data/MELD" in msg
    csv_file(tmp_path, [HDR], name="dev_sent_emo.csv")
    with pytest.raises(DataError) as e: find_meld_split(tmp_path, "dev")
    assert "dev_splits_complete" in names_file(e, tmp_path)


# ---------------------------------------------------------------- media
@pytest.mark.parametrize("fn", [probe_clip, read_frames, read_audio])
def test_missing_file(tmp_path, fn):
    p = tmp_path / "nope.mp4"
    with pytest.raises(MediaError) as e: fn(p)
    assert "not found" in names_file(e, p)


@pytest.mark.parametrize("fn", [probe_clip, read_frames, read_audio])
def test_zero_length_file(tmp_path, fn):
    p = tmp_path / "zero.mp4"; p.write_bytes(b"")
    with pytest.raises(MediaError) as e: fn(p)
    assert "empty" in names_file(e, p)


@pytest.mark.parametrize("fn", [probe_clip, read_frames, read_audio])
def test_random_bytes_mp4(tmp_path, fn):
    p = tmp_path / "noise.mp4"; p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError) as e: fn(p)
    names_file(e, p)


@pytest.mark.parametrize("fn", [probe_clip, read_frames, read_audio])
def test_truncated_mp4(tmp_path, clip, fn):
    data = clip.read_bytes(); p = tmp_path / "half.mp4"; p.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as e: fn(p)
    names_file(e, p)


def test_truncated_faststart_mp4(tmp_path):
    "Index (moov) at the front survives the cut: probe_clip still notices packets are missing."
    p = tmp_path / "fs.mp4"
    with av.open(str(p), "w", format="mp4", options={"movflags": "+faststart"}) as c:
        vs = c.add_stream("libx264", rate=Fraction(FPS)); vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(30):
            vf = av.VideoFrame.from_ndarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8), format="rgb24"); vf.pts = i
            for pk in vs.encode(vf): c.mux(pk)
        for pk in vs.encode(): c.mux(pk)
    data = p.read_bytes(); t = tmp_path / "fs_half.mp4"; t.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as e: probe_clip(t)
    assert "truncated" in names_file(e, t)
    try: got, _ = read_frames(t)          # decoding either fails cleanly or yields fewer frames, never a raw av error
    except MediaError as e2: assert t.name in str(e2)
    else: assert len(got) < 30


def test_clip_without_audio(tmp_path):
    p = write_clip(tmp_path / "silent.mp4", frames(4), FPS)
    assert not probe_clip(p).has_audio
    with pytest.raises(MediaError) as e: read_audio(p)
    assert "has no audio stream" in names_file(e, p)


def test_audio_only_clip(tmp_path):
    p = write_clip(tmp_path / "voice.mp4", None, FPS, tone(1.0))
    info = probe_clip(p); assert not info.has_video and info.has_audio and abs(info.duration - 1.0) < 0.05
    with pytest.raises(MediaError) as e: read_frames(p)
    assert "has no video stream" in names_file(e, p)
    assert abs(len(read_audio(p)) - SR) <= 0.01 * SR


def test_one_frame_video(tmp_path):
    p = write_clip(tmp_path / "one.mp4", frames(1), 25, tone(0.04))
    assert probe_clip(p).n_frames == 1
    f, t = read_frames(p, fps=6)
    assert f.shape == (1, 64, 96, 3) and t.tolist() == [0.0]


def test_grayscale_video(tmp_path):
    g = np.tile(np.linspace(0, 255, 96, dtype=np.uint8), (5, 64, 1))
    p = write_clip(tmp_path / "gray.mp4", g, FPS, pix_fmt="gray")
    f, _ = read_frames(p)
    assert f.shape == (5, 64, 96, 3) and f.dtype == np.uint8
    assert np.abs(f[..., 0].astype(int) - f[..., 2]).max() <= 2                 # grey stays grey
    assert np.abs(f[0, :, :, 0].astype(int) - g[0]).mean() < 4


@pytest.mark.parametrize("codec,pix_fmt,ext", [("ffv1", "gray", "mkv"), ("libx264", "yuv420p10le", "mp4"),
                                               ("png", "rgba", "mov")])
def test_other_pixel_formats_come_out_rgb(tmp_path, codec, pix_fmt, ext):
    "Frames decoded as grey, 10-bit yuv or rgba are converted to RGB uint8."
    p = tmp_path / f"v_{pix_fmt}.{ext}"
    ramp = np.tile(np.linspace(0, 255, 96, dtype=np.uint8), (64, 1))
    with av.open(str(p), "w") as c:
        s = c.add_stream(codec, rate=Fraction(FPS)); s.width, s.height, s.pix_fmt = 96, 64, pix_fmt
        for i in range(4):
            vf = av.VideoFrame.from_ndarray(ramp, format="gray"); vf.pts = i
            for pk in s.encode(vf): c.mux(pk)
        for pk in s.encode(): c.mux(pk)
    f, t = read_frames(p)
    assert f.shape == (4, 64, 96, 3) and f.dtype == np.uint8 and len(t) == 4
    assert np.abs(f[0, :, :, 1].astype(int) - ramp).mean() < 4


def test_4k_frame_max_side(tmp_path):
    big = np.zeros((2, 2160, 3840, 3), np.uint8); big[:, :1080] = 255
    p = write_clip(tmp_path / "uhd.mp4", big, FPS, preset="ultrafast")
    f, _ = read_frames(p, max_side=512)
    assert f.shape == (2, 288, 512, 3) and f[0, :140].mean() > 240 and f[0, 150:].mean() < 15


def test_round_trip(tmp_path):
    fr, a = frames(20, 90, 160), tone(2.0, 0.5)
    p = write_clip(tmp_path / "rt.mp4", fr, FPS, a, SR)
    info = probe_clip(p)
    assert (info.n_frames, info.width, info.height, info.fps) == (20, 160, 90, FPS)
    f5, t5 = read_frames(p, fps=5)
    assert len(f5) == 10 and np.allclose(t5, np.arange(10) / 5, atol=1e-3)
    x = read_audio(p, SR)
    assert abs(len(x) - len(a)) <= 0.01 * SR
    assert abs(np.sqrt(np.mean(x[1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 0.05


@pytest.mark.parametrize("layout,expected", [("stereo", 1.0), ("5.1", 1.0)])
def test_multichannel_48k_downmix(tmp_path, layout, expected):
    "MELD-like 48 kHz multichannel AAC: resampled to 16 kHz mono, speech in the centre kept, never clipped."
    p = tmp_path / f"{layout}.mp4"
    t = np.arange(48000) / 48000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    with av.open(str(p), "w") as c:
        a = c.add_stream("aac", rate=48000); a.layout = layout
        n = a.codec_context.layout.nb_channels
        f = av.AudioFrame.from_ndarray(np.repeat(x[None], n, 0), format="fltp", layout=layout); f.sample_rate = 48000; f.pts = 0
        for pk in a.encode(f): c.mux(pk)
        for pk in a.encode(): c.mux(pk)
    y = read_audio(p, 16000)
    assert abs(len(y) - 16000) <= 160 and np.abs(y).max() < 0.99
    rms = np.sqrt(np.mean(y[1000:-1000] ** 2))
    assert 0.8 * expected * 0.5 / np.sqrt(2) < rms < 1.05 * 0.5 / np.sqrt(2), rms


def test_write_is_atomic(tmp_path):
    p = tmp_path / "x.mp4"
    bad = [np.zeros((64, 96, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(ValueError) as e: write_clip(p, bad, FPS)
    assert "x.mp4" in str(e.value) and not p.exists() and list(tmp_path.iterdir()) == []


def test_error_pickles_with_path(tmp_path):
    e = MediaError("has no audio stream", tmp_path / "a.mp4")
    e2 = pickle.loads(pickle.dumps(e))
    assert str(e2) == str(e) and e2.path == e.path and isinstance(e2, ValueError)


# ---------------------------------------------------------------- Aff-Wild2
def affwild(tmp_path, labels, header="Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other", video="v1"):
    d = tmp_path / "Third ABAW Annotations" / "EXPR_Set" / "Train_Set"; d.mkdir(parents=True, exist_ok=True)
    txt = d / f"{video}.txt"
    txt.write_text((header + "\n" if header else "") + "\n".join(map(str, labels)) + "\n")
    (tmp_path / "cropped_aligned" / video).mkdir(parents=True, exist_ok=True)
    import cv2
    for i in range(1, len(labels) + 1):
        cv2.imwrite(str(tmp_path / "cropped_aligned" / video / f"{i:05d}.jpg"), np.full((48, 48, 3), 100, np.uint8))
    return txt


def test_affwild_label_out_of_range(tmp_path):
    txt = affwild(tmp_path, [0, 1, 8])
    with pytest.raises(DataError) as e: read_affwild(tmp_path, "train")
    assert "line 4" in names_file(e, txt)


def test_affwild_non_integer(tmp_path):
    txt = affwild(tmp_path, [0, "happy"])
    with pytest.raises(DataError) as e: read_affwild(tmp_path, "train")
    assert "'happy'" in names_file(e, txt)


def test_affwild_missing_header(tmp_path):
    txt = affwild(tmp_path, [0, 1], header=None)
    with pytest.raises(DataError) as e: read_affwild(tmp_path, "train")
    assert "header" in names_file(e, txt)


def test_affwild_missing_jpg_and_other_dropped(tmp_path):
    affwild(tmp_path, [4, 7, -1, 6, 3])
    (tmp_path / "cropped_aligned" / "v1" / "00004.jpg").unlink()
    (s,) = read_affwild(tmp_path, "train")
    assert s.frame_ids.tolist() == [1, 5] and s.labels.tolist() == [EMO2ID["joy"], EMO2ID["fear"]]
    assert s.n_missing == 1 and s.n_dropped == 2


def test_affwild_not_found(tmp_path):
    with pytest.raises(DataError) as e: find_affwild(tmp_path)
    assert "data/AffWild2" in names_file(e, tmp_path)


def test_face_image_not_an_image(tmp_path):
    p = tmp_path / "face.jpg"; p.write_text("not a jpeg")
    with pytest.raises(DataError) as e: load_face_image(p, 112)
    names_file(e, p)
