#!/usr/bin/env python
"""Engine overhead: the bsdl training engine against a plain PyTorch loop.

Part 1 times one epoch of :func:`bsdl.inference.train` (mixture-Gaussian prior at full
weight, ``ConstantSchedule(prior_weight=1.0)``, and a ``PriorAnnealing()`` run) against a
plain PyTorch loop on the same :class:`bsdl.nn.MLP`, data, batch size, optimiser family
and number of steps: ``randperm`` minibatches, ``zero_grad``, forward, MSE, backward,
``step`` and *no* prior. A third loop adds the prior gradient the way the papers' code
does it, one parameter at a time in Python, to show what the flat buffer saves.
All variants run in the same process, interleaved (the order rotates every repetition),
after a warm-up; the table gives the median seconds per epoch.

Part 2 times ``SparseMLPRegressor.fit`` and ``predict_interval`` on 2000 new points.

Run ``python bench/overhead.py`` (full, a few minutes on 2 cores) or ``--quick`` (seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import traceback
import warnings
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from _machine import loadavg, machine

import bsdl
from bsdl.datasets import make_sparse_regression
from bsdl.inference import ConstantSchedule, PriorAnnealing, train
from bsdl.inference.engine import auto_threads, limit_threads
from bsdl.nn import MLP, reset_parameters

# The estimator's default prior on the standardised scale.
PRIOR = dict(lambda_=1e-6, sigma0=1e-2, sigma1=1.0)
LR = {"adam": 1e-3, "sgd": 1e-3}

METHODS = ("plain", "naive_prior", "bsdl_no_prior", "bsdl_constant", "bsdl_annealing")
LABELS = {
    "plain": "plain torch",
    "naive_prior": "plain + naive prior loop",
    "bsdl_no_prior": "bsdl, prior=None",
    "bsdl_constant": "bsdl, ConstantSchedule(1.0)",
    "bsdl_annealing": "bsdl, PriorAnnealing()",
}


@dataclass(frozen=True)
class Config:
    n: int
    p: int
    hidden: tuple[int, ...]
    batch: int
    epochs: int  # epochs per timed run

    @property
    def steps(self) -> int:
        return math.ceil(self.n / self.batch)

    @property
    def label(self) -> str:
        return f"n={self.n}, p={self.p}, hidden={self.hidden}, batch={self.batch}"


FULL_CONFIGS = (
    Config(2000, 50, (16, 8), 100, epochs=20),
    Config(10000, 1000, (16, 8), 500, epochs=10),
    Config(20000, 100, (256, 128), 256, epochs=3),
)
QUICK_CONFIGS = (Config(256, 10, (8,), 64, epochs=2),)


# ----------------------------------------------------------------------------- the loops
def mse(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(module(x).squeeze(-1), y)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


def naive_prior_grad_(params, lambda_: float, sigma0: float, sigma1: float, scale: float):
    """Add ``scale * d(-log pi)/dw`` to every ``p.grad``, one parameter at a time.

    This is how the papers' reference code applies the mixture prior: a Python loop over
    ``net.parameters()`` with fresh temporaries for each tensor.
    """
    var0, var1 = sigma0**2, sigma1**2
    c_slab = math.log(lambda_) - 0.5 * math.log(var1)
    c_spike = math.log1p(-lambda_) - 0.5 * math.log(var0)
    with torch.no_grad():
        for p in params:
            w2 = p * p
            log_slab = c_slab - w2 / (2.0 * var1)
            log_spike = c_spike - w2 / (2.0 * var0)
            q = torch.sigmoid(log_slab - log_spike)  # inclusion probability
            g = p * (q / var1 + (1.0 - q) / var0)
            p.grad.add_(g, alpha=scale)


def run_plain(module, x, y, cfg: Config, optimizer: str, generator, with_prior: bool) -> None:
    n = x.shape[0]
    params = list(module.parameters())
    opt = make_optimizer(optimizer, params, LR[optimizer])
    scale = 1.0 / n
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=generator, device=x.device)
        for i in range(cfg.steps):
            idx = perm[i * cfg.batch : (i + 1) * cfg.batch]
            opt.zero_grad()
            loss = mse(module, x[idx], y[idx])
            loss.backward()
            if with_prior:
                naive_prior_grad_(params, PRIOR["lambda_"], PRIOR["sigma0"], PRIOR["sigma1"], scale)
            opt.step()


def run_bsdl(module, x, y, cfg: Config, optimizer: str, generator, schedule) -> None:
    prior = bsdl.MixtureGaussianPrior(**PRIOR) if schedule is not None else None
    train(
        module,
        mse,
        x,
        y,
        prior=prior,
        schedule=schedule if schedule is not None else ConstantSchedule(prior_weight=0.0),
        n_epochs=cfg.epochs,
        batch_size=cfg.batch,
        lr=LR[optimizer],
        generator=generator,
        optimizer=optimizer,
    )


def engine_threads(cfg: Config, device) -> int | None:
    """The intra-op thread count ``train(n_threads="auto")`` uses (None: torch's setting)."""
    n_params = sum(p.numel() for p in MLP(cfg.p, cfg.hidden).parameters())
    return auto_threads(n_params, min(cfg.batch, cfg.n), device)


def time_method(method: str, cfg: Config, optimizer: str, data, device, seed: int) -> float:
    """Seconds per epoch of one run of ``cfg.epochs`` epochs (model built outside the timer)."""
    x, y = data
    module = reset_parameters(MLP(cfg.p, cfg.hidden), torch.Generator().manual_seed(seed))
    module = module.to(device)
    generator = torch.Generator(device=device).manual_seed(seed + 1)
    # train() picks its intra-op thread count (one thread for small steps on a CPU); the
    # plain loops run with the same count, so that the ratio is the engine's overhead.
    threads = engine_threads(cfg, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    if method == "plain":
        with limit_threads(threads):
            run_plain(module, x, y, cfg, optimizer, generator, with_prior=False)
    elif method == "naive_prior":
        with limit_threads(threads):
            run_plain(module, x, y, cfg, optimizer, generator, with_prior=True)
    elif method == "bsdl_no_prior":
        run_bsdl(module, x, y, cfg, optimizer, generator, None)
    elif method == "bsdl_constant":
        run_bsdl(module, x, y, cfg, optimizer, generator, ConstantSchedule(prior_weight=1.0))
    elif method == "bsdl_annealing":
        run_bsdl(module, x, y, cfg, optimizer, generator, PriorAnnealing())
    else:  # pragma: no cover
        raise ValueError(method)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / cfg.epochs


def bench_engine(cfg: Config, optimizer: str, reps: int, device, seed: int) -> dict:
    X, y = make_sparse_regression(cfg.n, cfg.p, random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    data = (
        torch.as_tensor(X, dtype=torch.float32, device=device),
        torch.as_tensor(y, dtype=torch.float32, device=device),
    )
    warm = Config(cfg.n, cfg.p, cfg.hidden, cfg.batch, epochs=1)
    for method in METHODS:  # warm-up: allocator, autograd graph, thread pool
        time_method(method, warm, optimizer, data, device, seed)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for rep in range(reps):
        k = rep % len(METHODS)
        for method in METHODS[k:] + METHODS[:k]:
            times[method].append(time_method(method, cfg, optimizer, data, device, seed))
    med = {m: statistics.median(v) for m, v in times.items()}
    return {
        "config": asdict(cfg),
        "label": cfg.label,
        "steps_per_epoch": cfg.steps,
        "threads": engine_threads(cfg, device) or torch.get_num_threads(),
        "optimizer": optimizer,
        "reps": reps,
        "seconds_per_epoch": med,
        "all_seconds_per_epoch": times,
        "ratio_constant": med["bsdl_constant"] / med["plain"],
        "ratio_annealing": med["bsdl_annealing"] / med["plain"],
        "ratio_no_prior": med["bsdl_no_prior"] / med["plain"],
        "ratio_naive": med["naive_prior"] / med["plain"],
    }


# ----------------------------------------------------------------------------- part 2
def bench_interval(quick: bool, device: str, seed: int) -> dict:
    n, p = (300, 10) if quick else (2000, 50)
    kwargs = dict(n_epochs=2, refit_epochs=1) if quick else {}
    X, y = make_sparse_regression(n, p, random_state=seed)
    X_new, _ = make_sparse_regression(n, p, random_state=seed + 1)
    model = bsdl.SparseMLPRegressor(random_state=seed, device=device, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The first fit in a process pays one-time costs (lazy imports such as torch._dynamo,
        # reached through torch.func and torch.optim); a tiny fit takes them out of the timing.
        start = time.perf_counter()
        Xw, yw = make_sparse_regression(100, 5, random_state=seed)
        bsdl.SparseMLPRegressor(
            (4,), n_epochs=1, refit_epochs=1, random_state=seed, device=device
        ).fit(Xw, yw).predict_interval(Xw[:5])
        first_call_s = time.perf_counter() - start
        start = time.perf_counter()
        model.fit(X, y)
        fit_s = time.perf_counter() - start
        pi_times = []
        for _ in range(1 if quick else 3):
            start = time.perf_counter()
            model.predict_interval(X_new, alpha=0.05)
            pi_times.append(time.perf_counter() - start)
    pi_s = statistics.median(pi_times)
    return {
        "n": n,
        "p": p,
        "n_new": X_new.shape[0],
        "n_epochs": int(model.n_epochs_),
        "refit_epochs": int((model.history_["phase"] == "refit").sum()),
        "batch_size": int(model.batch_size_),
        "n_nonzero": int(model.n_nonzero_),
        "fit_seconds": fit_s,
        "predict_interval_seconds": pi_s,
        "predict_interval_first_call_seconds": pi_times[0],
        "pi_reps": len(pi_times),
        "ratio": pi_s / fit_s,
        "one_time_warmup_seconds": first_call_s,
        "warnings": sorted({type(w.message).__name__ for w in caught}),
    }


# ----------------------------------------------------------------------------- output


def _ms(s: float) -> str:
    return f"{1e3 * s:.1f}"


def engine_table(rows: list[dict]) -> str:
    head = (
        "| config | steps/epoch | threads | optimizer | plain ms/epoch | naive prior ms/epoch "
        "| bsdl no prior ms/epoch | bsdl constant ms/epoch | bsdl annealing ms/epoch "
        "| constant/plain | annealing/plain | no prior/plain | naive/plain |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        s = r["seconds_per_epoch"]
        lines.append(
            f"| {r['label']} | {r['steps_per_epoch']} | {r['threads']} | {r['optimizer']} "
            f"| {_ms(s['plain'])} | {_ms(s['naive_prior'])} | {_ms(s['bsdl_no_prior'])} "
            f"| {_ms(s['bsdl_constant'])} | {_ms(s['bsdl_annealing'])} | {r['ratio_constant']:.3f} "
            f"| {r['ratio_annealing']:.3f} | {r['ratio_no_prior']:.3f} | {r['ratio_naive']:.3f} |"
        )
    return "\n".join(lines)


def interval_table(r: dict) -> str:
    head = (
        "| data | epochs (train + refit) | batch | non-zero weights | fit s "
        f"| predict_interval s ({r['n_new']} new points, median of {r['pi_reps']}) "
        "| predict_interval/fit |"
    )
    data = f"make_sparse_regression(n={r['n']}, p={r['p']})"
    row = (
        f"| {data} | {r['n_epochs']} + {r['refit_epochs']} | {r['batch_size']} "
        f"| {r['n_nonzero']} | {r['fit_seconds']:.2f} | {r['predict_interval_seconds']:.3f} "
        f"| {r['ratio']:.4f} |"
    )
    note = (
        "One-time cost of the first fit + predict_interval in this process (a tiny warm-up "
        f"fit, not included above): {r['one_time_warmup_seconds']:.2f} s."
    )
    return "\n".join([head, "|---|---|---|---|---|---|---|", row, "", note])


def _span(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} "
        f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} cases)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds (for tests)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions (default 5)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: torch's own; 1 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--skip-engine", action="store_true", help="skip part 1")
    parser.add_argument("--skip-interval", action="store_true", help="skip part 2")
    args = parser.parse_args(argv)

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    threads = args.threads
    if threads is None and args.quick:
        # a smoke test: one thread keeps it fast on a loaded machine (two OpenMP threads on
        # two busy cores made the tiny quick-mode net 15-20x slower here)
        threads = 1
    if threads is not None:
        torch.set_num_threads(threads)
    device = torch.device(args.device)
    reps = args.reps if args.reps is not None else (2 if args.quick else 5)
    configs = QUICK_CONFIGS if args.quick else FULL_CONFIGS

    info = machine()
    info["device"] = args.device
    if args.device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    info["loadavg_start"] = loadavg()
    print(
        f"# bsdl engine overhead ({'quick' if args.quick else 'full'}); device={args.device}; "
        f"torch {info['torch']}; torch.get_num_threads()={info['torch_num_threads']}; "
        f"cpu_count={info['cpu_count']}; {info['processor']}; load average {info['loadavg_start']}"
    )
    start = time.perf_counter()
    rows = []
    for cfg in () if args.skip_engine else configs:
        for optimizer in ("adam", "sgd"):
            rows.append(bench_engine(cfg, optimizer, reps, device, args.seed))
            r = rows[-1]
            print(
                f"  done {cfg.label} {optimizer}: constant/plain {r['ratio_constant']:.3f}, "
                f"naive/plain {r['ratio_naive']:.3f}",
                file=sys.stderr,
            )
    if rows:
        print()
        print(f"## Engine overhead: median seconds per epoch over {reps} interleaved repetitions")
        print()
        print(engine_table(rows))
        print()

    interval, error = None, None
    if not args.skip_interval:
        try:
            interval = bench_interval(args.quick, args.device, args.seed)
        except Exception as exc:  # report, keep the engine results, exit non-zero
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
    if interval is not None:
        print("## predict_interval cost relative to the fit (SparseMLPRegressor, defaults)")
        print()
        print(interval_table(interval))
        if interval["warnings"]:
            print(f"\n(warnings during fit/predict: {', '.join(interval['warnings'])})")
        print()

    info["loadavg_end"] = loadavg()
    info["total_seconds"] = time.perf_counter() - start
    parts = []
    if rows:
        const = [r["ratio_constant"] for r in rows]
        anneal = [r["ratio_annealing"] for r in rows]
        naive = [r["ratio_naive"] for r in rows]
        print(f"ratio bsdl(ConstantSchedule)/plain: {_span(const)}")
        print(f"ratio bsdl(PriorAnnealing)/plain: {_span(anneal)}")
        print(f"ratio naive-prior-loop/plain: {_span(naive)}")
        worst = max(const + anneal)
        parts.append(
            f"bsdl/plain max {worst:.3f} (target <= 1.05: "
            f"{'met' if worst <= 1.05 else 'NOT met'}); naive prior loop/plain median "
            f"{statistics.median(naive):.3f}"
        )
    if interval is not None:
        print(f"ratio predict_interval/fit: {interval['ratio']:.4f}")
        parts.append(f"predict_interval/fit {interval['ratio']:.4f}")
    elif error is not None:
        print(f"ratio predict_interval/fit: n/a ({error})")
        parts.append("predict_interval/fit n/a (error)")
    parts.append(f"load average {info['loadavg_start']} -> {info['loadavg_end']}")
    print("summary: " + "; ".join(parts))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"machine": info, "engine": rows, "predict_interval": interval, "error": error},
                fh,
                indent=2,
            )
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
