"Repository-level checks: nbdev keeps papermill's tags, the CLI entry point works."
import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def test_nbdev_clean_keeps_parameters_tag(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("epochs = 1", metadata={"tags": ["parameters"], "scrolled": True})
    cell.execution_count = 3
    nb.cells = [cell]
    p = tmp_path / "x.ipynb"
    nbformat.write(nb, p)
    subprocess.run([str(Path(sys.executable).parent / "nbdev_clean"), "--fname", str(p)], check=True, cwd=ROOT)
    out = json.loads(p.read_text())
    meta = out["cells"][0]["metadata"]
    assert meta.get("tags") == ["parameters"], meta
    assert "scrolled" not in meta and out["cells"][0]["execution_count"] is None


def test_committed_notebooks_are_clean():
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        d = json.loads(nb.read_text())
        for c in d["cells"]:
            if c["cell_type"] == "code":
                assert c.get("execution_count") is None and not c.get("outputs"), f"{nb.name}: run nbdev_clean"


def test_cli_help():
    r2 = subprocess.run([str(Path(sys.executable).parent / "facialmmt"), "--help"], capture_output=True, text=True)
    assert r2.returncode == 0 and "reproduce" in r2.stdout, r2.stderr
