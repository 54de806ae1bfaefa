"""Shared machinery of the sparse estimators (layer L4): restarts, selection, intervals.

Subclasses provide the network (``_build_module``), the loss and how the data become
tensors; this base runs the pipeline of docs/ARCHITECTURE.md: prior annealing, pruning at the prior
threshold, refit with the mask fixed, restarts chosen by BIC or Laplace evidence, and
the delta-method covariance of the selected weights.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from torch import nn

from bsdl._validation import (
    check_in_options,
    check_is_fitted,
    check_positive_float,
    check_positive_int,
    check_random_state,
)
from bsdl.exceptions import SmallSampleWarning, SparsityWarning
from bsdl.inference import ConstantSchedule, PriorAnnealing, TrainConfig
from bsdl.inference.kernels import KERNELS
from bsdl.inference.pipeline import FitSpec, RestartResult, run_restarts
from bsdl.intervals import (
    SubnetworkLaplace,
    bic,
    delta_variance,
    per_sample_jacobian,
    selected_index,
    selected_parameters,
    structure_log_prior,
    warn_if_singular,
)
from bsdl.likelihoods import Gaussian, Likelihood
from bsdl.models._params import RESTART_CRITERIA, SHARED_CONSTRAINTS
from bsdl.models._posterior import PosteriorMixin
from bsdl.models.io import save_estimator
from bsdl.nn import unpenalized_names
from bsdl.priors import MixtureGaussianPrior
from bsdl.sparsify import get_masks

__all__ = ["SparseEstimatorBase", "GaussianLikelihoodMixin", "default_prior", "RESTART_CRITERIA"]


def default_prior() -> MixtureGaussianPrior:
    """The prior used when ``prior=None``: tuned for standardised inputs and outputs."""
    return MixtureGaussianPrior(lambda_=1e-4, sigma0=0.01, sigma1=1.0)


def _load_masked_state(module: nn.Module, state: dict) -> nn.Module:
    """Load ``state`` into ``module``, first registering the ``*_mask`` buffers it holds."""
    for key, value in state.items():
        if key.endswith("_mask"):
            *path, leaf = key.split(".")
            owner = module.get_submodule(".".join(path)) if path else module
            owner.register_buffer(leaf, value.clone())
    module.load_state_dict(state)
    return module


class SparseEstimatorBase(PosteriorMixin, BaseEstimator):
    """Common parameters and fitted state of bsdl's sparse networks (not for direct use)."""

    #: the likelihood strategy (bsdl.likelihoods); subclasses set it
    _likelihood: Likelihood

    @property
    def _estimate_noise(self) -> bool:
        return self._likelihood.estimate_noise

    # scikit-learn's checks of the shared constructor arguments (models/_params.py); each
    # estimator adds its own: {**SparseEstimatorBase._parameter_constraints, ...}
    _parameter_constraints: dict = SHARED_CONSTRAINTS

    # ---------------------------------------------------------------- parameter checks
    def _check_common_params(self, n: int) -> dict:
        priors = [self.prior] if self.prior is not None else self._default_priors(n)
        prior = priors[0]
        if not isinstance(prior, MixtureGaussianPrior):
            raise TypeError(
                f"prior must be a bsdl.MixtureGaussianPrior or None, got {type(prior).__name__}"
            )
        schedule = self.annealing if self.annealing is not None else PriorAnnealing()
        if not isinstance(schedule, PriorAnnealing | ConstantSchedule):
            raise TypeError(
                "annealing must be a bsdl.inference.PriorAnnealing or ConstantSchedule or None, "
                f"got {type(schedule).__name__}"
            )
        optimizer = check_in_options(self.optimizer, "optimizer", sorted(KERNELS))
        lr = check_positive_float(self.lr, "lr")
        criterion = check_in_options(self.restart_criterion, "restart_criterion", RESTART_CRITERIA)
        n_restarts = check_positive_int(self.n_restarts, "n_restarts")
        if self.n_jobs is not None and (
            isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs == 0
        ):
            raise ValueError(
                f"n_jobs must be None or a non-zero int (-1: all cores), got {self.n_jobs!r}"
            )
        if self.batch_size == "auto":
            batch_size = int(min(n, max(32, min(512, n // 20))))
        else:
            batch_size = min(check_positive_int(self.batch_size, "batch_size"), n)
        steps = math.ceil(n / batch_size)
        if self.n_epochs == "auto":
            n_epochs = int(min(600, max(30, round(self._auto_steps / steps))))
        else:
            n_epochs = check_positive_int(self.n_epochs, "n_epochs")
        if self.refit_epochs == "auto":
            refit_epochs = max(1, n_epochs // 5)
        else:
            refit_epochs = check_positive_int(self.refit_epochs, "refit_epochs", minimum=0)
        schedule.validate(n_epochs)
        for candidate in priors:
            schedule.check_prior(candidate)
        if schedule.max_temperature > 0 and not KERNELS[optimizer].supports_temperature:
            samplers = sorted(k for k, v in KERNELS.items() if v.supports_temperature)
            raise ValueError(
                f"annealing has temperature {schedule.max_temperature} > 0, which needs a "
                f"sampler, optimizer in {samplers} (got optimizer={optimizer!r})"
            )
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda', got {self.device!r}"
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was requested but CUDA is not available")
        return dict(
            prior=prior,
            priors=priors,
            schedule=schedule,
            optimizer=optimizer,
            lr=lr,
            criterion=criterion,
            n_restarts=n_restarts,
            batch_size=batch_size,
            n_epochs=n_epochs,
            refit_epochs=refit_epochs,
            device=device,
        )

    _auto_steps = 6000

    def _default_prior(self, n: int) -> MixtureGaussianPrior:
        """The prior used when ``prior=None`` (``n``: training samples)."""
        return default_prior()

    def _default_priors(self, n: int) -> list[MixtureGaussianPrior]:
        """Priors that restarts cycle through when ``prior=None`` (the first: restart 0).

        One prior by default; a subclass may return a grid of spike scales so that the
        restart criterion (BIC or evidence) also chooses the prior's hyperparameter.
        """
        return [self._default_prior(n)]

    _persist_private = (
        "_covariance",
        "_selected_index",
        "_inclusion",
        "_sigma_std",
        "_posterior_seed",
    )

    def save(self, path) -> Path:
        """Save the fitted estimator to ``path`` (safetensors + JSON; never pickle).

        Reload with :func:`bsdl.load`; predictions are identical.
        """
        check_is_fitted(self, "module_", method="save")
        return save_estimator(self, path)

    def _restore_module(self, state: dict) -> nn.Module:
        """Rebuild the fitted network from its saved state (masks included)."""
        return _load_masked_state(self._make_module(), state).to(self.device).eval()

    # ---------------------------------------------------------------- the pipeline
    def _fit_pipeline(self, spec_kwargs: dict, checked: dict) -> None:
        """Run restarts, choose one, and set the shared fitted attributes."""
        seed = check_random_state(self.random_state)
        spec_kwargs = dict(spec_kwargs)
        optimizer = checked["optimizer"]
        config = TrainConfig(
            n_epochs=checked["n_epochs"],
            batch_size=checked["batch_size"],
            lr=checked["lr"],
            prior=checked["prior"],
            schedule=checked["schedule"],
            optimizer=optimizer,
            optimizer_options=self._optimizer_options(optimizer),
            estimate_noise=self._estimate_noise,
            n_obs=spec_kwargs.pop("n_obs", None),
            verbose=bool(self.verbose),
        )
        spec = FitSpec(
            config=config,
            refit_epochs=checked["refit_epochs"],
            refit_optimizer="adam" if optimizer == "adam" else "sgd",
            device=checked["device"],
            **spec_kwargs,
        )
        results = run_restarts(
            spec, seed, checked["n_restarts"], checked["priors"], n_jobs=self.n_jobs
        )
        n = spec.n
        rows = []
        laplaces = []
        for r in results:
            module = self._module_from_state(r.state_dict, spec)
            r.criteria, laplace = self._criteria(module, r, spec.with_prior(r.prior), n)
            laplaces.append(laplace)
            rows.append(
                {
                    "seed": r.seed,
                    "sigma0": r.prior.sigma0,
                    "loss": r.loss,
                    "n_nonzero": r.n_nonzero,
                    **r.criteria,
                    **self._describe_restart(module),
                }
            )
        key = "bic" if checked["criterion"] == "bic" else "neg_log_evidence"
        scores = np.array([row[key] for row in rows])
        best = int(np.nanargmin(np.where(np.isfinite(scores), scores, np.inf)))
        chosen = results[best]
        self.restarts_ = pd.DataFrame(rows).assign(chosen=lambda d: d.index == best)
        self.module_ = self._module_from_state(chosen.state_dict, spec)
        self.prior_ = chosen.prior
        self.n_epochs_ = config.n_epochs
        self.batch_size_ = config.batch_size
        self.history_ = pd.DataFrame(chosen.history).set_index("epoch")
        self.n_nonzero_ = chosen.n_nonzero
        self.n_params_ = chosen.n_params
        self.sparsity_ = 1.0 - chosen.n_nonzero / chosen.n_params
        self.bic_ = float(chosen.criteria["bic"])
        self.log_evidence_ = float(-chosen.criteria["neg_log_evidence"])
        self._inclusion = chosen.inclusion
        if chosen.n_nonzero == chosen.n_free:
            warnings.warn(
                "pruning removed every weight: the fitted network is constant. The prior is "
                "too strong for this data (try a larger lambda_ or a smaller sigma0).",
                SparsityWarning,
                stacklevel=3,
            )
        elif chosen.n_nonzero == chosen.n_params:
            warnings.warn(
                "pruning removed no weight: the prior is too weak or training too short "
                "(try a smaller lambda_, a larger sigma0 or more epochs).",
                SparsityWarning,
                stacklevel=3,
            )
        self._set_covariance(self.module_, spec, n, laplaces[best])
        # method != "map": draws on the selected subnetwork from this MAP point
        self._sample_posterior(spec, seed, laplaces[best][1])

    def _module_from_state(self, state: dict, spec: FitSpec) -> nn.Module:
        return _load_masked_state(spec.build_module(), state).to(spec.device).eval()

    def _make_module(self) -> nn.Module:  # pragma: no cover - subclasses
        raise NotImplementedError

    # ---------------------------------------------------------------- information criteria
    def _laplace(self, module: nn.Module, spec: FitSpec) -> tuple[dict, SubnetworkLaplace | None]:
        """Selected-weight index and the Laplace approximation on those weights.

        The output Hessian is the estimator's ``_output_hessian``: for a Gaussian
        likelihood it is taken at the maximum-likelihood noise variance ``RSS/n``, the one
        the log evidence needs (see :mod:`bsdl.intervals.laplace`).
        """
        index = selected_index(module, get_masks(module))
        if not index:
            return index, None
        jac = per_sample_jacobian(module, spec.inputs, index, output_fn=self._output_fn())
        hess = self._output_hessian(module, spec)
        return index, SubnetworkLaplace.from_jacobian(jac, hess, warn=False)

    def _criteria(
        self, module: nn.Module, r: RestartResult, spec: FitSpec, n: int
    ) -> tuple[dict, tuple[dict, SubnetworkLaplace | None]]:
        """BIC and the negative Laplace log evidence of one restart (and its Laplace object).

        ``k`` counts every estimated parameter (BIC, Laplace volume); the prior terms of
        the evidence count only the selected weights under the prior. Both criteria are
        computed for every restart (one Jacobian pass each, small next to training), so
        ``restarts_`` can show them side by side.
        """
        k = r.n_nonzero
        loglik = self._log_likelihood(r.loss, n, k)
        n_prior = r.n_params - r.n_free
        index, laplace = self._laplace(module, spec)
        if laplace is None:
            log_ev = loglik + structure_log_prior(spec.prior, 0, n_prior)
        else:
            theta, _ = selected_parameters(module, index)
            free = unpenalized_names(module)
            penalized = torch.cat(
                [
                    torch.full((int(ix.numel()),), name not in free, dtype=torch.bool)
                    for name, ix in index.items()
                ]
            )
            log_ev = laplace.log_evidence(loglik, theta, penalized, spec.prior, n_prior)
        return {"bic": bic(loglik, n, k), "neg_log_evidence": -log_ev}, (index, laplace)

    # ---------------------------------------------------------------- hooks for subclasses
    def _describe_restart(self, module: nn.Module) -> dict:
        """Extra columns of ``restarts_`` describing one restart's selected structure."""
        return {}

    def _optimizer_options(self, optimizer: str) -> dict | None:
        return None

    def _output_fn(self):
        return None

    def _output_hessian(self, module: nn.Module, spec: FitSpec):
        """Hessian of the NLL in the outputs at the fit (the likelihood's, no side effects)."""
        with torch.no_grad():
            mean_loss = float(spec.full_loss(module))
            out = module(spec.inputs) if self._likelihood.hessian_needs_outputs else None
        return self._likelihood.output_hessian(out, mean_loss)

    def _log_likelihood(self, mean_loss: float, n: int, k: int) -> float:
        return self._likelihood.log_likelihood(mean_loss, n)

    def _set_covariance(self, module: nn.Module, spec: FitSpec, n: int, laplace: tuple) -> None:
        """Store the selected-weight index and covariance of the chosen restart."""
        index, lap = laplace
        self._selected_index = index
        self._covariance = None
        if lap is not None:
            warn_if_singular(lap.rank, len(lap.information), stacklevel=4)
            self._covariance = lap.covariance()

    # ---------------------------------------------------------------- shared read-outs
    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # C order: a DataFrame's values are often column-major, and a matmul over other
        # strides rounds differently, so one model gave two answers for the same numbers
        return torch.as_tensor(
            np.ascontiguousarray(array), dtype=torch.float32, device=self._device()
        )

    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    def _check_intervals_defined(self) -> None:
        """Raise ValueError when the fit left no residual degrees of freedom."""
        if self._estimate_noise and not math.isfinite(getattr(self, "_sigma_std", 0.0)):
            raise ValueError(
                "prediction intervals are undefined for this fit: it has "
                f"n - k = {getattr(self, 'df_resid_', 0)} residual degrees of freedom, so the "
                "noise variance cannot be estimated (see the SmallSampleWarning at fit)"
            )

    def _interval_df(self) -> float | None:
        """Degrees of freedom of the intervals' critical values (None: normal quantiles).

        Gaussian-likelihood estimators use Student-t with ``df_resid_ = n - k``."""
        return None

    def _delta_var(self, inputs: torch.Tensor, output_fn=None) -> np.ndarray:
        """Delta-method variance of each output, ``(N, k)``, on the network's scale.

        ``output_fn`` maps one sample's network output to the quantity of interest
        (default: the estimator's ``_output_fn()``, e.g. the output itself).
        """
        self._check_intervals_defined()
        if self._covariance is None:
            return np.zeros(
                (
                    inputs.shape[0],
                    self.module_.out_features if hasattr(self.module_, "out_features") else 1,
                )
            )
        jac = per_sample_jacobian(
            self.module_, inputs, self._selected_index, output_fn=output_fn or self._output_fn()
        )
        return delta_variance(jac, self._covariance.to(jac.device)).cpu().numpy()


class GaussianLikelihoodMixin:
    """Gaussian likelihood on the standardised scale (the loss is ``0.5 * MSE``).

    Two noise estimates, each where it belongs:

    * the criteria (BIC and the Laplace evidence) use the maximum-likelihood variance
      ``RSS/n``, both in the log-likelihood and in the Hessian of the evidence;
    * the fitted residual sd ``sigma_`` and the delta-method covariance use the unbiased
      ``RSS/(n - k)``, with ``df_resid_ = n - k`` residual degrees of freedom (``k``
      non-zero weights, the level included); intervals then use Student-t critical values
      with ``df_resid_`` degrees of freedom, as ordinary least squares does.

    The log-likelihood is reported on the original scale of the response
    (``-n log s_y`` added to the standardised one), so ``bic_`` and ``log_evidence_`` are
    those of a Gaussian model of ``y`` itself.
    """

    # fewer residual degrees of freedom than this: sigma is poorly determined, warn
    _MIN_DF_RESID = 10

    _likelihood = Gaussian()

    def _log_likelihood(self, mean_loss: float, n: int, k: int) -> float:
        # the standardised-scale log-likelihood, moved to the scale of y itself
        return self._likelihood.log_likelihood(mean_loss, n) - n * math.log(self.y_scale_)

    def _interval_df(self) -> float | None:
        df = getattr(self, "df_resid_", None)  # absent from files saved before it existed
        return float(df) if df is not None and df > 0 else None

    def _rss(self, module: nn.Module, spec: FitSpec) -> float:
        with torch.no_grad():
            return 2.0 * float(spec.full_loss(module)) * spec.n

    def _set_covariance(self, module: nn.Module, spec: FitSpec, n: int, laplace: tuple) -> None:
        k = sum(int(m.sum()) for m in get_masks(module).values())
        df = n - k
        self.df_resid_ = int(df)
        self._selected_index = laplace[0]
        self._covariance = None
        if df <= 0:
            self._sigma_std = math.nan
            warnings.warn(
                f"the selected network has k={k} non-zero weights for n={n} observations "
                f"(n - k = {df} residual degrees of freedom): it can interpolate the data, "
                "so sigma_ is undefined (NaN) and predict_interval will raise. Use a "
                "stronger prior, a smaller network or more data.",
                SmallSampleWarning,
                stacklevel=4,
            )
            return
        if df < self._MIN_DF_RESID:
            warnings.warn(
                f"only n - k = {df} residual degrees of freedom (n={n}, k={k} non-zero "
                "weights): sigma_ is poorly determined and the intervals use Student-t "
                f"quantiles with {df} degrees of freedom.",
                SmallSampleWarning,
                stacklevel=4,
            )
        self._sigma_std = math.sqrt(self._rss(module, spec) / df)
        index, lap = laplace
        if lap is not None:
            warn_if_singular(lap.rank, len(lap.information), stacklevel=4)
            # the information was built at RSS/n; the covariance uses RSS/(n - k)
            self._covariance = lap.covariance(scale=n / df)
