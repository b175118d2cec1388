"""Each notebook opens the way nbdev reads it (issue 15): a title cell with only '# <module>' and one '> description'
line. nbdev's frontmatter takes the first '>' line alone as the description and drops the title cell from the docs
page, so a second '>' line is cut from the module docstring and any other text in that cell vanishes from the site."""
import json
import re
from pathlib import Path

import pytest
from nbdev.frontmatter import _md2dict

NBS = sorted((Path(__file__).resolve().parents[1] / "nbs").glob("*.ipynb"))


def _cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


def _default_exp(cells: list[dict]) -> str:
    for c in cells:
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(c["source"]), re.M)
        if m: return m.group(1)
    return "facialmmt"  # index.ipynb exports nothing: it is the package's page


@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.stem)
def test_title_cell_is_the_module_name_and_one_description_line(nb):
    cells = _cells(nb)
    first = cells[0]
    assert first["cell_type"] == "markdown", f"{nb.name}: the first cell must be the markdown title cell"
    text = "".join(first["source"])
    lines = [l for l in text.splitlines() if l.strip()]
    assert len(lines) == 2 and lines[0].startswith("# ") and lines[1].startswith("> "), (
        f"{nb.name}: the title cell holds '# title' and one '> description' line, nothing else (got {lines!r})")
    meta = _md2dict(text)
    assert meta.get("title") == _default_exp(cells), f"{nb.name}: title {meta.get('title')!r} is not its module's name"
    assert meta.get("description") == lines[1][2:].strip()
