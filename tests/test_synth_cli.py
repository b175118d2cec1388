"SynMELD end to end: two processes asking for the same corpus at once, and the `facialmmt synth` command line."
import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
ENSURE = ("import sys; from facialmmt.synth import ensure_corpus; "
          "print(ensure_corpus(sys.argv[1], preset='tiny', seed=3, workers=1))")


def test_concurrent_ensure_corpus_then_cli(tmp_path):
    root = tmp_path / "corpus"
    procs = [subprocess.Popen([sys.executable, "-c", ENSURE, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.strip().splitlines()[-1] == str(root), out
    meta = json.loads((root / "meta.json").read_text())
    assert meta["preset"] == "tiny" and meta["seed"] == 3
    # nothing half-written is left beside it (only the corpus and its lock file)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".corpus.lock", "corpus"]

    # the command line: an existing complete corpus is reused, not regenerated
    r = subprocess.run([str(BIN / "facialmmt"), "synth", "--out", str(root), "--preset", "tiny", "--seed", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "already holds" in r.stdout, (r.stdout, r.stderr)
    assert json.loads((root / "meta.json").read_text()) == meta

    # a folder holding something else: one clean error line, exit code 1, no traceback
    other = tmp_path / "other"; other.mkdir(); (other / "notes.txt").write_text("mine")
    r = subprocess.run([str(BIN / "facialmmt"), "synth", "--out", str(other), "--preset", "tiny"], capture_output=True, text=True)
    assert r.returncode == 1 and "not empty" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (other / "notes.txt").read_text() == "mine"

    # an unknown preset: argparse's usage error
    r = subprocess.run([str(BIN / "facialmmt"), "synth", "--out", str(tmp_path / "x"), "--preset", "huge"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
