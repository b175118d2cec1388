"""The ASD slot of stage 1 (nbs/01a_asd.ipynb): a scorer registered in face_rules goes through `analyze_clip`
(and the whole utterance path) and changes the choice; TalkNet with random weights saved in the checkpoint's key
layout loads through `get_scorer` and runs through the same path. Real dlib analyzer on a tiny SynMELD clip
(the corpus is generated on first use, ~15 s)."""
import json

import numpy as np
import pytest
import torch

from facialmmt.core import get_config
from facialmmt.data import read_audio, read_frames, read_meld
from facialmmt.face_rules import analyze_clip, get_scorer, register_scorer
from facialmmt.synth import ensure_corpus


@pytest.fixture(scope="module")
def clip():
    "A tiny-corpus clip with the speaker on screen and two tracks of >= 1 s each, and its rules-only analysis."
    from facialmmt.faces import load_face_analyzer
    tiny = ensure_corpus(preset="tiny", seed=0)
    gt = json.loads((tiny / "ground_truth.json").read_text())["clips"]
    cfg = get_config("cpu")
    s1 = cfg.stage1
    fa = load_face_analyzer(cfg.encoders, s1)
    for utts in read_meld(tiny, ["dev", "test", "train"]).values():
        for u in utts:
            g = gt[u.key]
            if not g["speaker_on_screen"] or len(g["face_motion"]) < 2: continue
            frames, times = read_frames(u.clip, fps=s1.fps)
            audio = read_audio(u.clip, sr=cfg.data.sample_rate)
            cf = analyze_clip(frames, times, audio, cfg.data.sample_rate, fa, s1)
            long = [t for t in cf.tracks if t.n_faces / s1.fps >= s1.asd_min_seconds]
            top = max(cf.tracks, key=lambda t: t.rule_score)
            if len(long) >= 2 and top.is_candidate:
                return dict(utt=u, frames=frames, times=times, audio=audio, cfg=cfg, fa=fa, rules=cf, long=long, tiny=tiny)
    pytest.skip("no tiny-corpus clip with two tracks of >= 1 s")


class Favour:
    "A stub scorer: the track at position `k` (tracks come in increasing id order) speaks, every other one is silent."
    name = "favour"
    def __init__(self, k: int): self.k, self.calls = k, 0
    def score(self, track_crops, track_frames, audio, sr, times):
        self.calls += 1
        return [np.full(len(f), 6.0 if i == self.k else -6.0) for i, f in enumerate(track_frames)]


def _favour_cfg(c, tmp_path, target):
    ids = sorted(t.track_id for t in c["rules"].tracks)
    ck = tmp_path / "favour.ckpt"; ck.write_text("stub")        # get_scorer insists on an existing checkpoint file
    register_scorer("favour", lambda s1: Favour(ids.index(target)))
    cfg = get_config("cpu", **{"stage1.use_asd": True, "stage1.asd_model": "favour", "stage1.asd_checkpoint": str(ck)})
    return cfg


def test_registered_scorer_changes_the_choice(clip, tmp_path):
    c = clip
    rules = {t.track_id: t for t in c["rules"].tracks}
    top_rules = max(rules.values(), key=lambda t: t.rule_score).track_id
    target = min(c["long"], key=lambda t: t.rule_score).track_id            # the track the rules like least
    assert target != top_rules
    cfg = _favour_cfg(c, tmp_path, target)
    scorer = get_scorer(cfg.stage1)
    assert isinstance(scorer, Favour)
    cf = analyze_clip(c["frames"], c["times"], c["audio"], cfg.data.sample_rate, c["fa"], cfg.stage1, scorer=scorer)
    assert scorer.calls == 1
    by = {t.track_id: t for t in cf.tracks}
    top = max(cf.tracks, key=lambda t: t.rule_score).track_id
    assert top == target != top_rules                                          # the scorer flipped the top track
    assert [t.track_id for t in cf.tracks if t.is_candidate] == [target] and by[target].asd_decided
    assert by[top_rules].rules_score == pytest.approx(rules[top_rules].rule_score)   # the rules' view is kept
    assert by[top_rules].rules_score > by[target].rules_score
    # ASD as a 4th rule term instead ("mean" fusion): the favoured track gains, the rules' top loses
    cfg.stage1.asd_fusion = "mean"
    cm = analyze_clip(c["frames"], c["times"], c["audio"], cfg.data.sample_rate, c["fa"], cfg.stage1, scorer=get_scorer(cfg.stage1))
    bm = {t.track_id: t for t in cm.tracks}
    assert bm[target].rule_score > rules[target].rule_score and bm[top_rules].rule_score < rules[top_rules].rule_score


def test_scorer_changes_the_final_sequence(clip, tmp_path):
    "Through the whole utterance path (pass 1 with the scorer, pass 2 without a library): the final faces change track."
    from facialmmt.stage1 import analyze_utterance, finish_utterance
    c = clip
    target = min(c["long"], key=lambda t: t.rule_score).track_id
    def final_tracks(cfg, scorer):
        m1, a1 = analyze_utterance(c["utt"], cfg, c["fa"], scorer)
        meta, arr = finish_utterance(c["utt"], m1, a1, cfg, None)
        return set(arr["track_ids_all"][arr["clusters_all"] == meta["chosen_cluster"]].tolist())
    base = get_config("cpu")
    before = final_tracks(base, None)
    cfg = _favour_cfg(c, tmp_path, target)
    after = final_tracks(cfg, get_scorer(cfg.stage1))
    assert target not in before and after == {target}, (before, after)


def test_talknet_random_weights_run_through_analyze_clip(clip, tmp_path):
    from facialmmt.asd import TalkNet, TalkNetScorer
    c = clip
    torch.manual_seed(0)
    ck = tmp_path / "pretrain_TalkSet.model"
    torch.save(TalkNet().state_dict(), ck)                                    # random weights, the checkpoint's key names
    cfg = get_config("cpu", **{"stage1.use_asd": True, "stage1.asd_checkpoint": str(ck)})
    scorer = get_scorer(cfg.stage1)                                            # "talknet": registered on first use
    assert isinstance(scorer, TalkNetScorer) and scorer.net.load_report["missing"] == []
    scorer.durations = (1,)                                                    # one window length: seconds on a CPU
    cf = analyze_clip(c["frames"], c["times"], c["audio"], cfg.data.sample_rate, c["fa"], cfg.stage1, scorer=scorer)
    assert len(cf.tracks) == len(c["rules"].tracks)
    for t in cf.tracks:
        assert t.asd is not None and 0 < t.asd < 1 and t.rules_score is not None
    if not any(t.asd_decided for t in cf.tracks):                              # TalkNet heard nobody: the rules decided
        assert [t.is_candidate for t in cf.tracks] == [t.is_candidate for t in c["rules"].tracks]


def test_talknet_bad_checkpoint_is_refused(tmp_path):
    ck = tmp_path / "pretrain_TalkSet.model"
    torch.save({"backbone.weight": torch.zeros(3)}, ck)
    cfg = get_config("cpu", **{"stage1.use_asd": True, "stage1.asd_checkpoint": str(ck)})
    with pytest.raises(ValueError, match="not a TalkNet checkpoint"):
        get_scorer(cfg.stage1)
