"""The measured rule of :func:`bsdl.pruning.export`: time the candidates, keep the fastest.

:func:`choose_layer` (a stack's Linear layer: dense or each sparse kernel),
:func:`choose_stack` (the whole stack: dense, its layers as chosen, fused) and
:func:`choose_lstm` (an LSTM layer: ``nn.LSTM``, each kernel, fused) build the candidates
and time them with :func:`fastest`.

One candidate timed after another (the rule before) lets a burst of load from another
process land on one of them only, and one short timing of a sub-millisecond forward is at
the mercy of a single context switch. :func:`fastest` therefore

1. warms every candidate up (first calls compile numba kernels, fill caches, allocate);
2. calibrates, for each candidate, how many calls make one timed block of at least
   ``min_seconds`` (so sub-millisecond forwards are timed over many calls);
3. times ``rounds`` rounds, each one block of every candidate, the order rotating from one
   round to the next, so slow phases of the machine are shared among the candidates;
4. keeps each candidate's median seconds per call over the rounds, and names the smallest.

The inputs are random, of the shapes the layer will see: ``batch_size`` rows (16 steps of
``batch_size`` sequences for an LSTM), or, with ``example_input``, the shapes recorded by
:func:`input_shapes` in one forward of the model (a language model's decoder sees every
position of the sequence at once, its LSTM one sequence).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from bsdl.pruning.export_fused import (
    FusedSparseLSTM,
    FusedSparseStack,
    fused_available,
    stack_activations,
)
from bsdl.pruning.sparse_kernels import available_formats
from bsdl.pruning.sparse_linear import PrunedLinear
from bsdl.pruning.sparse_rnn import PrunedLSTM

__all__ = [
    "fastest",
    "choose_layer",
    "choose_stack",
    "choose_lstm",
    "input_shapes",
    "ROUNDS",
    "MIN_SECONDS",
]

ROUNDS = 7
MIN_SECONDS = 0.003
_MAX_CALLS = 1 << 16


def _calls_for(fn: Callable[[], object], min_seconds: float) -> int:
    """Calls per block: doubled until one block lasts ``min_seconds`` (at least one)."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start >= min_seconds or n >= _MAX_CALLS:
            return n
        n *= 2


def fastest(
    candidates: dict[str, Callable[[], object]],
    *,
    rounds: int = ROUNDS,
    min_seconds: float = MIN_SECONDS,
    warmup: int = 1,
) -> tuple[str, dict[str, float]]:
    """The fastest of ``candidates`` and each one's median seconds per call.

    Parameters
    ----------
    candidates : dict of str to callable
        Functions without arguments (one forward each), by name.
    rounds : int, default 7
        Interleaved rounds; each gives every candidate one timed block.
    min_seconds : float, default 0.003
        Shortest timed block: a fast candidate is called as many times as that takes.
    warmup : int, default 1
        Untimed calls of each candidate first (the calibration's calls come on top).

    Returns
    -------
    name : str
        The candidate with the smallest median (the first of them on a tie).
    seconds : dict of str to float
        Median seconds per call of every candidate.

    Examples
    --------
    >>> import time
    >>> best, seconds = fastest(
    ...     {"slow": lambda: time.sleep(0.002), "fast": lambda: None}, rounds=3
    ... )
    >>> best, seconds["slow"] > seconds["fast"]
    ('fast', True)
    """
    if not candidates:
        raise ValueError("candidates must name at least one function")
    if int(rounds) < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    names = list(candidates)
    for name in names:
        for _ in range(warmup):
            candidates[name]()
    calls = {name: _calls_for(candidates[name], min_seconds) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(int(rounds)):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn, n = candidates[name], calls[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
    seconds = {name: statistics.median(v) for name, v in times.items()}
    return min(names, key=seconds.__getitem__), seconds


def choose_layer(weight, bias, index, in_features, csr: str, batch_size: int):
    """A PrunedLinear in the requested or the measured fastest format, and the timings
    (``{format: seconds per forward}``, None when not timed)."""
    has_zeros = bool((weight == 0).any())
    if csr == "never" or (csr == "auto" and not has_zeros) or weight.numel() == 0:
        return PrunedLinear(weight, bias, index, in_features, "dense"), None
    if csr != "auto":
        fmt = "csr" if csr == "always" else csr
        return PrunedLinear(weight, bias, index, in_features, fmt), None
    layers = {
        fmt: PrunedLinear(weight, bias, index, in_features, fmt)
        for fmt in ("dense", *available_formats(weight.device))
    }
    x = torch.randn(batch_size, in_features, dtype=weight.dtype, device=weight.device)
    with torch.no_grad():
        best, seconds = fastest({f: (lambda m=m: m(x)) for f, m in layers.items()})
    return layers[best], seconds


def _need_fused(device) -> None:
    if not fused_available(device):
        raise ImportError("csr='fused' needs numba (pip install numba) and a CPU model")


def choose_stack(seq, run, original, layers, dense, ws, bs, index, in_features, csr, batch_size):
    """How the stack stays: ``(kind, fused module or None, seconds or None)``.

    ``kind`` is ``"layers"`` (the layers as chosen one by one), ``"dense"`` (every layer
    dense, dead units removed) or ``"fused"`` (one :class:`FusedSparseStack`); with
    ``csr="auto"`` the three whole stacks are timed (``{kind: seconds per forward}``) with
    the ``original`` Linear layers beside them (``"original"``, a reference, not a
    candidate), and the fastest candidate is kept."""
    acts = [list(seq[i + 1 : j]) for i, j in zip(run, run[1:])]
    if csr == "fused":
        _need_fused(ws[0].device)
    fusable = (
        csr in ("auto", "fused")
        and fused_available(ws[0].device)
        and all(stack_activations(a) is not None for a in acts)
        and ws[0].dtype in (torch.float32, torch.float64)
        and all(w.numel() > 0 for w in ws)
    )
    if csr != "auto" or not any(bool((w == 0).any()) for w in ws):
        if csr == "fused" and fusable:
            return "fused", FusedSparseStack(ws, bs, index, in_features, acts), None
        return "layers", None, None

    def chain(mods):
        out = nn.Sequential()
        for k, layer in enumerate(mods):
            out.append(layer)
            if k < len(acts):
                out.extend(acts[k])
        return out

    candidates = {"original": chain(original), "dense": chain(dense), "layers": chain(layers)}
    fused = None
    if fusable:
        fused = candidates["fused"] = FusedSparseStack(ws, bs, index, in_features, acts)
    x = torch.randn(batch_size, in_features, dtype=ws[0].dtype, device=ws[0].device)
    with torch.no_grad():
        _, seconds = fastest({k: (lambda m=m: m(x)) for k, m in candidates.items()})
    best = min((k for k in seconds if k != "original"), key=seconds.__getitem__)
    return best, (fused if best == "fused" else None), seconds


def choose_lstm(lstm: nn.LSTM, csr: str, batch_size: int, steps: int = 16):
    """A PrunedLSTM in the requested or measured fastest format (None: keep nn.LSTM)."""
    if not any(bool((w == 0).any()) for w in (lstm.weight_ih_l0, lstm.weight_hh_l0)):
        return None, None
    if csr == "fused":
        _need_fused(lstm.weight_hh_l0.device)
        return FusedSparseLSTM(lstm), None
    if csr != "auto":
        return PrunedLSTM(lstm, "csr" if csr == "always" else csr), None
    shape = (batch_size, steps) if lstm.batch_first else (steps, batch_size)
    w = lstm.weight_hh_l0
    x = torch.randn(*shape, lstm.input_size, dtype=w.dtype, device=w.device)
    candidates = {"dense": lstm}
    candidates.update({f: PrunedLSTM(lstm, f) for f in available_formats(w.device)})
    if fused_available(w.device):
        candidates["fused"] = FusedSparseLSTM(lstm)
    with torch.no_grad():
        best, seconds = fastest({f: (lambda m=m: m(x)) for f, m in candidates.items()})
    return (None if best == "dense" else candidates[best]), seconds


def input_shapes(model: nn.Module, example_input) -> dict[str, tuple[int, ...]]:
    """The inputs the model's Linear and LSTM layers see in ``model(*example_input)``:
    ``{name: (rows,)}`` for a Linear (the product of its input's leading dimensions) and
    ``{name: (batch, steps)}`` for an ``nn.LSTM``; the last call counts when a layer is
    called more than once. The model runs once in eval mode without gradients."""
    args = (example_input,) if isinstance(example_input, torch.Tensor) else example_input
    if not (
        isinstance(args, tuple | list)
        and len(args) > 0
        and all(isinstance(a, torch.Tensor) for a in args)
    ):
        raise TypeError(
            "example_input must be a tensor or a tuple of tensors (the model's positional "
            f"inputs), got {type(example_input).__name__}"
        )
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str, module: nn.Module):
        def hook(_, inputs):
            x = inputs[0] if inputs else None
            if not isinstance(x, torch.Tensor) or x.dim() == 0:
                return
            if isinstance(module, nn.LSTM):
                if x.dim() == 2:  # unbatched: (steps, features)
                    shapes[name] = (1, int(x.shape[0]))
                else:
                    batch, steps = (0, 1) if module.batch_first else (1, 0)
                    shapes[name] = (int(x.shape[batch]), int(x.shape[steps]))
            else:
                shapes[name] = (max(1, int(x.numel() // max(1, x.shape[-1]))),)

        return hook

    handles = [
        module.register_forward_pre_hook(record(name, module))
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear | nn.LSTM)
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*args)
    except Exception as exc:  # the user's forward: any error is an unusable example
        raise ValueError(f"example_input: the model's forward failed on it ({exc})") from exc
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return shapes
