"""Feature cache: the first run of training's feature extraction (a fresh, empty cache folder) vs. the second run (every
utterance a cache hit), same process, same corpus. The first/second time ratio is printed last.

    python bench/bench_feature_cache.py [--corpus data/synmeld-tiny-s0] [--stage1 data/stage1/synmeld-tiny-s0] [--config tiny]

What runs is what `facialmmt.features.prepare_run` runs: `prepare_items` (tokenised dialogue context, then per utterance
`cached_features`: fbank audio features, dlib frame features of the stage-1 face crops, DFER-size crops; written as
one .npz per utterance) and `load_dfer_data` (the DFER frames, cached too). The tokenizer is loaded before timing;
the feature extractors (`Extractors`) are loaded before the first run too (their load time is printed apart), and the
second run gets fresh, unloaded ones: they load lazily, on a cache miss only. A third,
text-less run (tokenizer=None) shows how much of the second run is tokenisation rather than cache reads.
"""
import argparse
import shutil
import tempfile
import time
from pathlib import Path

import _common


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="data/synmeld-tiny-s0"); ap.add_argument("--stage1", default="data/stage1/synmeld-tiny-s0")
    ap.add_argument("--config", default="tiny")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from facialmmt.core import get_config, resolve_path
    from facialmmt.data import read_meld
    from facialmmt.encoders import load_text_encoder
    from facialmmt.features import Extractors, load_dfer_data, prepare_items
    cfg = get_config(a.config)
    corpus, stage1 = resolve_path(a.corpus), resolve_path(a.stage1)
    utts = read_meld(corpus)
    tok, _, _ = load_text_encoder(cfg.encoders)
    cache = Path(tempfile.mkdtemp(prefix="bench_cache_"))
    n = sum(map(len, utts.values()))
    print(f"{n} utterances of {corpus.name} ({', '.join(f'{s} {len(u)}' for s, u in utts.items())}), {a.config} config, "
          f"stage-1 faces from {stage1.name}, cache {cache}; torch threads 1; {_common.loadavg()}")

    def run(label, tokenizer=tok, dfer=True, ex=None):
        t0 = time.perf_counter()
        items = prepare_items(utts, cfg, stage1, cache, tokenizer, ex=ex or Extractors(cfg), progress=False)
        t1 = time.perf_counter()
        d = load_dfer_data(cfg, corpus, cache) if dfer else None
        t2 = time.perf_counter()
        n_faces = sum(len(it.faces) for s in items.values() for it in s)
        n_dfer = sum(len(v[0]) for v in (d or {}).values())
        print(f"{label:38s} items {t1 - t0:6.2f} s ({1000 * (t1 - t0) / n:6.1f} ms/utt, {n_faces} faces)"
              + (f", DFER frames {t2 - t1:5.2f} s ({n_dfer} frames)" if dfer else "") + f"; {_common.loadavg()}")
        return t1 - t0, t2 - t1

    t0 = time.perf_counter()
    ex = Extractors(cfg); ex.audio; ex.face._ensure()
    print(f"loading the extractors (fbank, dlib models) before the first run: {time.perf_counter() - t0:.2f} s")
    try:
        first = run("first run (empty cache: extract)", ex=ex)
        size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
        second = run("second run (cache hits)")
        run("second run, no tokenizer (cache reads)", tokenizer=None, dfer=False)
    finally: shutil.rmtree(cache, ignore_errors=True)
    print(f"cache on disk after the first run: {size:.1f} MiB")
    print(f"ratio first / second run: items {first[0] / second[0]:.1f}x, DFER frames {first[1] / max(second[1], 1e-9):.1f}x, "
          f"both {sum(first) / sum(second):.1f}x")


if __name__ == "__main__":
    main()
