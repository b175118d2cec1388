"""Infomap clustering of face embeddings at scale, exact kNN vs faiss kNN side by side: for 10k, 50k and 100k
embeddings, the time (wall and CPU) of the kNN graph (`facialmmt.clustering.knn_graph`, knn="exact": chunked torch
top-k; knn="faiss": IVF-flat, what knn="auto" picks from `APPROX_KNN_MIN_N` embeddings up), the kNN recall@k of the
faiss lists against the exact ones (all neighbours, and the exact neighbours with cosine >= min_sim only: the edges
Infomap sees), Infomap on each graph (`infomap_cluster(..., edges=E)`: links handed over, the search, the singleton
clean-up), BCubed F against the identities, and the peak RSS. Each (size, method) runs in a fresh Python process, so
its peak RSS (ru_maxrss) is its own; the exact run writes its neighbour lists to a temp file that the faiss run
reads after its own measurements (for the recall). infomap_cluster's duplicate check (np.unique over the rows; it runs
when no edges are given) is timed too and counted in the totals. Ratios (exact / faiss total time) are printed last.

    python bench/bench_infomap.py [--sizes 10000,50000,100000] [--k 50] [--min-sim 0.58] [--ids 1000] [--chunk 1024]
                                  [--nprobe 8] [--threads 1] [--exact-max 100000] [--recall-rows 2000]

Sizes above --exact-max skip the full exact graph (and so its Infomap and BCubed F): the exact time is then measured
on --recall-rows random rows and scaled by n / rows (marked "~", an extrapolation: the exact top-k costs the same for
every row), and the recall is measured on those rows.

Data: synthetic unit 128-d embeddings of `--ids` identities (seed 0): each face is its identity's random unit centre
plus Gaussian noise, so two faces of one identity have cosine ~0.8 and of two identities ~0 (the reference k = 50,
cos >= 0.58 setting separates them). With --ids n/10 or more, an identity has fewer faces than k and the rest of each
list are near-random far neighbours (cosine ~0, dropped by min_sim): recall@k then drops while the kept-edge recall
is what Infomap depends on. Torch and faiss run on --threads threads (1 by default).
"""
import argparse
import os
import tempfile
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


def _clock():
    return time.perf_counter(), time.process_time()


def one_run(a) -> dict:
    "Runs in the child process: one size, one kNN method; kNN graph, Infomap, BCubed F, peak RSS."
    import faiss
    import torch
    from facialmmt import clustering
    from facialmmt.clustering import _exact_rows, _unit, bcubed_prf, infomap_cluster, knn_graph, knn_topk
    torch.set_num_threads(a.threads); faiss.omp_set_num_threads(a.threads)
    n, method, lists = a.child, a.method, Path(a.lists)
    x, y = embeddings(n, a.ids)
    base = _common.peak_rss_mib()
    out = dict(n=n, method=method)
    w0, c0 = _clock(); np.unique(_unit(x), axis=0); w1, c1 = _clock()
    out.update(dedup_s=w1 - w0, dedup_cpu=c1 - c0)
    if method == "exact" and n > a.exact_max:     # too slow to run whole here: a sample of rows, scaled
        rows = np.random.default_rng(1).choice(n, min(n, a.recall_rows), replace=False)
        w0, c0 = _clock(); s, i = _exact_rows(_unit(x), rows, a.k, a.chunk); w1, c1 = _clock()
        np.savez(lists, rows=rows, sims=s, idx=i)
        return out | dict(knn_s=(w1 - w0) * n / len(rows), knn_cpu=(c1 - c0) * n / len(rows), extrapolated=True,
                          rss_data_mib=base, rss_peak_mib=_common.peak_rss_mib())
    seen = {}                                     # knn_graph's own lists, kept for the recall (no second kNN run)
    def keep_lists(*args, **kw):
        seen["lists"] = knn_topk(*args, **kw); return seen["lists"]
    clustering.knn_topk = keep_lists
    w0, c0 = _clock()
    E = knn_graph(x, a.k, a.min_sim, chunk=a.chunk, knn=method, nprobe=a.nprobe)
    w1, c1 = _clock()
    clustering.knn_topk = knn_topk
    s, i = seen["lists"]
    rss_knn = _common.peak_rss_mib()
    lab = infomap_cluster(x, a.k, a.min_sim, edges=E)
    w2, c2 = _clock()
    out.update(knn_s=w1 - w0, knn_cpu=c1 - c0, infomap_s=w2 - w1, infomap_cpu=c2 - c1, edges=int(len(E)),
               extrapolated=False, rss_data_mib=base, rss_after_knn_mib=rss_knn, rss_peak_mib=_common.peak_rss_mib(),
               n_clusters=int(lab.max() + 1), n_true=int(len(np.unique(y))), bcubed_f=bcubed_prf(y, lab)[2])
    if method == "exact": np.savez(lists, rows=np.arange(n), sims=s, idx=i)
    elif lists.exists():                          # recall against the exact run's lists (after the RSS is read)
        ref = np.load(lists); rows, es, ei = ref["rows"], ref["sims"], ref["idx"]
        fi = i[rows]
        hit = np.concatenate([(fi[b:b + 4096, :, None] == ei[b:b + 4096, None, :]).any(1)   # exact neighbour found
                              for b in range(0, len(rows), 4096)])
        kept = es >= a.min_sim
        out.update(recall=float(hit.mean()), recall_kept=float(hit[kept].mean()) if kept.any() else 1.0,
                   recall_rows=int(len(rows)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,100000"); ap.add_argument("--ids", type=int, default=1000)
    ap.add_argument("--k", type=int, default=50); ap.add_argument("--min-sim", type=float, default=0.58)
    ap.add_argument("--chunk", type=int, default=1024, help="rows per exact kNN block (knn_topk default: 1024)")
    ap.add_argument("--nprobe", type=int, default=None, help="faiss lists searched (default: clustering.FAISS_NPROBE)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--exact-max", type=int, default=100000, help="above this size the exact kNN is sampled and scaled")
    ap.add_argument("--recall-rows", type=int, default=2000)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--method", default="exact", help=argparse.SUPPRESS)
    ap.add_argument("--lists", default="", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child: return _common.emit(one_run(a))
    from facialmmt.clustering import APPROX_KNN_MIN_N, FAISS_NPROBE
    sizes = [int(s) for s in a.sizes.split(",")]
    t_start = time.perf_counter()
    print(f"infomap_cluster on synthetic 128-d embeddings, {a.ids} identities, k={a.k}, min_sim={a.min_sim}; exact kNN in "
          f"{a.chunk}-row blocks; faiss IVF-flat nprobe {a.nprobe or FAISS_NPROBE} (knn='auto' uses it from "
          f"{APPROX_KNN_MIN_N} up); torch/faiss threads {a.threads}; {_common.loadavg()}")
    res = {}
    tmp = tempfile.mkdtemp(prefix="bench_infomap_")
    try:
        for n in sizes:
            lists = os.path.join(tmp, f"exact_{n}.npz")
            for method in ("exact", "faiss"):
                flags = ["--child", n, "--method", method, "--lists", lists, "--ids", a.ids, "--k", a.k, "--min-sim",
                         a.min_sim, "--chunk", a.chunk, "--threads", a.threads, "--exact-max", a.exact_max,
                         "--recall-rows", a.recall_rows] + (["--nprobe", a.nprobe] if a.nprobe else [])
                r = res[n, method] = _common.run_child(Path(__file__).name, flags)
                if r["extrapolated"]:
                    print(f"n={n:>7} {method:5s}: kNN ~{r['knn_s']:6.1f} s wall (~{r['knn_cpu']:.1f} s CPU; scaled from "
                          f"{a.recall_rows} rows), Infomap not run; {_common.loadavg()}", flush=True)
                    continue
                tot, cpu = r["dedup_s"] + r["knn_s"] + r["infomap_s"], r["dedup_cpu"] + r["knn_cpu"] + r["infomap_cpu"]
                rec = (f"; recall@{a.k} {r['recall']:.4f}, kept-edge recall {r['recall_kept']:.4f} (on {r['recall_rows']} rows)"
                       if "recall" in r else "")
                print(f"n={n:>7} {method:5s}: kNN graph {r['knn_s']:6.1f} s wall ({r['knn_cpu']:5.1f} s CPU), Infomap "
                      f"{r['infomap_s']:5.1f} s ({r['infomap_cpu']:4.1f} CPU), dedup {r['dedup_s']:4.1f} s; total "
                      f"{tot:6.1f} s wall ({cpu:5.1f} s CPU); {r['edges']} edges; peak RSS {r['rss_peak_mib']:5.0f} MiB "
                      f"(imports+data {r['rss_data_mib']:.0f}, after kNN {r['rss_after_knn_mib']:.0f}); {r['n_clusters']} "
                      f"clusters for {r['n_true']} identities, BCubed F {r['bcubed_f']:.4f}{rec}; {_common.loadavg()}",
                      flush=True)
    finally:
        import shutil; shutil.rmtree(tmp, ignore_errors=True)
    ratios = []
    for n in sizes:
        e, f = res[n, "exact"], res[n, "faiss"]
        te = e["knn_s"] + (e.get("infomap_s") or f["infomap_s"]) + e["dedup_s"]
        tf = f["knn_s"] + f["infomap_s"] + f["dedup_s"]
        ce = e["knn_cpu"] + (e.get("infomap_cpu") or f["infomap_cpu"]) + e["dedup_cpu"]
        cf = f["knn_cpu"] + f["infomap_cpu"] + f["dedup_cpu"]
        ratios.append(f"{n}: {'~' if e['extrapolated'] else ''}{te / tf:.1f}x wall ({ce / cf:.1f}x CPU; kNN "
                      f"{e['knn_s'] / f['knn_s']:.1f}x), faiss total {tf:.1f} s")
    print(f"bench wall time {time.perf_counter() - t_start:.0f} s; {_common.loadavg()}")
    print("ratio exact / faiss kNN + Infomap time: " + "; ".join(ratios))


if __name__ == "__main__":
    main()
