"""Infomap clustering of face embeddings at scale: time and peak memory of `facialmmt.clustering.infomap_cluster` at
10k, 50k and 100k embeddings, split into the kNN graph build (`knn_graph`: exact chunked torch top-k + edge list) and
Infomap itself (`infomap_cluster(..., edges=E)`: adding the links, the search, the singleton clean-up). Each size runs
in a fresh Python process, so its peak RSS (ru_maxrss) is that size's alone. The 100k / 10k time ratio is printed last
(10x the embeddings: 10x is linear, 100x quadratic).

    python bench/bench_infomap.py [--sizes 10000,50000,100000] [--k 50] [--min-sim 0.58] [--ids 1000] [--chunk 1024]

Data: synthetic unit 128-d embeddings of `--ids` identities (seed 0): each face is its identity's random unit centre
plus Gaussian noise, so two faces of one identity have cosine ~0.8 and of two identities ~0 (the reference k = 50,
cos >= 0.58 setting separates them). Torch runs on 1 thread unless --threads says otherwise.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import _common


def embeddings(n: int, ids: int, dim: int = 128, noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((ids, dim)).astype(np.float32); c /= np.linalg.norm(c, axis=1, keepdims=True)
    y = rng.integers(0, ids, n)
    x = c[y] + noise * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def one_size(a) -> dict:
    "Runs in the child process: one size, both phases, peak RSS after each."
    import torch
    from facialmmt.clustering import bcubed_prf, infomap_cluster, knn_graph
    torch.set_num_threads(a.threads)
    x, y = embeddings(a.child, a.ids)
    base = _common.peak_rss_mib()
    t0 = time.perf_counter(); E = knn_graph(x, a.k, a.min_sim, chunk=a.chunk); t_knn = time.perf_counter() - t0
    rss_knn = _common.peak_rss_mib()
    t0 = time.perf_counter(); lab = infomap_cluster(x, a.k, a.min_sim, edges=E); t_im = time.perf_counter() - t0
    rss_all = _common.peak_rss_mib()
    bp, br, bf = bcubed_prf(y, lab)
    return dict(n=a.child, knn_s=t_knn, infomap_s=t_im, edges=int(len(E)), rss_data_mib=base, rss_after_knn_mib=rss_knn,
                rss_peak_mib=rss_all, n_clusters=int(lab.max() + 1), n_true=int(len(np.unique(y))), bcubed_f=bf)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,100000"); ap.add_argument("--ids", type=int, default=1000)
    ap.add_argument("--k", type=int, default=50); ap.add_argument("--min-sim", type=float, default=0.58)
    ap.add_argument("--chunk", type=int, default=1024, help="rows per kNN block (knn_topk default: 1024)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child: return _common.emit(one_size(a))
    sizes = [int(s) for s in a.sizes.split(",")]
    print(f"infomap_cluster on synthetic 128-d embeddings, {a.ids} identities, k={a.k}, min_sim={a.min_sim}, "
          f"kNN block {a.chunk} rows, torch threads {a.threads}; {_common.loadavg()}")
    res = {}
    for n in sizes:
        flags = ["--child", n, "--ids", a.ids, "--k", a.k, "--min-sim", a.min_sim, "--chunk", a.chunk, "--threads", a.threads]
        r = res[n] = _common.run_child(Path(__file__).name, flags)
        tot = r["knn_s"] + r["infomap_s"]
        print(f"n={n:>7}: kNN graph {r['knn_s']:7.1f} s ({100 * r['knn_s'] / tot:3.0f} %), Infomap {r['infomap_s']:7.1f} s, "
              f"total {tot:7.1f} s; {r['edges']} edges; peak RSS {r['rss_peak_mib']:6.0f} MiB (imports+data {r['rss_data_mib']:.0f}, "
              f"after kNN {r['rss_after_knn_mib']:.0f}); {r['n_clusters']} clusters for {r['n_true']} identities, "
              f"BCubed F {r['bcubed_f']:.3f}; {_common.loadavg()}")
    lo, hi = min(sizes), max(sizes)
    t = {n: res[n]["knn_s"] + res[n]["infomap_s"] for n in sizes}
    print(f"ratio time {hi} / {lo} (x{hi / lo:g} embeddings): {t[hi] / t[lo]:.1f}x "
          f"(kNN {res[hi]['knn_s'] / res[lo]['knn_s']:.1f}x, Infomap {res[hi]['infomap_s'] / res[lo]['infomap_s']:.1f}x)")


if __name__ == "__main__":
    main()
