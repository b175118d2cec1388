"""Helpers shared by the bench/ scripts: repository import path, peak memory, load average, latency statistics and
"run this measurement in a fresh Python process" (so each peak RSS belongs to one measurement only).

Not a benchmark itself. `import _common` works from any bench/ script (Python puts the script's folder on sys.path).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CHILD_TAG = "BENCH_RESULT "


def peak_rss_mib() -> float:
    "Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def loadavg() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def median_p90(xs) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def emit(result: dict) -> None:
    "In a child process: hand one JSON result back to the parent (see run_child)."
    print(CHILD_TAG + json.dumps(result), flush=True)


def run_child(script: str, args: list[str], timeout: float | None = None, python: str | None = None) -> dict:
    """Run `python bench/<script> args` in a fresh process and return what it emit()-ted; its stderr passes through.
    `python`: another interpreter (default: this one)."""
    cmd = [python or sys.executable, str(Path(__file__).with_name(script)), *map(str, args)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout, cwd=ROOT)
    lines = [l for l in p.stdout.splitlines() if l.startswith(CHILD_TAG)]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout[-2000:]}")
    return json.loads(lines[-1][len(CHILD_TAG):])


def write_pass1(out, js, meta: dict, arrays: dict) -> None:
    "Write one clip's pass-1 result (json + npz) under `out/_pass1/<split>/`, named as the pass-1 json `js` it comes from."
    from facialmmt.matching import save_npz
    d = Path(out) / "_pass1" / Path(js).parent.name; d.mkdir(parents=True, exist_ok=True)
    save_npz(d / Path(js).with_suffix(".npz").name, arrays); (d / Path(js).name).write_text(json.dumps(meta))
