"""The cubic sparsity schedule of gradual pruning (Zhu & Gupta 2017), as MGPP uses it.

Steps are counted from 0 (the index of the optimiser step). With ``t_i = initial_warmup``
and ``t_end = total_steps - final_warmup - 1``:

* ``t < t_i``: dense warm-up, nothing pruned;
* ``t_i <= t <= t_end``: gradual pruning, the target sparsity is

      s(t) = s_f + (s_i - s_f) * (1 - (t - t_i) / (t_end - t_i))**3,

  and the masks are recomputed at ``t_i``, every ``pruning_interval`` steps after it, and
  at ``t_end``;
* ``t > t_end``: fine-tuning with the mask fixed at ``s_f``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from bsdl._validation import check_positive_int

__all__ = ["CubicSchedule", "check_sparsity"]

PHASES = ("warmup", "pruning", "finetune")


def check_sparsity(value, name: str) -> float:
    """A sparsity in [0, 1): the share of weights to remove.

    Examples
    --------
    >>> check_sparsity(0.9, "final_sparsity")
    0.9
    >>> check_sparsity(1.0, "final_sparsity")
    Traceback (most recent call last):
    ...
    ValueError: final_sparsity must be in [0, 1) (the share of weights removed), got 1.0
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(value).__name__} {value!r}")
    out = float(value)
    if not 0.0 <= out < 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1) (the share of weights removed), got {out!r}")
    return out


@dataclass(frozen=True)
class CubicSchedule:
    """Target sparsity and pruning steps of gradual magnitude-style pruning.

    Parameters
    ----------
    total_steps : int
        Optimiser steps of the whole run, >= 1.
    final_sparsity : float
        ``s_f`` in [0, 1), reached at step ``t_end`` and kept afterwards.
    initial_sparsity : float, default 0.0
        ``s_i`` in ``[0, final_sparsity]``, the target at the first pruning step ``t_i``.
    initial_warmup : int, default 0
        Dense steps before the first pruning step (``t_i``).
    final_warmup : int, default 0
        Steps of fine-tuning with the mask fixed after the last pruning step.
        ``initial_warmup + final_warmup`` must be below ``total_steps``.
    pruning_interval : int, default 10
        Steps between two mask updates during the pruning phase.

    Examples
    --------
    >>> sched = CubicSchedule(total_steps=11, final_sparsity=0.8, initial_warmup=2,
    ...                       final_warmup=4, pruning_interval=2)
    >>> sched.t_i, sched.t_end
    (2, 6)
    >>> [round(sched.sparsity(t), 3) for t in range(11)]
    [0.0, 0.0, 0.0, 0.463, 0.7, 0.788, 0.8, 0.8, 0.8, 0.8, 0.8]
    >>> [t for t in range(11) if sched.prunes_at(t)]
    [2, 4, 6]
    >>> sched.phase(1), sched.phase(6), sched.phase(7)
    ('warmup', 'pruning', 'finetune')
    """

    total_steps: int
    final_sparsity: float
    initial_sparsity: float = 0.0
    initial_warmup: int = 0
    final_warmup: int = 0
    pruning_interval: int = 10

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "total_steps", check_positive_int(self.total_steps, "total_steps"))
        set_(self, "final_sparsity", check_sparsity(self.final_sparsity, "final_sparsity"))
        set_(self, "initial_sparsity", check_sparsity(self.initial_sparsity, "initial_sparsity"))
        if self.initial_sparsity > self.final_sparsity:
            raise ValueError(
                f"initial_sparsity must not exceed final_sparsity, got "
                f"initial_sparsity={self.initial_sparsity!r} > "
                f"final_sparsity={self.final_sparsity!r}"
            )
        set_(self, "initial_warmup", check_positive_int(self.initial_warmup, "initial_warmup", 0))
        set_(self, "final_warmup", check_positive_int(self.final_warmup, "final_warmup", 0))
        set_(
            self, "pruning_interval", check_positive_int(self.pruning_interval, "pruning_interval")
        )
        if self.initial_warmup + self.final_warmup >= self.total_steps:
            raise ValueError(
                "initial_warmup + final_warmup must be smaller than total_steps (at least one "
                f"pruning step), got initial_warmup={self.initial_warmup}, "
                f"final_warmup={self.final_warmup}, total_steps={self.total_steps}"
            )

    @property
    def t_i(self) -> int:
        """First pruning step."""
        return self.initial_warmup

    @property
    def t_end(self) -> int:
        """Last pruning step; the mask is fixed after it."""
        return self.total_steps - self.final_warmup - 1

    def sparsity(self, t: int) -> float:
        """Target sparsity at step ``t`` (0 before ``t_i``; exactly ``s_i`` at ``t_i`` and
        ``s_f`` from ``t_end`` on)."""
        if t < self.t_i:
            return 0.0
        if t >= self.t_end:
            return self.final_sparsity
        if t == self.t_i:
            return self.initial_sparsity
        left = 1.0 - (t - self.t_i) / (self.t_end - self.t_i)
        s_i, s_f = self.initial_sparsity, self.final_sparsity
        return min(s_f, s_f + (s_i - s_f) * left**3)

    def prunes_at(self, t: int) -> bool:
        """Whether the masks are recomputed after step ``t``."""
        if t < self.t_i or t > self.t_end:
            return False
        return t == self.t_end or (t - self.t_i) % self.pruning_interval == 0

    def phase(self, t: int) -> str:
        """``"warmup"``, ``"pruning"`` or ``"finetune"`` at step ``t``."""
        if t < self.t_i:
            return "warmup"
        return "pruning" if t <= self.t_end else "finetune"

    def n_pruned(self, t: int, n: int) -> int:
        """Weights to remove out of ``n`` at step ``t``: ``s(t) * n`` rounded to nearest."""
        return min(n, int(math.floor(self.sparsity(t) * n + 0.5)))
