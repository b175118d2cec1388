"""The `paper` configuration on a GPU: MERMC training step time, throughput and peak GPU memory at batch 1 (the paper's
setting) and larger batches, in bf16 autocast and fp32; the DFER pass's step at its batch of 150; and one epoch of the
real `train_one` (Algorithm 1: DFER pass, MERMC pass, dev evaluation, checkpoint, test) on random utterances.

    python bench/bench_gpu_paper.py [--batches 1,4,8,16,32] [--n 64] [--precisions bf16,fp32] [--json OUT.json]
    python bench/bench_gpu_paper.py --smoke          # CPU, tiny sizes: checks the script itself

Model: `get_config("paper")`: hidden 768, 12 heads, audio 5 / vision 2 / cross-modal 2 layers, full Swin-T (embed 96,
depths 2-2-6-2) at dfer.img_size; text encoder RoBERTa-large-size (24 layers, 1024-d; `--text-size base`: 12 layers, 768) with RANDOM weights
(no pretrained weights can be fetched where this runs; the step cost does not depend on the weights' values).
Data: random utterances with MELD-like lengths (utterance duration lognormal, mean ~3.6 s, capped at 20 s; wav2vec2
768-d frames at 50/s; one 512-d InceptionResnetV1 feature and one face crop per stage-1 frame at 6 fps, ~80 % of
frames; whole-dialogue text of 16-512 tokens); max lengths are mean + 3 std of these, as in the paper.
Ratio last: best-batch throughput / batch-1 throughput (bf16).
"""
import argparse, copy, json, math, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from facialmmt.core import get_config, override, seed_everything
from facialmmt.dfer import train_dfer_epoch
from facialmmt.encoders import TextEncoder
from facialmmt.mario import mermc_loss
from facialmmt.features import MermcItem, collate_mermc, model_dims, to_device
from facialmmt.checkpoint import build_model
from facialmmt.train import make_optimizers, prepare_cuda, train_one


def roberta_random(small: bool = False, size: str = "large") -> TextEncoder:
    "RoBERTa of the paper's size (large: 24 layers, 1024-d, 355 M) or base, with random weights."
    from transformers import RobertaConfig, RobertaModel
    kw = (dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128) if small else
          dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096) if size == "large" else {})
    rc = RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, **kw)
    return TextEncoder(RobertaModel(rc, add_pooling_layer=False))


def meld_like_items(n: int, img: int, seed: int = 0, small: bool = False) -> list[MermcItem]:
    rng = np.random.default_rng(seed)
    da, dv = (16, 16) if small else (768, 512)
    out = []
    for i in range(n):
        dur = float(np.clip(rng.lognormal(math.log(3.0), 0.6), 0.5, 20.0))     # mean ~3.6 s
        la = max(1, int(dur * (5 if small else 50)))
        lv = int(rng.binomial(max(1, int(dur * 6)), 0.8))
        lt = int(np.clip(rng.lognormal(math.log(140), 0.6), 16, 512))
        ids = rng.integers(3, 50000, lt); ids[0], ids[-1] = 0, 2
        out.append(MermcItem(f"train/dia{i}_utt0", int(rng.integers(0, 7)), ids,
                             rng.normal(size=(la, da)).astype(np.float16), rng.normal(size=(lv, dv)).astype(np.float16),
                             rng.integers(0, 255, (lv, img, img, 3), dtype=np.uint8)))
    return out


def sync(device):
    if device.type == "cuda": torch.cuda.synchronize()


def peak_mb(device) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None


def mermc_throughput(base, cfg, items, dims, bs, precision, device, warmup=2):
    "utterances/s over `items` (collate + forward + backward + AdamW step, as in train_one with grad_accum 1)."
    model = copy.deepcopy(base).to(device).train()
    opts, _ = make_optimizers(model, cfg, 1000, 0)
    opt = opts["mermc"]
    ac = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if precision == "bf16" else None
    chunks = [items[i:i + bs] for i in range(0, len(items), bs)]
    def step(chunk):
        b = to_device(collate_mermc(chunk, dims, pad_id=1), device)
        if ac:
            with ac(): logits = model(b)["logits"]
        else: logits = model(b)["logits"]
        loss = mermc_loss(logits, b["labels"])
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.8); opt.step()
    for c in chunks[:warmup]: step(c)
    sync(device)
    if device.type == "cuda": torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for c in chunks: step(c)
    sync(device)
    dt = time.perf_counter() - t
    res = {"batch": bs, "precision": precision, "utt_per_s": len(items) / dt, "step_ms": 1000 * dt / len(chunks),
           "peak_mb": peak_mb(device)}
    del model, opt, opts
    if device.type == "cuda": torch.cuda.empty_cache()
    return res


def dfer_step(base, cfg, img, precision, device, n_batches=6):
    dfer = copy.deepcopy(base.dfer).to(device)
    bs = cfg.dfer.batch_size
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 255, (bs * n_batches, img, img, 3), dtype=np.uint8); labels = rng.integers(0, 7, bs * n_batches)
    opt = torch.optim.AdamW(dfer.parameters(), lr=cfg.dfer.lr)
    ac = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if precision == "bf16" else None
    train_dfer_epoch(dfer, imgs[:bs], labels[:bs], opt, batch_size=bs, device=device, autocast=ac, progress=False)  # warm-up
    sync(device)
    if device.type == "cuda": torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    train_dfer_epoch(dfer, imgs, labels, opt, batch_size=bs, device=device, autocast=ac, progress=False)
    sync(device)
    dt = time.perf_counter() - t
    return {"batch": bs, "img": img, "precision": precision, "step_ms": 1000 * dt / n_batches,
            "images_per_s": bs * n_batches / dt, "peak_mb": peak_mb(device)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", default="1,4,8,16,32"); ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--precisions", default="bf16,fp32"); ap.add_argument("--img", type=int, default=None)
    ap.add_argument("--epoch-n", type=int, default=256, help="train utterances for the train_one epoch (0: skip)")
    ap.add_argument("--epoch-batch", type=int, default=16)
    ap.add_argument("--json", default=None); ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--cudnn-sdp", choices=["on", "off"], default="off",
                    help="cuDNN fused attention (off: what train_one uses on CUDA)")
    ap.add_argument("--ab-sdp", action="store_true", help="first compare cuDNN attention on vs off at batch 1 and 16, bf16")
    ap.add_argument("--text-size", choices=["large", "base"], default="large", help="paper: roberta-large; paper-base: roberta-base")
    ap.add_argument("--swin", choices=["random", "authors"], default="authors",
                    help="authors: write a random Swin-T 224 checkpoint in the authors' MS-Celeb layout and load it "
                         "through the key map (and the 224 -> img_size bias interpolation), as a real run does")
    ap.add_argument("--epoch-dev", type=int, default=None, help="dev utterances of the epoch run (default epoch-n/4)")
    ap.add_argument("--epoch-test", type=int, default=None, help="test utterances of the epoch run (default epoch-n/4)")
    a = ap.parse_args(argv)
    device = torch.device("cpu" if a.smoke or not torch.cuda.is_available() else "cuda")
    # random weights throughout (the step cost does not depend on them): no text model, no pretrained Swin file
    cfg = get_config("paper", **{"encoders.text_model": "random", "dfer.pretrained": None})
    if a.smoke:
        # the small Swin of random_real_layouts.SMALL_SWIN, so --swin authors checks the real-layout load here too
        cfg = override(cfg, **{"model.hidden": 32, "model.heads": 2, "dfer.embed_dim": 16, "dfer.depths": [2, 2, 2, 2],
                               "dfer.num_heads": [1, 2, 4, 8], "dfer.img_size": 56, "dfer.batch_size": 8,
                               "dfer.feat_dim": 32})
        a.batches, a.n, a.epoch_n = "1,4", 8, 16
    if a.img: cfg = override(cfg, **{"dfer.img_size": a.img})
    img = cfg.dfer.img_size
    seed_everything(0)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
    te = roberta_random(small=a.smoke, size=a.text_size)
    items = meld_like_items(a.n, img, small=a.smoke)
    dims = model_dims(items, cfg, te.dim)
    base = build_model(cfg, dims, te)
    swin_report = None
    if a.swin == "authors" and base.dfer is not None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from random_real_layouts import write_authors_swin
        from facialmmt.dfer import load_pretrained_backbone
        with tempfile.TemporaryDirectory() as t:
            rep = load_pretrained_backbone(base.dfer, write_authors_swin(Path(t) / "Swin_tiny_Ms-Celeb-1M.pt", a.smoke))
        swin_report = {k: (len(v) if isinstance(v, (list, tuple)) else v) for k, v in rep.items()}
        print("SWIN", json.dumps(swin_report, default=str), flush=True)
    n_par = sum(p.numel() for p in base.parameters())
    env = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
           "params_m": round(n_par / 1e6, 1), "dims": dims.to_dict(), "img_size": img, "text": f"roberta-{a.text_size} (random weights)",
           "swin_init": swin_report or "random"}
    print(json.dumps(env))
    res = {"env": env, "mermc": [], "dfer": [], "epoch": None, "cudnn_sdp_ab": []}
    if a.ab_sdp and device.type == "cuda":
        for bs in (1, 16):
            for flag in ("on", "off"):
                torch.backends.cuda.enable_cudnn_sdp(flag == "on")
                r = mermc_throughput(base, cfg, items[:32], dims, bs, "bf16", device); r["cudnn_sdp"] = flag
                res["cudnn_sdp_ab"].append(r); print("SDP-AB", json.dumps(r), flush=True)
    if a.cudnn_sdp == "off": prepare_cuda(device)          # what train_one does on CUDA
    elif device.type == "cuda": torch.backends.cuda.enable_cudnn_sdp(True)
    env["cudnn_sdp"] = a.cudnn_sdp
    for prec in a.precisions.split(","):
        for bs in map(int, a.batches.split(",")):
            try: r = mermc_throughput(base, cfg, items, dims, bs, prec, device)
            except torch.cuda.OutOfMemoryError as e:
                r = {"batch": bs, "precision": prec, "error": "out of memory"}; torch.cuda.empty_cache()
            res["mermc"].append(r); print("MERMC", json.dumps(r), flush=True)
        r = dfer_step(base, cfg, img, prec, device); res["dfer"].append(r); print("DFER", json.dumps(r), flush=True)
    if a.epoch_n:
        # one epoch of the real Algorithm 1 loop (bf16 autocast on CUDA by the config's precision "auto")
        ecfg = override(cfg, **{"train.epochs": 1, "train.batch_size": a.epoch_batch, "train.grad_accum": 1})
        q = a.epoch_dev if a.epoch_dev is not None else a.epoch_n // 4
        qt = a.epoch_test if a.epoch_test is not None else a.epoch_n // 4
        split_items = meld_like_items(a.epoch_n + q + qt, img, seed=2, small=a.smoke)
        splits = {"train": split_items[:a.epoch_n], "dev": split_items[a.epoch_n:a.epoch_n + q],
                  "test": split_items[a.epoch_n + q:]}
        rng = np.random.default_rng(3); nd = 10 * cfg.dfer.batch_size
        dfer_data = {"train": (rng.integers(0, 255, (nd, img, img, 3), dtype=np.uint8), rng.integers(0, 7, nd)),
                     "val": (rng.integers(0, 255, (nd // 5, img, img, 3), dtype=np.uint8), rng.integers(0, 7, nd // 5))}
        if device.type == "cuda": torch.cuda.reset_peak_memory_stats()
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            m = train_one(ecfg, splits, dims, d, dfer_data=dfer_data, device=device, text_encoder=te, pad_id=1, progress=False)
            total = time.perf_counter() - t
        res["epoch"] = {"train_utts": a.epoch_n, "dev_utts": q, "test_utts": len(splits["test"]), "dfer_frames": nd,
                        "mermc_utt_per_s": round(a.epoch_n / max(m["history"][0]["seconds"], 1e-9), 1),
                        "batch": a.epoch_batch, "epoch_s": m["history"][0]["seconds"], "total_s": round(total, 1),
                        "peak_mb": peak_mb(device), "test_wf1_random_data": m["test"]["weighted_f1"]}
        print("EPOCH", json.dumps(res["epoch"]), flush=True)
    ok = [r for r in res["mermc"] if "utt_per_s" in r and r["precision"] == a.precisions.split(",")[0]]
    b1 = next((r for r in ok if r["batch"] == 1), None); best = max(ok, key=lambda r: r["utt_per_s"])
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    if b1: print(f"ratio best batch ({best['batch']}) / batch 1 throughput, {best['precision']}: {best['utt_per_s'] / b1['utt_per_s']:.2f}x")


if __name__ == "__main__":
    main()
