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
