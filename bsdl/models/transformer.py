"""Sparse transformers for time series: lag selection and forecast intervals (layer L4).

:class:`SparseTransformer` is a thin :class:`~bsdl.models.sequence.SequenceForecaster`: its
own parameters are the size of the encoder, its network is :class:`~bsdl.nn.LagTransformer`.
Everything else (windows, the prior grid, the pipeline, forecasts and their intervals,
``summary``, save/load) is the sequence base's, as for :class:`~bsdl.SparseRNN`.
"""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval
from torch import nn

from bsdl._validation import check_positive_int
from bsdl.exceptions import SingularFisherWarning
from bsdl.inference import ConstantSchedule, PriorAnnealing
from bsdl.models._heteroscedastic import (
    NOISE_ATTRIBUTES_DOC,
    NOISE_CONSTRAINTS,
    NOISE_PARAMETER_DOC,
)
from bsdl.models._params import (
    SAMPLING_CONSTRAINTS,
    SAMPLING_PARAMETERS_DOC,
    SHARED_PARAMETERS_DOC,
    fill_doc,
)
from bsdl.models.io import register
from bsdl.models.sequence import (
    SEQUENCE_ATTRIBUTES_DOC,
    SEQUENCE_PARAMETERS_DOC,
    SequenceForecaster,
    build_network,
)
from bsdl.nn import LagTransformer
from bsdl.priors import MixtureGaussianPrior
from bsdl.sparsify import get_masks

__all__ = ["SparseTransformer"]


@register
@fill_doc(
    sequence_parameters=SEQUENCE_PARAMETERS_DOC,
    shared_parameters=SHARED_PARAMETERS_DOC,
    sampling_parameters=SAMPLING_PARAMETERS_DOC,
    sequence_attributes=SEQUENCE_ATTRIBUTES_DOC,
    noise_parameter=NOISE_PARAMETER_DOC,
    noise_attributes=NOISE_ATTRIBUTES_DOC,
)
class SparseTransformer(SequenceForecaster):
    """Sparse transformer autoregression with lag selection and forecast intervals.

    A small causal transformer encoder reads a window of lag vectors: at each step the
    input is the vector of the last ``lags`` values of the series (and of any exogenous
    regressors), projected to ``d_model`` dimensions, so the columns of the input
    projection that survive pruning select the lags (``selected_lags_``, ``ar_order_``).
    Every weight except the level is under the spike-and-slab prior; attention heads and
    feed-forward units that lose their connections are removed, and the delta method on
    the selected weights gives the forecast intervals (Zhang, Sun & Liang, NeurIPS 2023,
    with the recurrent network replaced by attention). The series (and ``exog``) are
    standardised internally; every output is on the original scale.

    Parameters
    ----------
    {sequence parameters}
    {noise parameter}
    d_model : int, default 8
        Width of the residual stream (the lag vector is projected to it).
    n_heads : int, default 2
        Attention heads per layer; ``d_model`` must be a multiple of it.
    num_layers : int, default 1
        Encoder layers, each a causal multi-head attention and a feed-forward block.
    dim_feedforward : int, default 16
        Hidden (GELU) units of each feed-forward block.
    norm : bool, default False
        A layer norm (without parameters) before each attention and feed-forward block.
        It mixes every dimension of the stream, so pruning it is coarser; off by default
        (the series is standardised and the network shallow).
    {shared parameters}
    {sampling parameters}

    Attributes
    ----------
    {sequence attributes}
    {noise attributes}
    d_model_, n_heads_, num_layers_, dim_feedforward_ : int
    norm_ : bool
        The encoder that was fitted.

    Notes
    -----
    A transformer's function does not change along some directions of its weights: a
    query row times ``c`` with its key row divided by ``c``, a value row and its output
    column likewise, an invertible map of the residual stream undone by every layer that
    reads it, writes into the stream that the layers reading it cannot tell apart.
    The Fisher information of the selected weights is singular along them, and the
    forecast's Jacobian is orthogonal to them, so the delta method's pseudo-inverse gives
    the forecast variance unchanged. The
    :class:`~bsdl.exceptions.SingularFisherWarning` that the other estimators emit for a
    singular information is therefore raised only when its rank falls short by more than
    the pruned structure implies (:meth:`bsdl.nn.LagTransformer.null_dimension`). BIC's
    parameter count ``k`` (and ``df_resid_``) counts every non-zero weight, these
    directions included.

    Examples
    --------
    >>> from bsdl import SparseTransformer
    >>> from bsdl.datasets import make_ar
    >>> y = make_ar(400, {1: 0.6, 2: -0.3}, random_state=0)
    >>> t = SparseTransformer(lags=4, n_epochs=40, random_state=0).fit(y)
    >>> t.selected_lags_  # doctest: +SKIP
    array([1, 2])
    >>> pi = t.predict_interval(steps=3, alpha=0.1)
    >>> pi.to_frame().shape
    (3, 4)
    """

    _parameter_constraints: dict = {
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "norm": ["boolean"],
        **SequenceForecaster._parameter_constraints,
        **NOISE_CONSTRAINTS,
        **SAMPLING_CONSTRAINTS,
    }

    _summary_title = "Sparse Transformer Autoregression Results"

    def __init__(
        self,
        lags: int | str = "auto",
        *,
        d_model: int = 8,
        n_heads: int = 2,
        num_layers: int = 1,
        dim_feedforward: int = 16,
        norm: bool = False,
        window: int = 8,
        burn_in: int | str = "auto",
        skip: bool = True,
        prune: str = "bic",
        prior: MixtureGaussianPrior | None = None,
        annealing: PriorAnnealing | ConstantSchedule | None = None,
        optimizer: str = "adam",
        lr: float = 3e-3,
        n_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        refit_epochs: int | str = "auto",
        n_restarts: int = 1,
        restart_criterion: str = "bic",
        missing: str = "raise",
        noise: str = "constant",
        innovations: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        device: str = "cpu",
        verbose: bool = False,
        method: str = "map",
        n_chains: int = 4,
        n_samples: int = 200,
        thin: int = 5,
    ) -> None:
        self.lags = lags
        self.d_model = d_model
        self.n_heads = n_heads
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.norm = norm
        self.window = window
        self.burn_in = burn_in
        self.skip = skip
        self.prune = prune
        self.prior = prior
        self.annealing = annealing
        self.optimizer = optimizer
        self.lr = lr
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.refit_epochs = refit_epochs
        self.n_restarts = n_restarts
        self.restart_criterion = restart_criterion
        self.missing = missing
        self.noise = noise
        self.innovations = innovations
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.method = method
        self.n_chains = n_chains
        self.n_samples = n_samples
        self.thin = thin

    # ---------------------------------------------------------------- the network
    def _check_network(self) -> None:
        d_model = check_positive_int(self.d_model, "d_model")
        n_heads = check_positive_int(self.n_heads, "n_heads")
        check_positive_int(self.num_layers, "num_layers")
        check_positive_int(self.dim_feedforward, "dim_feedforward")
        if d_model % n_heads:
            raise ValueError(
                f"d_model must be a multiple of n_heads (each head has d_model // n_heads "
                f"dimensions), got d_model={d_model} and n_heads={n_heads}"
            )
        if not isinstance(self.norm, bool | np.bool_):
            raise TypeError(f"norm must be True or False, got {self.norm!r}")
        if self.norm and d_model < 2:
            raise ValueError(
                f"norm=True needs d_model >= 2 (a layer norm of one value is 0), got {d_model}"
            )

    def _store_network(self) -> None:
        self.d_model_ = int(self.d_model)
        self.n_heads_ = int(self.n_heads)
        self.num_layers_ = int(self.num_layers)
        self.dim_feedforward_ = int(self.dim_feedforward)
        self.norm_ = bool(self.norm)

    def _network_factory(self) -> partial:
        return partial(
            build_network,
            LagTransformer,
            self.n_features_in_,
            self.d_model_,
            self.n_heads_,
            self.num_layers_,
            self.dim_feedforward_,
            self.skip_,
            self.norm_,
        )

    def _network_rows(self) -> list[tuple[str, object]]:
        norm = ", layer norm" if self.norm_ else ""
        return [
            (
                "Encoder:",
                f"{self.num_layers_} x (d_model {self.d_model_}, {self.n_heads_} heads, "
                f"ff {self.dim_feedforward_}{norm})",
            )
        ]

    # ---------------------------------------------------------------- the covariance
    def _set_covariance(self, module: nn.Module, spec, n: int, laplace: tuple) -> None:
        # the structure's own null directions are expected (see Notes): warn only beyond them
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            super()._set_covariance(module, spec, n, laplace)
        for w in caught:  # the others again, one frame up (this method wraps the base's)
            if not issubclass(w.category, SingularFisherWarning):
                warnings.warn(w.message, w.category, stacklevel=4)
        lap = laplace[1]
        if lap is None or self._covariance is None:
            return
        dim = len(lap.information)
        if lap.rank < dim:
            expected = dim - module.null_dimension(get_masks(module), self.window_)
            if lap.rank < expected:
                warnings.warn(
                    f"the Fisher information of the {dim} selected weights has rank "
                    f"{lap.rank}, below the {expected} that the pruned structure implies "
                    "(its weights or the data add null directions); using its "
                    "pseudo-inverse (standard errors ignore the null directions)",
                    SingularFisherWarning,
                    stacklevel=4,
                )
