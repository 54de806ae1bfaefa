"""One base for the sparse sequence forecasters (layer L4): lag selection and forecast intervals.

Method: Zhang, Sun & Liang (NeurIPS 2023), "Sparse deep learning for time series data:
theory and applications". A network reads windows of ``window`` steps whose inputs are the
last ``lags`` values of the series (and lags ``0 .. lags-1`` of any exogenous regressors);
the first ``burn_in`` outputs of a window are left out of the loss. Under the
mixture-Gaussian prior, pruning the input connections selects the lags (the autoregressive
order) and the delta method on the selected weights gives asymptotic-normal forecast
intervals.

:class:`SequenceForecaster` holds everything that does not depend on the network: the
series and ``exog`` checks, standardisation, the training windows and the least-squares
start of the linear path, the default prior grid, the shared anneal -> prune -> refit
pipeline, the fitted structure, the read-outs and ``summary``. The forecasts and their
intervals come from :class:`~bsdl.models._forecast.SequenceForecastMixin`. A concrete
forecaster (:class:`~bsdl.SparseRNN`) adds its network: see docs/ARCHITECTURE.md, "A new
sequence forecaster".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from bsdl._series import MISSING, TimeIndex, check_exog, check_series, default_lags
from bsdl._validation import check_in_options, check_is_fitted, check_positive_int
from bsdl.models._forecast import SequenceForecastMixin
from bsdl.models._heteroscedastic import HeteroscedasticMixin
from bsdl.models._lag_selection import (
    LEVEL,
    LINEAR,
    bic_of,
    drop_memory,
    finish_linear,
    scored_points,
    simplify_joint,
)
from bsdl.models._windows import (
    check_scored_points,
    full_loss,
    lag_windows,
    last_steps,
    least_squares_start,
    training_ends,
    window_loss,
)
from bsdl.models.base import GaussianLikelihoodMixin, SparseEstimatorBase
from bsdl.priors import MixtureGaussianPrior
from bsdl.sparsify import (
    get_masks,
    input_inclusion,
    linear_path_bic,
    simplify_structure,
    simplify_with_bic,
)
from bsdl.summary import Summary

__all__ = [
    "SequenceForecaster",
    "build_network",
    "SEQUENCE_PARAMETERS_DOC",
    "SEQUENCE_ATTRIBUTES_DOC",
]

# The numpydoc text of the parameters every sequence forecaster has (filled into a
# subclass's docstring by bsdl.models._params.fill_doc at the line ``{sequence parameters}``).
SEQUENCE_PARAMETERS_DOC = """\
lags : int or "auto", default "auto"
    Length of the lag vector read at each step (the largest order that can be found).
    ``"auto"``: 10, or with a seasonal frequency on the series' index one cycle and one
    step past it (monthly 13, quarterly 10, weekly 53, daily 10, hourly 25, half-hourly
    49) when the series has at least five times as many points; never more than ``n // 5``
    (:func:`bsdl._series.default_lags`). The resolved value is ``lags_``.
window : int, default 8
    Steps per training window (the sequence length ``k``).
burn_in : int or "auto", default "auto"
    Leading outputs of each window left out of the loss (``"auto"``: ``window // 2``).
    Windows overlap by ``burn_in`` steps, so every time point is scored once.
skip : bool, default True
    Add a linear map of the lag vector to the output (a linear AR part beside the
    network). Linear lag effects are then selected far more reliably. Its weights start at
    the least-squares coefficients of the lag vector, so a real linear effect begins
    outside the spike instead of being spread over many small network weights that the
    prior then prunes one by one.
prune : {"bic", "threshold"}, default "bic"
    After annealing, weights below the prior's threshold (inclusion probability 1/2) are
    pruned. ``"bic"`` then also removes, one at a time, hidden units and lags whose removal
    lowers BIC (:func:`bsdl.sparsify.bic_simplify`, no refit between removals, so it errs
    towards keeping). It guards against weights trapped in the slab, which otherwise add
    spurious lags at large n (BENCHMARKS.md, "Design measurements").
    ``"threshold"``: the threshold alone.
prior : MixtureGaussianPrior, optional
    Default ``MixtureGaussianPrior(lambda_=0.01, sigma0=a / sqrt(n), sigma1=1)`` with ``n``
    the number of scored time points (``sigma0`` clipped to ``[0.005, 0.1]``), on the
    standardised scale. Restart ``i`` uses ``a = (1, 0.5, 0.7)[i % 3]``, so with
    ``n_restarts >= 3`` the restart criterion also chooses the spike scale (column
    ``sigma0`` of ``restarts_``; the chosen prior is ``prior_``): a weaker spike can fit
    far better by BIC. An explicit ``prior`` is used by every restart. The prior is scaled
    by the number of scored time points, and ``batch_size`` counts windows.
missing : {"raise", "interpolate"}, default "raise"
    NaN in the series or ``exog``: raise, or fill interior gaps by linear interpolation."""

SEQUENCE_ATTRIBUTES_DOC = """\
selected_lags_ : ndarray of int
    1-based lags with a surviving input connection to a unit that reaches the output.
ar_order_ : int
    Largest selected lag (0 when none is selected).
inclusion_probabilities_ : ndarray of shape (lags,)
    Per lag ``1..lags``, the largest posterior inclusion probability of its input weights
    (into the network and, with ``skip=True``, into the linear path) at the end of
    annealing.
selected_exog_lags_ : dict of ndarray
    Exogenous column name -> selected lags (0 = same time point); only with ``exog``.
sigma_ : float
    Residual (innovation) standard deviation on the original scale.
sparsity_, n_nonzero_, bic_, log_evidence_, history_, restarts_, mask_
    As in :class:`~bsdl.SparseMLPRegressor`. ``n_nonzero_`` (and BIC's parameter count)
    includes the level: the read-out intercept, which is outside the prior, is never
    pruned and enters the interval covariance.
n_obs_ : int
    Length of the training series; ``n_scored_`` time points entered the loss.
n_network_weights_ : int
    Surviving weights of the network beside the linear (skip) path and the level: 0 when
    the fit is a linear autoregression.
linear_only_bic_ : float
    BIC of the best linear autoregression on the same scored points (its lags, any subset
    of the candidates chosen by BIC, in ``linear_only_lags_``), on the scale of ``bic_``:
    ``bic_`` below it means the network's nonlinear part pays for its weights.
lags_, window_, burn_in_ : int
missing_, optimizer_ : str
skip_ : bool
    The structure that was fitted (``burn_in_`` with ``"auto"`` resolved), with the
    network's own attributes below. Forecasts, ``summary`` and ``save`` read these, never
    the constructor arguments, so ``set_params`` after ``fit`` changes nothing until the
    next ``fit``."""


def build_network(network: Callable[..., nn.Module], *args) -> nn.Module:
    """``network(*args)`` without touching the global RNG.

    ``nn.Linear``'s own initialisation draws from torch's global generator; the pipeline
    re-draws every weight from the restart's local generator anyway, so the global state is
    left exactly as it was. ``partial(build_network, Net, ...)`` is a picklable network
    factory (restarts may run in other processes).
    """
    with torch.random.fork_rng(devices=[]):
        return network(*args)


def _start_skip(coef: torch.Tensor, module: nn.Module) -> None:
    """Start the skip path and the level at least squares (``coef``: lag weights, then
    the intercept), after the random initialisation.

    The network convention: with ``skip=True`` a sequence network has ``module.skip``, an
    ``nn.Linear`` without bias from the step's inputs to the output, and its level in
    ``module.head.bias``.
    """
    with torch.no_grad():
        module.skip.weight.copy_(coef[:-1].reshape(module.skip.weight.shape))
        module.head.bias.copy_(coef[-1:])


def _linear_only(model) -> str:
    """The summary's entry for the linear-only alternative (absent from older files)."""
    if not hasattr(model, "linear_only_bic_"):
        return "n/a"
    lags = ", ".join(map(str, model.linear_only_lags_)) or "none"
    return f"{model.linear_only_bic_:.2f} (lags {lags})"


class SequenceForecaster(
    HeteroscedasticMixin, SequenceForecastMixin, GaussianLikelihoodMixin, SparseEstimatorBase
):
    """Sparse autoregression on a univariate series with any sequence network (not for
    direct use).

    A subclass supplies the network and keeps an explicit ``__init__`` (scikit-learn reads
    the parameters from it) with the sequence parameters of :data:`SEQUENCE_PARAMETERS_DOC`,
    the shared ones of :mod:`bsdl.models._params` and its own. It provides:

    * ``_parameter_constraints``: ``{**SequenceForecaster._parameter_constraints, ...}``
      with its own parameters;
    * ``_summary_title`` and ``_network_rows()``: its line of the summary header;
    * ``_check_network()`` (checks that the constraints cannot express) and
      ``_store_network()`` (the fitted network structure, under trailing underscores);
    * ``_network_factory()``: a picklable callable that builds a fresh network from the
      fitted attributes (``n_features_in_`` inputs per step, ``skip_``), e.g.
      ``partial(build_network, Net, self.n_features_in_, ...)``.

    The network maps windows ``(b, window, n_features_in_)`` to one-step predictions
    ``(b, window)``, implements :class:`~bsdl.nn.structure.StructuredNetwork` (the lag
    selection, the inclusion probabilities and BIC elimination read its structure through
    it) and, with ``skip=True``, has the linear path ``skip`` and the level ``head.bias``
    that :func:`_start_skip` sets, as :class:`~bsdl.nn.LagRNN` does.
    """

    # scikit-learn's checks of the constructor arguments (run first in fit; the error names
    # the argument): the sequence parameters and the shared ones; a subclass adds its own
    _parameter_constraints: dict = {
        "lags": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "window": [Interval(Integral, 1, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "skip": ["boolean"],
        "prune": [StrOptions({"bic", "threshold"})],
        "missing": [StrOptions(set(MISSING))],
        **SparseEstimatorBase._parameter_constraints,
    }

    _summary_title = "Sparse Autoregression Results"

    _persist_private = (
        *SparseEstimatorBase._persist_private,
        "_y",
        "_x",
        "_index_json",
    )

    # ---------------------------------------------------------------- the network's hooks
    def _check_network(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _store_network(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _network_factory(self) -> Callable[[], nn.Module]:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _network_rows(self) -> list[tuple[str, object]]:
        """Rows of the summary header that describe the network."""
        return []

    # ---------------------------------------------------------------- checks
    def _check_structure(self) -> tuple[int | None, int, int]:
        """``(lags, window, burn_in)``; ``lags`` is None for ``"auto"`` (resolved from the
        series at fit by :func:`_resolve_lags`)."""
        lags = None if self.lags == "auto" else check_positive_int(self.lags, "lags")
        window = check_positive_int(self.window, "window")
        if self.burn_in == "auto":
            burn_in = window // 2
        else:
            burn_in = check_positive_int(self.burn_in, "burn_in", minimum=0)
            if burn_in >= window:
                raise ValueError(
                    f"burn_in must be smaller than window ({window}), got {burn_in}: "
                    "at least one step of each window has to enter the loss"
                )
        self._check_network()
        check_in_options(self.missing, "missing", list(MISSING))
        check_in_options(self.prune, "prune", ["threshold", "bic"])
        if not isinstance(self.skip, bool | np.bool_):
            raise TypeError(f"skip must be True or False, got {self.skip!r}")
        self._check_noise()
        return lags, window, burn_in

    def _store_structure(self, lags: int, window: int, burn_in: int, optimizer: str) -> None:
        """The fitted structure: prediction, summary and load read these attributes, never
        the constructor arguments (``set_params`` after fit leaves the fitted model as is)."""
        self.lags_ = int(lags)
        self.window_ = int(window)
        self.burn_in_ = int(burn_in)
        self._store_network()
        self.skip_ = bool(self.skip)
        self.missing_ = str(self.missing)
        self.optimizer_ = str(optimizer)
        self.noise_ = str(getattr(self, "noise", "constant"))

    # ---------------------------------------------------------------- fit
    def fit(self, series, exog=None) -> SequenceForecaster:
        """Fit the sparse network to a univariate series.

        Parameters
        ----------
        series : array-like of shape (n,), list or pandas Series
            The observed series, oldest first. A pandas Series keeps its index
            (RangeIndex, integer, DatetimeIndex or PeriodIndex with a regular frequency)
            so that forecasts and ``to_frame()`` continue it; arrays and lists are
            labelled ``0 .. n-1``. It is copied, never modified.
        exog : array-like of shape (n, m) or DataFrame, optional
            Regressors aligned with ``series`` (a DataFrame must share its index); their
            lags ``0 .. lags-1`` are selected like the series' own lags.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            A constructor argument out of range, NaN or inf (unless
            ``missing="interpolate"``), a 2-D target, a duplicated, unsorted or irregular
            index, ``exog`` of another length or index, or a series too short: fewer than
            ``lags + window`` points, or no more scored time points than
            ``lags * (1 + m) + 1`` coefficients of the linear start (fewer than three
            times as many warns).
        TypeError
            Non-numeric values (text is never parsed), or a constructor argument of the
            wrong type.
        """
        self._validate_params()
        lags, window, burn_in = self._check_structure()
        y, ti, name = check_series(series, "series", missing=self.missing)
        if self._check_noise() == "heteroscedastic":
            self._check_noise_data(y)
        if lags is None:
            lags = default_lags(y.size, None if ti is None else ti.freq)
        if y.size < lags + window:
            raise ValueError(
                f"series has {y.size} observations; at least lags + window = "
                f"{lags} + {window} = {lags + window} are needed (use smaller lags or window)"
            )
        n = y.size
        x, exog_names = (None, [])
        if exog is not None:
            pandas_index = series.index if isinstance(series, pd.Series) else None
            x, exog_names = check_exog(exog, n, "exog", index=pandas_index, missing=self.missing)
        ends = training_ends(n, lags, window, burn_in)
        check_scored_points(
            int(ends.numel()) * (window - burn_in), lags * (1 + (0 if x is None else x.shape[1]))
        )
        checked = self._check_common_params(int(ends.numel()))
        device = checked["device"]
        self._store_structure(lags, window, burn_in, checked["optimizer"])

        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) if y.std() > 0 else 1.0
        if x is not None:
            self.x_mean_ = x.mean(axis=0)
            sd = x.std(axis=0)
            self.x_scale_ = np.where(sd > 0, sd, 1.0)
        self._y, self._x = y, x
        self._index_json = json.dumps((ti or TimeIndex.default(n)).to_dict())
        self.series_name_ = name
        self.exog_names_ = np.asarray(exog_names, dtype=object)
        z, xz = self._scaled(y, x, device)
        ends = ends.to(device)
        inputs = lag_windows(z, xz, lags, window, ends)
        steps = torch.arange(window - burn_in, device=device)
        targets = z[ends.reshape(-1, 1) - (window - burn_in - 1) + steps]
        self.n_features_in_ = int(inputs.shape[-1])
        self.n_obs_ = n
        self.n_scored_ = int(targets.numel())
        # the scaled data of a linear-only model's lag choice and fit
        full = (z, xz, lags) if self.skip_ and self.prune == "bic" else None
        self._fit_pipeline(
            dict(
                build_module=self._network_factory(),
                init_module=(
                    partial(_start_skip, least_squares_start(inputs, targets, burn_in))
                    if self.skip_
                    else None
                ),
                loss_fn=window_loss,
                simplify=self._simplify(inputs, targets, full),
                finish=None if full is None else partial(finish_linear, full),
                alternative=drop_memory if self.prune == "bic" else None,
                criterion=partial(bic_of, partial(full_loss, inputs, targets), self.n_scored_),
                full_loss=partial(full_loss, inputs, targets),
                inputs=inputs,
                targets=targets,
                n_obs=self.n_scored_,
            ),
            checked,
        )
        self._set_selection(lags, exog_names)
        self._set_linear_alternative(inputs, targets)
        self.sigma_ = self._sigma_std * self.y_scale_
        self._fit_noise(z, xz, inputs, ends)  # the innovations' variance and distribution
        return self

    def _set_linear_alternative(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        """``n_network_weights_`` and the best linear-only model by BIC on the same points
        (``linear_only_lags_``, ``linear_only_bic_``, on the scale of ``bic_``)."""
        free = (LINEAR, LEVEL)
        self.n_network_weights_ = int(
            sum(int(m.sum()) for k, m in self.mask_.items() if k not in free)
        )
        n = self.n_scored_
        bic, cols = linear_path_bic(scored_points(inputs, targets).cpu(), targets.reshape(-1).cpu())
        # linear_path_bic leaves out n (1 + log 2 pi) and the change to y's scale, 2 n log s_y
        self.linear_only_bic_ = float(
            bic + n * (1.0 + np.log(2 * np.pi)) + 2 * n * np.log(self.y_scale_)
        )
        lags = np.asarray(cols, dtype=int)
        self.linear_only_lags_ = lags[lags < self.lags_] + 1

    def _scaled(self, y: np.ndarray, x: np.ndarray | None, device=None):
        device = device if device is not None else self._device()
        z = torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32, device=device)
        if x is None:
            return z, None
        xz = (x - self.x_mean_) / self.x_scale_
        return z, torch.as_tensor(xz, dtype=torch.float32, device=device)

    # ---------------------------------------------------------------- the default prior grid
    # Spike scales a in sigma0 = a / sqrt(n_scored) that restarts cycle through when
    # prior=None; the restart criterion (BIC by default) picks among them. A weaker spike
    # than a = 1 can fit far better by BIC on real series; an upward grid never helped
    # (BENCHMARKS.md, "Design measurements").
    _sigma0_scales = (1.0, 0.5, 0.7)

    def _default_prior(self, n: int, scale: float = 1.0) -> MixtureGaussianPrior:
        # sigma0 shrinks like n^(-1/2) (n = scored time points): n * sigma0^2 stays fixed,
        # so the spike's pull on a weight is comparable to its data gradient at every n,
        # while the threshold (about 4 sigma0) still goes to 0 (consistent selection).
        # The constant of restart 0 sits between a larger one that misses weak lags and a
        # smaller one that lets spurious lags through (BENCHMARKS.md, "Design measurements").
        n_scored = n * (int(self.window) - self._check_structure()[2])
        sigma0 = float(np.clip(scale / np.sqrt(n_scored), 0.005, 0.1))
        return MixtureGaussianPrior(lambda_=1e-2, sigma0=sigma0, sigma1=1.0)

    def _default_priors(self, n: int) -> list[MixtureGaussianPrior]:
        return [self._default_prior(n, scale) for scale in self._sigma0_scales]

    # ---------------------------------------------------------------- structure read-outs
    # through the network's structure protocol (bsdl.nn.structure.StructuredNetwork)
    def _simplify(self, inputs: torch.Tensor, targets: torch.Tensor, full=None) -> Callable:
        """``simplify(module, masks) -> masks`` after threshold pruning, on the training
        windows ``inputs`` and their scored ``targets``: the structure clean-up, and with
        ``prune="bic"`` BIC elimination of groups, then (with ``skip``) the linear path
        chosen by BIC jointly with the network
        (:func:`~bsdl.models._lag_selection.simplify_joint`)."""
        if self.prune != "bic":
            return simplify_structure
        mse = partial(full_loss, inputs, targets)
        base = partial(simplify_with_bic, mse=mse, n=self.n_scored_)
        if not self.skip_:
            return base
        return partial(simplify_joint, base, inputs, targets, series=full)

    def _describe_restart(self, module: nn.Module) -> dict:
        keep = module.connected_inputs(get_masks(module)).cpu().numpy()
        return {"lags": ", ".join(map(str, np.flatnonzero(keep[: self.lags_]) + 1))}

    def _set_selection(self, lags: int, exog_names: list[str]) -> None:
        masks = get_masks(self.module_)
        keep = self.module_.connected_inputs(masks).cpu().numpy()
        self.support_ = keep
        self.selected_lags_ = np.flatnonzero(keep[:lags]) + 1
        self.ar_order_ = int(self.selected_lags_.max()) if self.selected_lags_.size else 0
        # per input, the largest inclusion probability of its weights (skip path included)
        q = input_inclusion(self.module_, self._inclusion).numpy()
        self.inclusion_probabilities_ = q[:lags]
        if exog_names:
            self.exog_inclusion_probabilities_ = q[lags:].reshape(len(exog_names), lags)
            sel = keep[lags:].reshape(len(exog_names), lags)
            self.selected_exog_lags_ = {
                name: np.flatnonzero(sel[j]) for j, name in enumerate(exog_names)
            }
        self.mask_ = {k: v.cpu().numpy() for k, v in masks.items()}

    # ---------------------------------------------------------------- fitted network
    def _make_module(self) -> nn.Module:
        return self._network_factory()()

    def _restore_module(self, state: dict) -> nn.Module:
        # a file saved before the structure was stored at fit: its saved parameters are
        # the ones it was fitted with
        if not hasattr(self, "lags_"):
            lags, window, burn_in = self._check_structure()
            self._store_structure(lags, window, getattr(self, "burn_in_", burn_in), self.optimizer)
        return super()._restore_module(state)

    def _output_fn(self):
        # Fisher information: the scored steps of each training window
        return partial(last_steps, count=self.window_ - self.burn_in_)

    # ---------------------------------------------------------------- reporting
    def summary(self) -> Summary:
        """statsmodels-style report of the fit.

        Returns
        -------
        Summary
            A header table (the network, observations, window and burn-in, candidate and
            selected lags, AR order, non-zero weights, sparsity, sigma, BIC, prior,
            optimiser, restarts), a per-lag table of inclusion probabilities and
            selection, and with ``exog`` the selected lags of each regressor. ``str()``
            renders it as text.
        """
        check_is_fitted(self, "module_", method="summary")
        prior = self.prior_
        lags = ", ".join(map(str, self.selected_lags_)) or "none"
        left = [
            ("Model:", type(self).__name__),
            *self._network_rows(),
            ("No. observations:", self.n_obs_),
            ("Scored time points:", self.n_scored_),
            ("Window / burn-in:", f"{self.window_} / {self.burn_in_}"),
            ("Candidate lags:", f"1..{self.lags_}"),
            ("Selected lags:", lags),
            ("AR order:", self.ar_order_),
            ("Network weights:", getattr(self, "n_network_weights_", "n/a")),
            *self._noise_rows(),
        ]
        right = [
            ("Non-zero weights:", f"{self.n_nonzero_} / {self.n_params_}"),
            ("Sparsity:", f"{self.sparsity_:.4f}"),
            ("sigma (innovation sd):", f"{self.sigma_:.4g}"),
            ("BIC:", f"{self.bic_:.2f}"),
            ("Linear-only BIC:", _linear_only(self)),
            ("Prior lambda:", f"{prior.lambda_:.3g}"),
            ("Prior sigma0 / sigma1:", f"{prior.sigma0:.3g} / {prior.sigma1:.3g}"),
            ("Optimizer:", f"{self.optimizer_}, {self.n_epochs_} epochs"),
            ("Restarts:", len(self.restarts_)),
        ]
        rows = max(len(left), len(right))  # Summary splits the pairs in two halves
        left += [("", "")] * (rows - len(left))
        right += [("", "")] * (rows - len(right))
        summary = Summary(self._summary_title, [left + right])
        lag_ids = np.arange(1, self.lags_ + 1)
        frame = pd.DataFrame(
            {
                "inclusion prob.": self.inclusion_probabilities_,
                "selected": np.isin(lag_ids, self.selected_lags_),
            },
            index=pd.Index([f"lag {j}" for j in lag_ids]),
        )
        summary.add_table(frame, title="Lags")
        variance = self._noise_table()
        if variance is not None:
            summary.add_table(variance, title="Conditional variance (innovations)")
        if getattr(self, "selected_exog_lags_", None):
            rows = {
                name: ", ".join(map(str, sel)) or "none"
                for name, sel in self.selected_exog_lags_.items()
            }
            summary.add_table(
                pd.DataFrame({"selected lags (0 = same time)": rows}), title="Exogenous"
            )
        return summary
