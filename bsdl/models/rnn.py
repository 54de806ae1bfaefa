"""Sparse recurrent networks for time series: lag selection and forecast intervals (layer L4).

:class:`SparseRNN` is a thin :class:`~bsdl.models.sequence.SequenceForecaster`: its own
parameters are the recurrent cell and its size, its network is :class:`~bsdl.nn.LagRNN`.
Everything else (windows, the prior grid, the pipeline, forecasts and their intervals,
``summary``) is the sequence base's.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from bsdl._validation import check_in_options, check_positive_int
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
from bsdl.nn import CELLS, LagRNN
from bsdl.priors import MixtureGaussianPrior

__all__ = ["SparseRNN"]


@register
@fill_doc(
    sequence_parameters=SEQUENCE_PARAMETERS_DOC,
    shared_parameters=SHARED_PARAMETERS_DOC,
    sampling_parameters=SAMPLING_PARAMETERS_DOC,
    sequence_attributes=SEQUENCE_ATTRIBUTES_DOC,
    noise_parameter=NOISE_PARAMETER_DOC,
    noise_attributes=NOISE_ATTRIBUTES_DOC,
)
class SparseRNN(SequenceForecaster):
    """Sparse RNN/GRU/LSTM autoregression with lag selection and forecast intervals.

    Method: Zhang, Sun & Liang (NeurIPS 2023). At each recurrent step the input is the
    vector of the last ``lags`` values of the series (and of any exogenous regressors), so
    the input connections that survive pruning select the lags: ``selected_lags_`` and the
    autoregressive order ``ar_order_``. The series (and ``exog``) are standardised
    internally; every output is on the original scale.

    Parameters
    ----------
    {sequence parameters}
    {noise parameter}
    cell : {"rnn", "lstm", "gru"}, default "rnn"
        Recurrent cell: an Elman (tanh) cell, long short-term memory or a gated
        recurrent unit. The Elman cell is the default because its memory is its
        recurrent matrix alone: each restart is also fitted with the recurrence held at 0
        (a unit then reads only the current lag vector, so the selected lags are the lags
        it uses) and BIC decides whether the memory pays. An LSTM or GRU unit keeps a
        memory through its gates whatever is pruned (a gate whose weights are all 0 is
        1/2), so it can read lag ``j + 1`` through lag ``j`` one step earlier.
    hidden_size : int, default 8
        Hidden units per recurrent layer.
    num_layers : int, default 1
        Stacked recurrent layers; the first reads the lag vector, each later one the
        hidden state of the layer below.
    {shared parameters}
    {sampling parameters}

    Attributes
    ----------
    {sequence attributes}
    {noise attributes}
    cell_ : str
    hidden_size_, num_layers_ : int
        The recurrent network that was fitted.

    Examples
    --------
    >>> from bsdl import SparseRNN
    >>> from bsdl.datasets import make_ar
    >>> y = make_ar(400, {1: 0.6, 2: -0.3}, random_state=0)
    >>> r = SparseRNN(lags=4, hidden_size=4, n_epochs=40, random_state=0).fit(y)
    >>> r.selected_lags_  # doctest: +SKIP
    array([1, 2])
    >>> pi = r.predict_interval(steps=3, alpha=0.1)
    >>> pi.to_frame().shape
    (3, 4)
    """

    _parameter_constraints: dict = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        **SequenceForecaster._parameter_constraints,
        **NOISE_CONSTRAINTS,
        **SAMPLING_CONSTRAINTS,
    }

    _summary_title = "Sparse RNN Autoregression Results"

    def __init__(
        self,
        lags: int | str = "auto",
        *,
        cell: str = "rnn",
        hidden_size: int = 8,
        num_layers: int = 1,
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
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
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
        check_positive_int(self.hidden_size, "hidden_size")
        check_positive_int(self.num_layers, "num_layers")
        check_in_options(self.cell, "cell", sorted(CELLS))

    def _store_network(self) -> None:
        self.cell_ = str(self.cell)
        self.hidden_size_ = int(self.hidden_size)
        self.num_layers_ = int(self.num_layers)

    def _network_factory(self) -> partial:
        return partial(
            build_network,
            LagRNN,
            self.n_features_in_,
            self.hidden_size_,
            self.num_layers_,
            self.cell_,
            self.skip_,
        )

    def _network_rows(self) -> list[tuple[str, object]]:
        return [("Cell:", f"{self.cell_} ({self.num_layers_} x {self.hidden_size_})")]
