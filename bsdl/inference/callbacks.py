"""Hooks into the training loop: :class:`Callback`, :class:`TrainState`, :func:`training_callbacks`.

:func:`bsdl.inference.train` runs one loop; everything that is not "draw a minibatch,
backward, step the kernel" is a callback: the schedule, the prior gradient, the mask, the
noise estimate, the history and the progress bar (:mod:`bsdl.inference.builtin_callbacks`),
and whatever a user adds. The hooks, in the order the engine calls them::

    on_train_begin(state)                 once, after set-up (flat buffer, kernel)
    for each epoch:
        on_epoch_begin(state)
        for each minibatch:
            on_batch_begin(state)         before the forward pass
            loss.backward()
            after_backward(state)         gradient in state.grad, before the kernel step
            kernel.step(...)
            after_step(state)             parameters moved, before the next batch
        on_epoch_end(state)               state.epoch_loss known, state.row built
    on_train_end(state)                   always, also when training stops on an error

The built-in callbacks run first, in the order schedule, prior gradient, mask, noise
estimate, history, progress bar; then the ``callbacks=`` given to ``train``, in order; then
those of enclosing :func:`training_callbacks` blocks. So a user's ``after_backward`` sees
the gradient with the prior term added, and a user's ``after_step`` sees the mask
re-applied.

Only the hooks a callback overrides are called: the engine collects, once per run, the
bound methods that differ from :class:`Callback`'s no-ops, so an unused hook costs
nothing per step.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["Callback", "TrainState", "HOOKS", "training_callbacks"]

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "after_backward",
    "after_step",
    "on_epoch_end",
    "on_train_end",
)


class Callback:
    """Base class of training callbacks: every hook is a no-op; override the ones you need.

    Each hook receives the :class:`TrainState` of the run. A callback may read and write
    ``state.grad`` in ``after_backward`` (before the kernel uses it) and ``state.params``
    in ``after_step``; both are flat views of the module's parameters, so in-place
    changes act on the module. It may set ``state.stop_training = True`` to end training
    after the current epoch. One callback object may serve several runs: keep per-run
    state in attributes reset in :meth:`on_train_begin`.

    Examples
    --------
    Record the gradient norm of every step (after the prior term is added):

    >>> import torch
    >>> from torch import nn
    >>> from bsdl.inference import Callback, train
    >>> class GradNorm(Callback):
    ...     def on_train_begin(self, state):
    ...         self.norms = []
    ...     def after_backward(self, state):
    ...         self.norms.append(float(state.grad.norm()))
    >>> x, y = torch.randn(20, 3), torch.randn(20)
    >>> net = nn.Linear(3, 1)
    >>> loss = lambda m, xb, yb: 0.5 * (m(xb).squeeze(-1) - yb).pow(2).mean()
    >>> gn = GradNorm()
    >>> history = train(net, loss, x, y, n_epochs=2, batch_size=10, lr=1e-2,
    ...                 generator=torch.Generator().manual_seed(0), callbacks=[gn])
    >>> len(gn.norms)  # 2 epochs of 2 steps
    4
    """

    def on_train_begin(self, state: TrainState) -> None:
        """Called once before the first epoch (the flat buffer and the kernel exist)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """Called at the start of each epoch (``state.epoch`` set)."""

    def on_batch_begin(self, state: TrainState) -> None:
        """Called before each forward pass (``state.step`` set)."""

    def after_backward(self, state: TrainState) -> None:
        """Called after ``loss.backward()``, before the kernel step: edit ``state.grad``."""

    def after_step(self, state: TrainState) -> None:
        """Called after the kernel step: edit ``state.params`` (e.g. re-apply a mask)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after each epoch, with ``state.epoch_loss`` and the history ``state.row``."""

    def on_train_end(self, state: TrainState) -> None:
        """Called once when training stops, normally or on an error (``state.error``)."""


@dataclass(eq=False, slots=True)
class TrainState:
    """What the hooks see: the run's fixed set-up and where training stands.

    Attributes
    ----------
    module : nn.Module
        The network being trained (its parameters are views of ``flat.data``).
    flat : FlatParameters
        The flat parameter and gradient buffers (see :mod:`bsdl.inference.flat`).
    config : TrainConfig
        The run's settings (``config.desc`` labels it).
    kernel : Kernel
        The optimiser or SG-MCMC kernel.
    generator : torch.Generator
        The run's random stream (minibatch order, SGHMC noise).
    n : int
        Likelihood terms per full loss (``config.n_obs`` or the number of samples).
    n_samples : int
        Rows of the training inputs.
    batch_size : int
        Effective minibatch size (``config.batch_size`` capped at ``n_samples``).
    steps_per_epoch : int
    penalized : Tensor or None
        Boolean vector over ``flat.data``: True where the prior applies; None when it
        applies everywhere (see :func:`bsdl.nn.penalized_flat`).
    epoch : int
        Index of the current epoch, from 0.
    step : int
        Index of the current minibatch within the epoch, from 0.
    global_step : int
        Kernel steps taken so far in this run.
    schedule_state : ScheduleState or None
        The schedule at the current step (set by the schedule callback at each batch).
    prior : MixtureGaussianPrior or None
        The prior in force, with the annealed spike width (set by the prior gradient).
    mask : Tensor or None
        The flat 0/1 mask in force (set by the mask callback).
    noise_var : float
        Noise variance that scales the prior term and the temperature (1 unless
        ``config.estimate_noise``).
    batch_loss : Tensor or None
        The current minibatch's mean loss (detached), from ``after_backward`` on.
    epoch_loss : float
        Mean loss over the samples of the epoch just finished (in ``on_epoch_end``).
    row : dict
        The history row of the epoch just finished (built by the history callback).
    history : list of dict
        All rows so far; what :func:`bsdl.inference.train` returns.
    stop_training : bool
        Set to True in a hook to stop after the current epoch.
    error : BaseException or None
        In ``on_train_end``: the exception that stopped training, if any.
    """

    module: nn.Module
    flat: Any
    config: Any
    kernel: Any
    generator: torch.Generator
    n: int
    n_samples: int
    batch_size: int
    steps_per_epoch: int
    penalized: torch.Tensor | None = None
    epoch: int = 0
    step: int = 0
    global_step: int = 0
    schedule_state: Any = None
    prior: Any = None
    mask: torch.Tensor | None = None
    noise_var: float = 1.0
    batch_loss: torch.Tensor | None = None
    epoch_loss: float = float("nan")
    row: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    stop_training: bool = False
    error: BaseException | None = None

    @property
    def params(self) -> torch.Tensor:
        """All trainable parameters as one flat tensor (a view: writes reach the module)."""
        return self.flat.data

    @property
    def grad(self) -> torch.Tensor:
        """The gradient of the current minibatch as one flat tensor (same order)."""
        return self.flat.grad

    @property
    def progress(self) -> float:
        """Training progress in epochs: ``epoch + step / steps_per_epoch``."""
        return self.epoch + self.step / self.steps_per_epoch


_AMBIENT: contextvars.ContextVar[tuple[Callback, ...]] = contextvars.ContextVar(
    "bsdl_training_callbacks", default=()
)


def check_callbacks(callbacks, name: str = "callbacks") -> tuple[Callback, ...]:
    """Return ``callbacks`` as a tuple, or raise TypeError naming the bad entry."""
    if callbacks is None:
        return ()
    if isinstance(callbacks, Callback):
        callbacks = (callbacks,)
    if not isinstance(callbacks, Sequence):
        raise TypeError(
            f"{name} must be a list of Callback objects, got {type(callbacks).__name__}"
        )
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(
                f"{name}[{i}] must be a bsdl.inference.Callback, got {type(cb).__name__}"
            )
    return tuple(callbacks)


@contextlib.contextmanager
def training_callbacks(*callbacks: Callback) -> Iterator[None]:
    """Add ``callbacks`` to every :func:`bsdl.inference.train` call inside the block.

    This reaches training runs that an estimator starts (``fit`` trains each restart and
    its refit through ``train``) without changing the estimator. The callbacks run after
    the built-in ones and after ``train``'s own ``callbacks=``. Blocks nest (outer
    callbacks first). Only runs in the same thread and process see them: restarts fitted
    in joblib workers (``n_jobs`` > 1) do not.

    Parameters
    ----------
    *callbacks : Callback

    Examples
    --------
    Time every training run of a fit (``state.config.desc`` names the run):

    >>> import time
    >>> from bsdl import SparseMLPRegressor
    >>> from bsdl.datasets import make_sparse_regression
    >>> from bsdl.inference import Callback, training_callbacks
    >>> class Timer(Callback):
    ...     def __init__(self):
    ...         self.runs = []
    ...     def on_train_begin(self, state):
    ...         self.start = time.perf_counter()
    ...     def on_train_end(self, state):
    ...         elapsed = time.perf_counter() - self.start
    ...         self.runs.append((state.config.desc, elapsed, len(state.history)))
    >>> X, y = make_sparse_regression(100, 5, random_state=0)
    >>> timer = Timer()
    >>> with training_callbacks(timer):
    ...     est = SparseMLPRegressor((4,), skip=False, n_epochs=5, refit_epochs=2, random_state=0)
    ...     _ = est.fit(X, y)
    >>> [(desc.split(": ")[1], epochs) for desc, _, epochs in timer.runs]
    [('anneal', 5), ('refit', 2)]
    """
    added = check_callbacks(list(callbacks), "training_callbacks()")
    token = _AMBIENT.set(_AMBIENT.get() + added)
    try:
        yield
    finally:
        _AMBIENT.reset(token)


def ambient_callbacks() -> tuple[Callback, ...]:
    """The callbacks of the enclosing :func:`training_callbacks` blocks."""
    return _AMBIENT.get()


def bound_hooks(callbacks: Sequence[Callback], name: str) -> list:
    """Bound ``name`` methods of the callbacks that override it (the engine's hot lists)."""
    base = getattr(Callback, name)
    return [getattr(cb, name) for cb in callbacks if getattr(type(cb), name) is not base]
