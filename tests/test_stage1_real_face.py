"""Stage 1 on a real face (issue 14: build real-looking faces and out-of-sync movers into the tests).

The only real face photo that ships inside our dependencies is Grace Hopper's portrait (US Navy, public domain), in
matplotlib's sample data. Its jaw is lowered and its mouth opened by a smooth warp, so the photo talks; beside it a
SynMELD-rendered head moves its mouth as much, but half a clip out of sync with the speech. Either one is the speaker.
Stage 1 (pass 1: detection, landmarks, tracks, rules; pass 2: clustering, matching) must keep the speaker's face
sequence: with no library (the rules decide), and with a library of both people (the library decides).
"""
from types import SimpleNamespace

import cv2
import matplotlib.cbook
import numpy as np
import pytest

from facialmmt.core import get_config
from facialmmt.faces import FaceAnalyzer
from facialmmt.matching import FaceLibrary
from facialmmt.stage1 import analyze_frames, finish_utterance
from facialmmt.synth_heads import MOUTH_LEVELS, make_cast, render_head
from facialmmt.synth_voice import SR, synth_speech

FPS, DURATION, H, W = 6.0, 4.0, 360, 640
PHOTO_X, HEAD_X, HEAD_Y = 20, 390, 60          # the photo on the left, the rendered head on the right


@pytest.fixture(scope="module")
def analyzer():
    return FaceAnalyzer(frame_model="thumb")


@pytest.fixture(scope="module")
def photo(analyzer):
    img = cv2.cvtColor(cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    img = cv2.resize(img, (307, H), interpolation=cv2.INTER_AREA)
    faces = analyzer.detect(img)
    assert len(faces) == 1, "the portrait should hold one face"
    return img, faces[0].landmarks


def talking(img, lm):
    "gap (px) -> the photo with its jaw lowered by `gap` and a dark mouth opening between the lips."
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]].astype(np.float32)
    xc, half = (lm[48, 0] + lm[54, 0]) / 2, (lm[54, 0] - lm[48, 0]) / 2
    y_up, y_lo, y_chin = lm[62, 1], lm[66, 1], lm[8, 1]
    wx = np.clip(1.5 - np.abs(xx - xc) / ((lm[12, 0] - lm[4, 0]) / 2), 0, 1)                   # the jaw's width
    wy = np.clip((yy - y_up) / max(y_lo - y_up, 1.0), 0, 1) * np.clip(1 - (yy - y_chin) / (0.35 * (y_chin - y_up)), 0, 1)
    w = (wx * wy).astype(np.float32)

    def frame(gap: float) -> np.ndarray:
        out = cv2.remap(img, xx, yy - np.float32(gap) * w, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if gap > 0.5:
            c = (int(round(xc)), int(round((y_up + y_lo + gap) / 2)))
            cv2.ellipse(out, c, (int(round(0.8 * half)), int(round((y_lo + gap - y_up) / 2))), 0, 0, 360, (70, 25, 30), -1, cv2.LINE_AA)
        return out
    return frame


def envelope(audio: np.ndarray, times: np.ndarray) -> np.ndarray:
    "The speech's RMS envelope (10 ms hops, 150 ms smoothing) at `times`, peak 1."
    hop = int(0.01 * SR); n = len(audio) // hop
    env = np.sqrt((audio[:n * hop].reshape(n, hop) ** 2).mean(1) + 1e-12)
    env = np.convolve(env, np.ones(15) / 15, mode="same")
    return np.interp(times, np.arange(n) * 0.01, env / env.max())


def paste(frame: np.ndarray, sprite: np.ndarray, x0: int, y0: int) -> None:
    al = sprite[..., 3:].astype(np.float32) / 255
    roi = frame[y0:y0 + sprite.shape[0], x0:x0 + sprite.shape[1]]
    roi[:] = (roi * (1 - al) + sprite[..., :3] * al).round().astype(np.uint8)


def clip(photo, photo_speaks: bool, seed: int):
    """Sampled frames, their times and the audio of a two-person clip; the speaker's mouth follows the speech. The
    speaker is hidden in two frames, so the mover has the larger face track: the largest cluster is the wrong one."""
    rng = np.random.default_rng(seed)
    head = make_cast(2, seed)[0]
    audio, _ = synth_speech(DURATION, head, "neutral", rng)
    times = np.arange(int(DURATION * FPS)) / FPS
    in_sync = envelope(audio, times)
    late = envelope(audio, (times + DURATION / 2) % DURATION)       # the same movement, half a clip late
    photo_gap, head_gap = (in_sync, late) if photo_speaks else (late, in_sync)
    talk = talking(*photo)
    frames = []
    for i in range(len(times)):
        f = np.full((H, W, 3), 96, np.uint8)
        hidden = i in (10, 11)
        if not (hidden and photo_speaks): f[:, PHOTO_X:PHOTO_X + photo[0].shape[1]] = talk(16 * photo_gap[i])
        if not (hidden and not photo_speaks):
            paste(f, render_head(head, "neutral", int(round(head_gap[i] * (MOUTH_LEVELS - 1)))), HEAD_X, HEAD_Y)
        frames.append(f)
    return np.stack(frames), times, audio.astype(np.float32), head


def run_stage1(frames, times, audio, analyzer, speaker="Nobody", library=None):
    cfg = get_config("cpu")
    utt = SimpleNamespace(key="test/dia0_utt0", split="test", speaker=speaker, clip=None)
    meta, arrays = analyze_frames(utt, frames, times, audio, SR, cfg, analyzer=analyzer)
    contract, out = finish_utterance(utt, meta, arrays, cfg, library)
    side = {}                                                        # track id -> "photo" | "head"
    for t in np.unique(arrays["track_ids"]):
        x = float(np.mean(arrays["boxes"][arrays["track_ids"] == t][:, 0]))
        side[int(t)] = "photo" if x < W / 2 else "head"
    return meta, contract, out, side


def chosen_side(contract, side):
    tracks = [c["track_id"] for c in contract["candidates"] if c["cluster"] == contract["chosen_cluster"]]
    return {side[t] for t in tracks}


@pytest.mark.parametrize("photo_speaks,seed", [(True, 0), (True, 1), (False, 0), (False, 1)])
def test_rules_pick_the_speaker_real_photo_vs_rendered_mover(photo, analyzer, photo_speaks, seed):
    frames, times, audio, _ = clip(photo, photo_speaks, seed)
    meta, contract, out, side = run_stage1(frames, times, audio, analyzer)
    speaker = "photo" if photo_speaks else "head"
    assert meta["status"] == "ok" and sorted(side.values()) == ["head", "photo"], (meta["status"], side)
    best = max(meta["tracks"], key=lambda t: t["rule_score"])
    assert side[best["track_id"]] == speaker, meta["tracks"]                     # the rules rank the speaker first
    assert contract["decided_by"] == "rules (no library)" and chosen_side(contract, side) == {speaker}, contract
    assert contract["n_faces"]["final"] == len(frames) - 2                        # one face a frame where it is seen


@pytest.fixture(scope="module")
def library(photo, analyzer):
    "A library of both people from other pictures of them: the mirrored photo (Grace), and the head at rest (Nora)."
    img, _ = photo
    mirror = np.ascontiguousarray(img[:, ::-1])
    fm = analyzer.detect(mirror)[0]
    rest = np.full((H, W, 3), 96, np.uint8)
    paste(rest, render_head(make_cast(2, 2)[0], "neutral", 0), HEAD_X, HEAD_Y)
    fh = analyzer.detect(rest)[0]
    emb = {"Grace": analyzer.identity(mirror, [fm]), "Nora": analyzer.identity(rest, [fh])}
    crops = {"Grace": analyzer.align(mirror, fm)[None], "Nora": analyzer.align(rest, fh)[None]}
    return FaceLibrary(["Grace", "Nora"], emb, crops, {"Grace": ["mirror"], "Nora": ["rest"]})


def test_library_picks_the_real_person(photo, analyzer, library):
    # dlib tells the real face from the rendered one: their cosine is under stage 1's same-person threshold
    assert float(library.embeddings["Grace"][0] @ library.embeddings["Nora"][0]) < get_config("cpu").stage1.knn_min_sim
    for photo_speaks, speaker, expect in ((True, "Grace", "photo"), (False, "Nora", "head")):
        frames, times, audio, _ = clip(photo, photo_speaks, 2)
        meta, contract, out, side = run_stage1(frames, times, audio, analyzer, speaker=speaker, library=library)
        assert contract["leading_role"] and contract["decided_by"].startswith("library"), contract
        assert chosen_side(contract, side) == {expect}, contract


def test_speaker_off_screen_real_face_left_empty(photo, analyzer, library):
    # Nora speaks off screen; only the real photo is seen, moving its mouth out of sync. The library knows both, so
    # the on-screen face is Grace's, not the speaker's: the sequence stays empty
    frames, times, audio, head = clip(photo, False, 2)
    frames = frames.copy(); frames[:, :, W // 2:] = 96                          # the rendered speaker leaves the frame
    meta, contract, out, side = run_stage1(frames, times, audio, analyzer, speaker="Nora", library=library)
    assert set(side.values()) == {"photo"} and contract["n_faces"]["final"] == 0, contract
