#!/usr/bin/env python
"""Sparse inference: exported pruned models against the dense ones, on a CPU.

Unstructured: a stack ``Linear(w, w), ReLU, Linear(w, w)`` (w = 1024 and 4096) and one
``nn.LSTM(1024, 1024)`` layer over 16 steps, with 90 / 95 / 99 % of each weight matrix
removed by magnitude (of a random initialisation: random positions, as GMP at its first
step), exported by :func:`bsdl.pruning.export` in each sparse format that imports here
(torch CSR, SciPy CSR, MKL through sparse-dot-mkl, the compiled numba kernel, and with
numba the fused modules: the whole stack or the LSTM's time loop in one compiled call)
and with ``csr="auto"`` (the measured rule that export uses). Structured: 50 % of the hidden units
removed (a stack of width 1024 and 4096; the LSTM's hidden units with its read-out Linear
as consumer), exported dense with smaller shapes.

Every variant of one model is timed in the same run, interleaved (the order rotates
every round), at batch 1 and 64 and at one and two torch threads; the tables give the
median milliseconds per forward over the rounds and the ratio ``dense / exported``. The
memory column is the bytes of the exported model's tensors over the dense model's.

Run ``python bench/sparse_inference.py`` (full, ~15 minutes on 2 cores) or ``--quick``;
``--models``, ``--sparsities``, ``--batches``, ``--threads`` and ``--no-structured`` select
cases of the full run (e.g. only the rows a kernel change can move).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings

import torch
from _machine import loadavg, machine
from torch import nn

from bsdl.pruning import export
from bsdl.pruning.export_fused import fused_available
from bsdl.pruning.sparse_kernels import available_formats
from bsdl.pruning.sparse_linear import time_call

TARGETS = {0.9: 3.0, 0.95: 6.0, 0.5: 1.8}
# --models of the full run: name -> (kind, width)
MODELS = {"stack1024": ("stack", 1024), "stack4096": ("stack", 4096), "lstm1024": ("lstm", 1024)}


def prune_(model: nn.Module, sparsity: float) -> None:
    """Zero the smallest ``sparsity`` share of every weight matrix (per tensor)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "weight" in name and p.dim() == 2:
                k = int(round(sparsity * p.numel()))
                idx = torch.topk(p.abs().reshape(-1), k, largest=False).indices
                p.view(-1)[idx] = 0


def prune_units_(model: nn.Module, share: float) -> dict:
    """Zero the outgoing weights of ``share`` of the hidden units (structured); returns the
    ``links`` that export needs."""
    with torch.no_grad():
        if isinstance(model, nn.Sequential):
            w = model[2].weight
            n = int(share * w.shape[1])
            w[:, torch.randperm(w.shape[1], generator=torch.Generator().manual_seed(0))[:n]] = 0
            return {}
        H = model.lstm.hidden_size
        drop = torch.randperm(H, generator=torch.Generator().manual_seed(0))[: int(share * H)]
        model.head.weight[:, drop] = 0
        model.lstm.weight_hh_l0[:, drop] = 0
        return {"lstm": "head"}


class LSTMNet(nn.Module):
    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)  # small: the LSTM layer is what is timed

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def nbytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def time_variants(variants: dict, x: torch.Tensor, rounds: int, min_seconds: float) -> dict:
    """Median seconds per call of each variant, interleaved, the order rotating."""
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    with torch.no_grad():
        for r in range(rounds):
            for n in names[r % len(names) :] + names[: r % len(names)]:
                times[n].append(time_call(lambda m=variants[n]: m(x), min_seconds, repeats=1))
    return {n: statistics.median(v) for n, v in times.items()}


def run_case(label, make, sparsity, structured, batches, threads, steps, args) -> list[dict]:
    torch.manual_seed(0)
    dense = make().eval()
    links = prune_units_(dense, sparsity) if structured else (prune_(dense, sparsity) or {})
    formats = ["never"] if structured else [*available_formats(), *fused(), "auto"]
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for batch in batches:
            shape = (batch, steps, dense_in(dense)) if steps else (batch, dense_in(dense))
            x = torch.randn(*shape)
            variants = {"dense": dense}
            memory = {}
            for fmt in formats:
                small = export(dense, csr=fmt, batch_size=batch, links=links)
                key = "structured" if structured else fmt
                variants[key] = small
                memory[key] = nbytes(small) / nbytes(dense)
                if fmt == "auto":
                    chosen = sorted({r["format"] for r in small.report.layers})
            with torch.no_grad():
                ref = dense(x)
                for m in variants.values():
                    torch.testing.assert_close(m(x), ref, rtol=1e-3, atol=1e-3)
            sec = time_variants(variants, x, args.rounds, args.min_seconds)
            row = {
                "model": label,
                "sparsity": sparsity,
                "structured": structured,
                "batch": batch,
                "threads": n_threads,
                "dense_ms": 1e3 * sec["dense"],
                "ms": {k: 1e3 * v for k, v in sec.items()},
                "speedup": {k: sec["dense"] / v for k, v in sec.items() if k != "dense"},
                "memory": memory,
            }
            if not structured:
                row["auto_formats"] = chosen
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


def fused() -> list[str]:
    """``["fused"]`` when the fused modules run here (numba installed)."""
    return ["fused"] if fused_available() else []


def dense_in(model: nn.Module) -> int:
    return model[0].in_features if isinstance(model, nn.Sequential) else model.lstm.input_size


COLUMNS = ("csr", "scipy", "mkl", "numba", "fused", "auto", "structured")


def header() -> str:
    cols = " | ".join(f"{c} x" for c in COLUMNS)
    return (
        f"| model | sparsity | batch | threads | dense ms | {cols} | best x | memory (best) "
        f"| target |\n|{'---|' * (8 + len(COLUMNS))}"
    )


def format_row(row: dict) -> str:
    sp = row["speedup"]
    cells = " | ".join(f"{sp[c]:.2f}" if c in sp else "-" for c in COLUMNS)
    best = max(sp, key=sp.get)
    target = TARGETS.get(row["sparsity"])
    tgt = "-" if target is None else f">={target:g}x {'met' if sp[best] >= target else 'MISSED'}"
    kind = " (units)" if row["structured"] else ""
    return (
        f"| {row['model']}{kind} | {row['sparsity']:.2f} | {row['batch']} | {row['threads']} "
        f"| {row['dense_ms']:.3f} | {cells} | {sp[best]:.2f} ({best}) "
        f"| {row['memory'][best]:.2f} | {tgt} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (5)")
    parser.add_argument(
        "--models", nargs="+", choices=MODELS, default=list(MODELS), help="models (all)"
    )
    parser.add_argument("--sparsities", nargs="+", type=float, help="of 0.9 0.95 0.99 (all)")
    parser.add_argument("--batches", nargs="+", type=int, help="of 1 64 (both)")
    parser.add_argument("--threads", nargs="+", type=int, help="of 1 2 (both)")
    parser.add_argument(
        "--no-structured", action="store_true", help="skip the structured (units) rows"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
    kinds = {MODELS[m][0] for m in args.models}
    if args.quick:  # tiny sizes; --models picks the kinds, --no-structured applies
        widths = (128,) if "stack" in kinds else ()
        lstm_sizes, sparsities = ((64,) if "lstm" in kinds else ()), (0.9,)
        batches, threads, args.min_seconds = (1,), (1,), 0.002
        args.rounds = args.rounds or 1
    else:
        widths = tuple(MODELS[m][1] for m in args.models if MODELS[m][0] == "stack")
        lstm_sizes = tuple(MODELS[m][1] for m in args.models if MODELS[m][0] == "lstm")
        sparsities = tuple(args.sparsities or (0.9, 0.95, 0.99))
        batches, threads = tuple(args.batches or (1, 64)), tuple(args.threads or (1, 2))
        args.min_seconds = 0.02
        args.rounds = args.rounds or 5
    info = machine()
    print(
        f"# bsdl sparse inference ({'quick' if args.quick else 'full'}); torch "
        f"{info['torch']}; cpu_count={info['cpu_count']}; {info['processor']}; formats "
        f"{list(available_formats()) + fused()}; load average {loadavg()}"
    )
    print(header())
    rows = []
    for w in widths:

        def stack(w=w):
            return nn.Sequential(nn.Linear(w, w), nn.ReLU(), nn.Linear(w, w))

        for s in sparsities:
            rows += run_case(f"Linear stack {w}", stack, s, False, batches, threads, 0, args)
        if not args.no_structured:
            rows += run_case(f"Linear stack {w}", stack, 0.5, True, batches, threads, 0, args)
    for h in lstm_sizes:

        def lstm(h=h):
            return LSTMNet(h, h)

        for s in sparsities:
            rows += run_case(f"LSTM {h} (16 steps)", lstm, s, False, batches, threads, 16, args)
        if not args.no_structured:
            rows += run_case(f"LSTM {h} (16 steps)", lstm, 0.5, True, batches, threads, 16, args)
    print(f"# load average at the end {loadavg()}")
    for r in rows:
        sp = r["speedup"]
        best = max(sp, key=sp.get)
        print(
            f"ratio dense/exported {r['model']} s={r['sparsity']} batch={r['batch']} "
            f"threads={r['threads']}: {sp[best]:.2f} ({best})"
        )
    missed = [
        r
        for r in rows
        if r["sparsity"] in TARGETS and max(r["speedup"].values()) < TARGETS[r["sparsity"]]
    ]
    print(f"summary: {len(rows)} cases, {len(missed)} below their target")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
