"""Exceptions and warnings raised by bsdl (layer L0)."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError

__all__ = [
    "NotFittedError",
    "TrainingDivergedError",
    "ConvergenceWarning",
    "SparsityWarning",
    "SingularFisherWarning",
    "SmallSampleWarning",
    "ModelFileError",
]


class TrainingDivergedError(RuntimeError):
    """Training produced a NaN or infinite loss.

    The message names the epoch and suggests remedies (smaller learning rate,
    a wider prior slab, standardised inputs).
    """


class ModelFileError(ValueError):
    """A file given to :func:`bsdl.load` is not a valid, untampered bsdl model."""


class ConvergenceWarning(UserWarning):
    """The optimiser stopped before the loss settled."""


class SparsityWarning(UserWarning):
    """Pruning removed every weight, or none."""


class SingularFisherWarning(UserWarning):
    """The Fisher information of the selected weights is singular or ill conditioned.

    A pseudo-inverse is used instead of the inverse; standard errors along the
    null directions are then underestimated.
    """


class SmallSampleWarning(UserWarning):
    """Few residual degrees of freedom ``n - k``: the noise variance is poorly determined.

    With ``n - k <= 0`` the selected network can interpolate the data; the residual sd is
    then undefined and prediction intervals are refused.
    """
