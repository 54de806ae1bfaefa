"""The base of every pruner: targets, masks, the cubic schedule and the two step hooks.

A pruner is driven by two calls around the optimiser step, in any PyTorch loop::

    loss.backward()
    pruner.before_step()     # gradient ready: MGPP adds the prior term, PLATON and
                             # movement pruning update their scores, DPF restores dense weights
    optimizer.step()
    pruner.after_step()      # masks recomputed on schedule and applied

It is also a :class:`bsdl.inference.Callback`: in ``bsdl.inference.train(...,
callbacks=[pruner])`` the engine calls ``after_backward`` (which is :meth:`before_step`)
and :meth:`after_step` itself.

**Masks.** The pruner keeps one boolean tensor per targeted parameter (True where the
weight is pruned), on the parameter's device; :attr:`Pruner.masks` returns the
complement (True = kept), the convention of :mod:`bsdl.sparsify`. Nothing is registered on
the model, so its ``state_dict`` is unchanged; pruned weights are exact zeros, which is
what :func:`bsdl.pruning.export` reads. After every step (once pruning has started) the
pruned weights are set to 0 again, so they stay exactly zero under any optimiser
(momentum and Adam moments included). Except for :class:`~bsdl.pruning.DPF`, a pruned
weight never comes back: at each update the masks grow to ``round(s(t) * n)`` pruned
weights (per tensor with ``ranking="per_tensor"``), keeping the highest scores. Besides
the boolean masks the pruner holds a 0/1 copy in each parameter's dtype (as much memory
as the targeted weights), which makes re-applying the masks after a step cheap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from bsdl._validation import check_in_options
from bsdl.exceptions import TrainingDivergedError
from bsdl.inference.callbacks import Callback, TrainState
from bsdl.pruning.schedule import CubicSchedule
from bsdl.pruning.targets import select_targets

__all__ = ["Pruner", "RANKINGS"]

RANKINGS = ("global", "per_tensor")


class Pruner(Callback):
    """Base class of the pruners: gradual pruning of a model's weights by a score.

    Subclasses define :meth:`_scores` (higher = keep) and may override the hooks
    :meth:`_before_update` (gradient ready, before the optimiser step) and
    :meth:`_after_update` (after the optimiser step).

    Parameters
    ----------
    model : nn.Module
        The network to prune, on its final device (pruning state lives on the parameters'
        devices; after moving the model call :meth:`to`).
    final_sparsity : float
        Share of the targeted weights removed at the end, in [0, 1).
    total_steps : int
        Optimiser steps of the whole run (the number of :meth:`after_step` calls).
    initial_sparsity : float, default 0.0
        Target at the first pruning step, in ``[0, final_sparsity]``.
    initial_warmup : int, default 0
        Dense steps before pruning starts.
    final_warmup : int, default 0
        Fine-tuning steps with the mask fixed at the end.
    pruning_interval : int, default 10
        Steps between mask updates during the pruning phase.
    ranking : {"global", "per_tensor"}, default "global"
        Rank the scores over all targeted weights together, or within each tensor (each
        tensor then loses the same share).
    targets, exclude, exclude_head
        Which parameters are pruned; see :func:`bsdl.pruning.targets.select_targets`
        (default: the weights of Linear, recurrent and attention layers, without biases,
        embeddings, norms and the last Linear).
    pattern : (int, int), optional
        ``(k, n)``: a k-of-n pattern (``(2, 4)`` is the 2:4 semi-structured sparsity of
        sparse tensor cores): every block of ``n`` consecutive weights along the last
        (input) dimension keeps ``k``. ``final_sparsity`` must then be ``(n - k) / n``;
        at step ``t`` each block loses ``round(s(t) * n)`` weights, the lowest scores of
        the block (``ranking`` is not used). Every target must be 2-D with an input
        dimension divisible by ``n``.

    Attributes
    ----------
    model : nn.Module
    schedule : CubicSchedule
    global_step : int
        Steps completed (calls of :meth:`after_step`).

    Examples
    --------
    A pruner that keeps the weights with the largest ``|w| * |dL/dw|`` of the last step:

    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import Pruner
    >>> class Taylor(Pruner):
    ...     def _before_update(self, t):
    ...         self._last = [(p * p.grad).abs().detach() for p in self._params]
    ...     def _scores(self):
    ...         return self._last
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    >>> pruner = Taylor(net, final_sparsity=0.5, total_steps=3, pruning_interval=1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     net(torch.randn(16, 4)).pow(2).mean().backward()
    ...     pruner.before_step(); opt.step(); pruner.after_step()
    >>> pruner.targets, pruner.sparsity(), pruner.metrics()["phase"]
    (['0.weight'], 0.5, 'finetune')
    """

    regrow = False  # may a pruned weight come back at a mask update?
    _tensor_lists: tuple[str, ...] = ("_pruned",)  # per-target tensors that :meth:`to` moves

    def __init__(
        self,
        model: nn.Module,
        final_sparsity: float,
        total_steps: int,
        *,
        initial_sparsity: float = 0.0,
        initial_warmup: int = 0,
        final_warmup: int = 0,
        pruning_interval: int = 10,
        ranking: str = "global",
        targets="auto",
        exclude: Sequence[str] | str = (),
        exclude_head: bool = True,
        pattern: tuple[int, int] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.schedule = CubicSchedule(
            total_steps=total_steps,
            final_sparsity=final_sparsity,
            initial_sparsity=initial_sparsity,
            initial_warmup=initial_warmup,
            final_warmup=final_warmup,
            pruning_interval=pruning_interval,
        )
        self.ranking = check_in_options(ranking, "ranking", RANKINGS)
        self.model = model
        pairs = self._select_targets(model, targets, exclude, exclude_head)
        self._names = [name for name, _ in pairs]
        self._params = [p for _, p in pairs]
        self.pattern = _check_pattern(pattern, self.schedule.final_sparsity, pairs)
        self._pruned = [torch.zeros_like(p, dtype=torch.bool) for p in self._params]
        self._keep: list[torch.Tensor] | None = None  # ~pruned in each parameter's dtype
        self._n_weights = sum(p.numel() for p in self._params)
        self._n_pruned = 0
        self._target = 0.0
        self.global_step = 0
        self._pending = False

    # ------------------------------------------------------------------ read-outs
    @property
    def targets(self) -> list[str]:
        """Names of the pruned parameters."""
        return list(self._names)

    @property
    def masks(self) -> dict[str, torch.Tensor]:
        """``{parameter name: bool tensor}``, True where the weight is kept (new tensors)."""
        return {name: ~m for name, m in zip(self._names, self._pruned)}

    @torch.no_grad()
    def sparsity(self) -> float:
        """Measured share of exact zeros over the targeted weights."""
        zeros = sum(int((p == 0).sum()) for p in self._params)
        return zeros / self._n_weights

    def metrics(self) -> dict:
        """Where pruning stands, for logging: ``step``, ``phase`` (of the next step),
        ``target_sparsity`` (of the masks in force) and ``mask_sparsity`` (their pruned
        share); subclasses add their own entries."""
        return {
            "step": self.global_step,
            "phase": self.schedule.phase(self.global_step),
            "target_sparsity": self._target,
            "mask_sparsity": self._n_pruned / self._n_weights,
        }

    def to(self, device) -> Pruner:
        """Move the pruning state (masks, scores) to ``device``; returns self."""
        for attr in self._tensor_lists:
            tensors = getattr(self, attr)
            if tensors is not None:
                setattr(self, attr, [t.to(device) for t in tensors])
        self._keep = None
        return self

    def state_dict(self) -> dict:
        """The pruning state to checkpoint: ``global_step`` and, per target, the masks and
        any scores (copies). Restore it with :meth:`load_state_dict` on a pruner built with
        the same arguments."""
        out: dict = {"global_step": self.global_step, "target_sparsity": self._target}
        for attr in self._tensor_lists:
            tensors = getattr(self, attr)
            out[attr.lstrip("_")] = (
                None if tensors is None else {n: t.clone() for n, t in zip(self._names, tensors)}
            )
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (tensors go to each parameter's device)."""
        if not isinstance(state, dict) or "global_step" not in state:
            raise TypeError("state must be a dict returned by Pruner.state_dict()")
        for attr in self._tensor_lists:
            key = attr.lstrip("_")
            if key not in state:
                raise ValueError(f"state lacks {key!r}: it is not a {type(self).__name__} state")
            saved = state[key]
            if saved is None and attr != "_pruned":
                setattr(self, attr, None)
                continue
            if not isinstance(saved, dict) or sorted(saved) != sorted(self._names):
                raise ValueError(
                    f"state[{key!r}] must map this pruner's targets {self._names} to tensors"
                )
            tensors = []
            for name, p in zip(self._names, self._params):
                if saved[name].shape != p.shape:
                    raise ValueError(
                        f"state[{key!r}][{name!r}] has shape {tuple(saved[name].shape)}, "
                        f"the parameter {tuple(p.shape)}"
                    )
                tensors.append(saved[name].to(p.device).clone())
            setattr(self, attr, tensors)
        self.global_step = int(state["global_step"])
        self._target = float(state.get("target_sparsity", 0.0))
        self._n_pruned = sum(int(m.sum()) for m in self._pruned)
        self._keep = None
        self._pending = False

    def __repr__(self) -> str:
        s = self.schedule
        return (
            f"{type(self).__name__}(final_sparsity={s.final_sparsity:g}, "
            f"total_steps={s.total_steps}, {len(self._names)} tensors, "
            f"{self._n_weights} weights, step {self.global_step})"
        )

    # ------------------------------------------------------------------ the step hooks
    def before_step(self) -> None:
        """Call after ``loss.backward()`` and before ``optimizer.step()``."""
        if self._pending:
            raise RuntimeError(
                f"{type(self).__name__}.before_step() called twice without after_step(): "
                "call before_step() once after loss.backward() and after_step() once after "
                "optimizer.step() at every step"
            )
        self._check_devices()
        self._before_update(self.global_step)
        self._pending = True

    def after_step(self, state: TrainState | None = None) -> None:
        """Call after ``optimizer.step()``: update the masks on schedule and apply them.

        ``state`` is given by bsdl's engine (the :class:`~bsdl.inference.Callback` hook);
        leave it out in your own loop.
        """
        if not self._pending:
            raise RuntimeError(
                f"{type(self).__name__}.after_step() called without before_step() first: "
                "call pruner.before_step() after loss.backward() and before optimizer.step()"
            )
        self._pending = False
        self._after_update(self.global_step)
        self.global_step += 1

    # ------------------------------------------------------------------ engine hooks
    def on_train_begin(self, state: TrainState) -> None:
        """Check that the engine trains this pruner's model; warn when the run's number of
        steps differs from the steps the schedule has left."""
        ids = {id(p) for p in state.module.parameters()}
        missing = [n for n, p in zip(self._names, self._params) if id(p) not in ids]
        if missing:
            raise ValueError(
                f"the module trained by the engine does not hold the pruner's parameters "
                f"({missing[0]!r}...): build the pruner on the module you pass to train()"
            )
        self._check_devices()
        self._pending = False
        run = state.config.n_epochs * state.steps_per_epoch
        left = self.schedule.total_steps - self.global_step
        if run != left:
            warnings.warn(
                f"this training run takes {run} steps but the pruner's schedule has {left} "
                f"of total_steps={self.schedule.total_steps} left: the final sparsity is "
                f"reached at step {self.schedule.t_end + 1}",
                UserWarning,
                stacklevel=2,
            )

    def after_backward(self, state: TrainState) -> None:
        """The engine's hook between backward and the kernel step: :meth:`before_step`."""
        self.before_step()

    def on_epoch_end(self, state: TrainState) -> None:
        """Add ``pruning_sparsity`` (measured) and ``pruning_target`` to the history row."""
        state.row["pruning_sparsity"] = self.sparsity()
        state.row["pruning_target"] = self._target

    # ------------------------------------------------------------------ for subclasses
    def _select_targets(self, model, targets, exclude, exclude_head) -> list:
        """The ``(name, parameter)`` pairs to prune (default: :func:`select_targets`)."""
        return select_targets(model, targets, exclude, exclude_head)

    def _before_update(self, t: int) -> None:
        """Gradient of step ``t`` ready, before the optimiser step (default: nothing)."""

    def _after_update(self, t: int) -> None:
        """After the optimiser step of step ``t``: update the masks on schedule, apply."""
        if self.schedule.prunes_at(t):
            self._update_masks(t)
        if self._n_pruned:
            self._apply_masks()

    def _scores(self) -> list[torch.Tensor]:
        """One score tensor per target, shaped as the parameter: higher = keep."""
        raise NotImplementedError

    # ------------------------------------------------------------------ mechanics
    def _check_devices(self) -> None:
        for name, p, m in zip(self._names, self._params, self._pruned):
            if p.device != m.device:
                raise ValueError(
                    f"model: parameter {name!r} is on {p.device} but the pruner's masks are "
                    f"on {m.device}; after moving the model call pruner.to({str(p.device)!r}) "
                    "(or build the pruner after moving the model)"
                )

    def _check_params(self) -> None:
        for name, p in zip(self._names, self._params):
            try:
                current = self.model.get_parameter(name)
            except AttributeError:
                current = None
            if current is not p:
                raise ValueError(
                    f"model: parameter {name!r} was replaced after the pruner was built "
                    "(e.g. by a conversion that creates new Parameter objects); build the "
                    "pruner on the model as it is trained"
                )

    @torch.no_grad()
    def _apply_masks(self) -> None:
        # multiplying by a 0/1 tensor of the parameter's dtype is several times faster on a
        # CPU than masked_fill_ with the boolean mask; it is rebuilt when the masks change
        keep = self._keep
        if keep is None or any(
            k.dtype != p.dtype or k.device != p.device for k, p in zip(keep, self._params)
        ):
            keep = self._keep = [(~m).to(p.dtype) for m, p in zip(self._pruned, self._params)]
        for p, k in zip(self._params, keep):
            p.mul_(k)

    @torch.no_grad()
    def _update_masks(self, t: int) -> None:
        """Prune the ``round(s(t) * n)`` lowest scores (globally or per tensor)."""
        self._check_params()
        scores = []
        for name, s, m in zip(self._names, self._scores(), self._pruned):
            s = s.detach().float()
            if not bool(torch.isfinite(s).all()):
                raise TrainingDivergedError(
                    f"{type(self).__name__}: the pruning scores of {name!r} are not finite at "
                    f"step {t}; the weights or gradients diverged (try a smaller learning rate)"
                )
            scores.append(s if self.regrow else s.masked_fill(m, -math.inf))
        sched = self.schedule
        if self.pattern is not None:
            n = self.pattern[1]
            per_block = sched.n_pruned(t, n)
            new = [_lowest_per_block(s, n, per_block) for s in scores]
        elif self.ranking == "global":
            device = scores[0].device
            flat = torch.cat([s.reshape(-1).to(device) for s in scores])
            k = sched.n_pruned(t, flat.numel())
            pruned = _lowest(flat, k)
            parts = pruned.split([p.numel() for p in self._params])
            new = [part.view(p.shape).to(p.device) for part, p in zip(parts, self._params)]
        else:
            new = [
                _lowest(s.reshape(-1), sched.n_pruned(t, s.numel())).view(s.shape) for s in scores
            ]
        self._pruned = new
        self._keep = None
        self._n_pruned = sum(int(m.sum()) for m in new)
        self._target = sched.sparsity(t)


def _check_pattern(pattern, final_sparsity: float, pairs) -> tuple[int, int] | None:
    if pattern is None:
        return None
    if (
        not isinstance(pattern, tuple | list)
        or len(pattern) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pattern)
        or not 0 < pattern[0] < pattern[1]
    ):
        raise ValueError(f"pattern must be a pair (k, n) of ints with 0 < k < n, got {pattern!r}")
    k, n = int(pattern[0]), int(pattern[1])
    if abs(final_sparsity - (n - k) / n) > 1e-9:
        raise ValueError(
            f"pattern=({k}, {n}) keeps {k} of every {n} weights: final_sparsity must be "
            f"{(n - k) / n!r}, got {final_sparsity!r}"
        )
    for name, p in pairs:
        if p.dim() != 2 or p.shape[1] % n:
            raise ValueError(
                f"pattern=({k}, {n}) needs 2-D targets whose input dimension is divisible by "
                f"{n}; {name!r} has shape {tuple(p.shape)} (exclude it with exclude=[...])"
            )
    return k, n


def _lowest_per_block(scores: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """Boolean tensor: True at the ``k`` lowest scores of each block of ``n`` consecutive
    entries along the last dimension."""
    blocks = scores.reshape(-1, n)
    out = torch.zeros(blocks.shape, dtype=torch.bool, device=scores.device)
    if k > 0:
        idx = torch.topk(blocks, k, dim=1, largest=False, sorted=False).indices
        out.scatter_(1, idx, True)
    return out.view(scores.shape)


def _lowest(values: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean vector: True at the ``k`` smallest entries of ``values`` (ties: torch.topk)."""
    out = torch.zeros(values.shape, dtype=torch.bool, device=values.device)
    if k > 0:
        idx = torch.topk(values, k, largest=False, sorted=False).indices
        out[idx] = True
    return out
