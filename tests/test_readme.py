"""The README cannot go stale: it is rendered from nbs/index.ipynb and the committed reports/, and everything it links
to exists. A fresh clone has only what is committed, so these checks read nothing that git ignores."""
import re
import subprocess
from pathlib import Path

from facialmmt.reproduce import refresh_readme

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _tracked(rel: str) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", rel], cwd=ROOT, capture_output=True).returncode == 0


def test_readme_is_a_fresh_render_of_the_committed_reports(tmp_path):
    fresh = refresh_readme(tmp_path).read_text()
    assert fresh == README, ("README.md differs from a fresh render of nbs/index.ipynb + reports/: run `make readme` "
                             "and commit it (or commit the reports it reads)")


def test_results_summary_is_a_fresh_render_of_the_reports_it_gathers(tmp_path):
    """reports/README_results.md (which the README shows) gathers the datasheet, stage-1, training, ablation and case
    tables: rebuilt from the committed reports, it must come out the same, so no table in the README is an old copy."""
    import shutil
    from facialmmt.readme import write_results_summary
    listed = subprocess.run(["git", "ls-files", "reports"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for rel in listed:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT / rel, tmp_path / rel)
    fresh = write_results_summary(tmp_path / "reports").read_text().replace(f"{tmp_path}/", "")   # paths as in the repo
    assert fresh == (ROOT / "reports" / "README_results.md").read_text(), (
        "reports/README_results.md is not what its tables give: run `make readme` (it gathers the tables, then renders "
        "the README) and commit both")


def test_readme_links_and_images_exist_and_are_committed():
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    local = [l.split("#")[0] for l in links if not re.match(r"(https?:|mailto:|#)", l)]
    assert local, "the README links to nothing local: expected tables, figures and notebooks"
    missing = [l for l in local if not (ROOT / l).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
    untracked = [l for l in local if (ROOT / l).is_file() and not _tracked(l)]
    assert not untracked, f"README links to files that a fresh clone would not have (not committed): {untracked}"


def test_readme_shows_every_result_it_promises():
    assert "not generated" not in README and "not yet been run" not in README
    for title in ("Table 2 layout", "Table 5 equivalent", "Table 4 equivalent", "Case studies", "Reference check"):
        assert title in README, f"README lacks its {title!r} section"


def test_committed_executed_notebooks_are_linked_and_carry_outputs():
    """reports/notebooks/ (published by the default run) is what a reader opens instead of running the chain: each
    committed one is linked from the README and has outputs (an executed copy, not the bare source)."""
    import nbformat
    listed = subprocess.run(["git", "ls-files", "reports/notebooks"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for rel in [p for p in listed if p.endswith(".ipynb")]:
        assert f"]({rel})" in README, f"README does not link the published notebook {rel}: run `make readme`"
        nb = nbformat.read(ROOT / rel, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{rel} has no outputs: not an executed copy"
        assert str(ROOT) not in nbformat.writes(nb), f"{rel} names this checkout's absolute path"
