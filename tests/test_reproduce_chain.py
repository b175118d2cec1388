"""The whole papermill chain on the tiny preset (`facialmmt reproduce --preset tiny`), into a temporary reports folder,
then again: the second run must reuse what this checkout computed; then as a fresh clone sees it (metrics committed,
no checkpoints): the third run must train again, find its checkpoints, and reproduce the same numbers exactly. No wall
time is asserted (the measured ratio is in the README). Part of CI's default run."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from facialmmt.core import resolve_path

ROOT = Path(__file__).resolve().parents[1]


def _reproduce(rep, *extra):
    r = subprocess.run([str(Path(sys.executable).parent / "facialmmt"), "reproduce", "--preset", "tiny", "--reports", str(rep), *extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_tiny_chain_produces_every_table_and_figure(tmp_path):
    rep = tmp_path / "reports"
    _reproduce(rep)
    run = json.loads((rep / "last_run.json").read_text())
    assert [s["step"] for s in run["steps"]] == ["corpus", "stage1", "train", "ablations", "case_studies"]
    for f in ["stage1.md", "stage1.json", "train/tiny/table2.md", "train/tiny/table3.md", "train/tiny/confusion.png",
              "ablations/table5.md", "ablations/table5.png", "ablations/table4.md", "ablations/table4.png",
              "case_studies/cases.md", "case_studies/case_1.png", "README_results.md"]:
        assert (rep / f).exists(), f
    t5 = (rep / "ablations" / "table5.md").read_text()
    assert "w/o Auxiliary DFER Module" in t5 and "66.58" in t5     # ours beside the paper's MELD number
    # every reported row traces to a metrics JSON with its config hash and seed
    abl = json.loads((rep / "ablations" / "ablations.json").read_text())
    for row in abl["rows"].values():
        m = json.loads((resolve_path(row["out_dir"]) / "seed0" / "metrics.json").read_text())
        assert m["seed"] == 0 and m["config_hash"]
    # a second run reuses every finished seed (same config hash) instead of training again
    seed_files = [resolve_path(row["out_dir"]) / "seed0" / "metrics.json" for row in abl["rows"].values()] + [rep / "train/tiny/seed0/metrics.json"]
    before = {f: f.stat().st_mtime_ns for f in seed_files}
    r2 = _reproduce(rep, "--steps", "train,ablations")
    assert {f: f.stat().st_mtime_ns for f in seed_files} == before
    run2 = json.loads((rep / "last_run.json").read_text())
    assert [s["step"] for s in run2["steps"]] == ["train", "ablations"]

    # A fresh clone: the committed reports hold every seed's metrics but no checkpoint and no local run record
    # (reports/**/ckpt/ is ignored by git). The chain must train again, not reuse, and the case studies must find
    # their checkpoint. The numbers it recomputes must equal the reference (the reports as found before the run).
    import shutil
    ckpts = sorted(rep.glob("**/ckpt"))
    assert ckpts and all((c / "local_run.json").exists() and (c / "best" / "model.json").exists() for c in ckpts)
    for c in ckpts: shutil.rmtree(c)
    case_png = rep / "case_studies" / "case_1.png"
    before = {f: f.stat().st_mtime_ns for f in seed_files + [case_png]}
    r3 = _reproduce(rep, "--steps", "train,ablations,case_studies")
    assert "reusing" not in r3.stderr + r3.stdout, "a seed was reused from metrics without a checkpoint"
    assert all(f.stat().st_mtime_ns != before[f] for f in seed_files + [case_png]), "a step did not recompute"
    assert all((f.parent / "ckpt" / "best" / "model.json").exists() for f in seed_files)
    ref = json.loads((rep / "last_run.json").read_text())["reference"]
    assert ref["numbers"] and ref["new"] == 0 and ref["differ"] == 0, ref     # same seed, same machine: identical
    assert "identical" in r3.stdout
