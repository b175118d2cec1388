"""Results belong to their corpus and to the checkout that computed them (issues 12 and 13): a finished seed is reused
only for the same config, models, corpus and stage-1 outputs, and only when this checkout holds its checkpoint."""
import json
import shutil

from facialmmt.core import get_config
from facialmmt.synth import ensure_corpus
from facialmmt.checkpoint import corpus_fingerprint
from facialmmt.train import run_experiment


def _cfg():
    # text only, one epoch: the reuse rule does not depend on the modalities, and this trains in seconds
    return get_config("tiny", **{"model.modalities": "t", "train.epochs": 1})


def test_a_second_corpus_does_not_reuse_the_first_ones_seed(tmp_path):
    a = tmp_path / "A"
    shutil.copytree(ensure_corpus(preset="tiny", seed=0), a)
    out = tmp_path / "runs" / "t"                     # the same output folder for both corpora, on purpose
    cache = tmp_path / "cache"
    run_experiment(_cfg(), a, None, out, seeds=[0], cache_dir=cache, progress=False)
    mj, rec = out / "seed0" / "metrics.json", out / "seed0" / "ckpt" / "local_run.json"
    first = (mj.stat().st_mtime_ns, json.loads(rec.read_text())["inputs"])
    assert first[1]["corpus"] == corpus_fingerprint(a)

    run_experiment(_cfg(), a, None, out, seeds=[0], cache_dir=cache, progress=False)   # same inputs: reused
    assert mj.stat().st_mtime_ns == first[0]

    b = tmp_path / "B"                                # another corpus: one label changed in the train CSV
    shutil.copytree(a, b)
    csv = next(p for p in b.glob("*.csv") if "train" in p.name)
    lines = csv.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("neutral", "joy") if "neutral" in lines[1] else lines[1].replace(",", ", ", 1)
    csv.write_text("".join(lines))
    assert corpus_fingerprint(b) != corpus_fingerprint(a)
    run_experiment(_cfg(), b, None, out, seeds=[0], cache_dir=cache, progress=False)
    assert mj.stat().st_mtime_ns != first[0], "corpus B reused the seed trained on corpus A"
    assert json.loads(rec.read_text())["inputs"]["corpus"] == corpus_fingerprint(b)


def test_config_meld_root_names_the_corpus(tmp_path):
    import pytest
    cfg = get_config("tiny", **{"data.meld_root": str(tmp_path / "no_such_MELD")})
    with pytest.raises(FileNotFoundError, match="data.meld_root"):
        run_experiment(cfg, None, None, tmp_path / "out", seeds=[0], progress=False)


def test_run_inputs_are_resolved_once_per_run_not_per_seed(tmp_path, monkeypatch):
    # the models (hashing weight files) and the corpus / stage-1 fingerprints do not depend on the seed
    import facialmmt.checkpoint as ck
    calls = []
    real = ck.corpus_fingerprint
    monkeypatch.setattr(ck, "corpus_fingerprint", lambda c: calls.append(c) or real(c))
    out = tmp_path / "runs" / "t"
    r = run_experiment(_cfg(), ensure_corpus(preset="tiny", seed=0), None, out, seeds=[0, 1], cache_dir=tmp_path / "cache",
                       progress=False)
    assert len(calls) == 1, f"corpus fingerprinted {len(calls)} times for 2 seeds"
    recs = [json.loads((out / f"seed{s}" / "ckpt" / "local_run.json").read_text())["inputs"] for s in (0, 1)]
    assert recs[0]["config_hash"] != recs[1]["config_hash"]            # the seed is part of each seed's config hash
    assert {k: v for k, v in recs[0].items() if k != "config_hash"} == {k: v for k, v in recs[1].items() if k != "config_hash"}
    assert sorted(r["per_seed"]) == ["0", "1"]
