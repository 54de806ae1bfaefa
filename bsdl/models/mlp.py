"""Sparse multilayer perceptrons for regression and classification (layer L4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin, RegressorMixin

from bsdl._validation import check_alpha, check_in_options, check_is_fitted
from bsdl.inference import ConstantSchedule, PriorAnnealing
from bsdl.likelihoods import Categorical
from bsdl.models._mlp_base import SparseMLPBase, _cross_entropy, _logits, _mse_half
from bsdl.models._params import SAMPLING_PARAMETERS_DOC, SHARED_PARAMETERS_DOC, fill_doc
from bsdl.models.base import GaussianLikelihoodMixin
from bsdl.models.io import register
from bsdl.priors import MixtureGaussianPrior
from bsdl.results import PredictionIntervals
from bsdl.results.posterior import PosteriorIntervals
from bsdl.summary import Summary

__all__ = ["SparseMLPRegressor", "SparseMLPClassifier"]


@register
@fill_doc(shared_parameters=SHARED_PARAMETERS_DOC, sampling_parameters=SAMPLING_PARAMETERS_DOC)
class SparseMLPRegressor(GaussianLikelihoodMixin, RegressorMixin, SparseMLPBase):
    """Sparse MLP regression under a mixture-Gaussian spike-and-slab prior.

    Training follows Sun, Song & Liang (JASA 2022) and Sun, Xiong & Liang (NeurIPS 2021):
    prior-annealed optimisation (or SGHMC), pruning of every weight whose posterior
    inclusion probability is below 1/2, and a refit with the mask fixed. Inputs and the
    response are standardised internally; every output is on the original scale.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (16, 8)
    activation : {"tanh", "relu", "sigmoid", "gelu", "softplus"}, default "tanh"
    prior : MixtureGaussianPrior, optional
        Default ``MixtureGaussianPrior(lambda_=1e-4, sigma0=0.01, sigma1=1.0)`` on the
        standardised scale. ``prior.sigma0`` is the *final* spike width.
    skip : bool, default True
        Add a linear path from the inputs to the output, ``f(x) = g(x) + x @ w + b``. It is
        trained under the prior with the network; after pruning, its inputs are re-chosen
        by extended BIC (Chen & Chen 2008, ``gamma = 1``) on the training data, jointly
        with backward removal of hidden units, input columns or the whole network while
        that lowers the criterion (:func:`bsdl.sparsify.choose_linear_path`), and the
        refit then fits both parts together. A real linear effect that the spike pulled
        out during annealing comes back; the extended BIC keeps the choice consistent
        when there are many more inputs than ``sqrt(n)``. ``skip=False``: the network
        alone, selected by the prior's threshold.
    {shared parameters}
    {sampling parameters}

    Attributes
    ----------
    selected_features_ : ndarray of int
        Inputs with a path of non-zero weights to the output (through the network or the
        linear path).
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.
    inclusion_probabilities_ : ndarray of float
        Per input, the largest posterior inclusion probability of its first-layer weights
        at the end of annealing (before pruning).
    mask_ : dict of ndarray
        Boolean mask of every parameter.
    sparsity_ : float
        Fraction of parameters pruned.
    sigma_ : float
        Residual standard deviation on the original scale, ``sqrt(RSS / (n - k))``
        (NaN, with a :class:`~bsdl.exceptions.SmallSampleWarning`, when ``n <= k``).
    df_resid_ : int
        Residual degrees of freedom ``n - k``: the Student-t degrees of freedom of the
        intervals.
    bic_ : float
        ``-2 loglik + k log n`` with the Gaussian log-likelihood of ``y`` on its original
        scale at the maximum-likelihood noise variance ``RSS/n`` (comparable with
        statsmodels' OLS ``-2 llf + k log n`` for the same ``k``; ``sigma^2`` not counted).
    log_evidence_ : float
        Laplace log evidence of the selected subnetwork plus the log prior of its
        structure, on the same scale (see :mod:`bsdl.intervals.laplace`).
    history_ : pandas.DataFrame
        Per epoch: phase, loss, prior weight, sigma0, temperature, sparsity.
    restarts_ : pandas.DataFrame
        Seed, spike scale sigma0, loss, non-zero count, BIC and evidence of every restart,
        and which was chosen.
    hidden_layer_sizes_ : ndarray of int
    activation_, optimizer_ : str
        The structure and optimiser that were fitted. Prediction, ``summary`` and
        ``save`` read these, never the constructor arguments, so ``set_params`` after
        ``fit`` changes nothing until the next ``fit``.

    Examples
    --------
    >>> from bsdl import SparseMLPRegressor
    >>> from bsdl.datasets import make_sparse_regression
    >>> X, y = make_sparse_regression(600, 20, random_state=0)
    >>> m = SparseMLPRegressor((8,), n_epochs=60, random_state=0).fit(X, y)
    >>> m.selected_features_[:5]  # doctest: +SKIP
    array([0, 1, 2, 3, 4])
    >>> pi = m.predict_interval(X[:3], alpha=0.05)
    >>> pi.to_frame().columns.tolist()
    ['mean', 'se', 'lower', 'upper']
    """

    _parameter_constraints: dict = {**SparseMLPBase._parameter_constraints, "skip": ["boolean"]}

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (16, 8),
        *,
        activation: str = "tanh",
        skip: bool = True,
        prior: MixtureGaussianPrior | None = None,
        annealing: PriorAnnealing | ConstantSchedule | None = None,
        optimizer: str = "adam",
        lr: float = 3e-3,
        n_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        refit_epochs: int | str = "auto",
        n_restarts: int = 1,
        restart_criterion: str = "bic",
        n_jobs: int | None = None,
        random_state=None,
        device: str = "cpu",
        verbose: bool = False,
        method: str = "map",
        n_chains: int = 4,
        n_samples: int = 200,
        thin: int = 5,
    ) -> None:
        self.skip = skip
        super().__init__(
            hidden_layer_sizes,
            activation=activation,
            prior=prior,
            annealing=annealing,
            optimizer=optimizer,
            lr=lr,
            n_epochs=n_epochs,
            batch_size=batch_size,
            refit_epochs=refit_epochs,
            n_restarts=n_restarts,
            restart_criterion=restart_criterion,
            n_jobs=n_jobs,
            random_state=random_state,
            device=device,
            verbose=verbose,
            method=method,
            n_chains=n_chains,
            n_samples=n_samples,
            thin=thin,
        )

    def fit(self, X, y) -> SparseMLPRegressor:
        """Fit the sparse network; ``X`` (n, p) array or DataFrame, ``y`` (n,). Returns self."""
        Xs, ya = self._prepare_fit(X, y, y_numeric=True)
        checked = self._check_common_params(Xs.shape[0])
        self.y_mean_ = float(ya.mean())
        ys = ya.std()
        self.y_scale_ = float(ys) if ys > 0 else 1.0
        targets = ((ya - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._fit_pipeline(self._spec(Xs, targets, 1, _mse_half, checked), checked)
        self._set_selection()
        self.sigma_ = self._sigma_std * self.y_scale_
        return self

    def predict(self, X) -> np.ndarray:
        """Point predictions on the original scale."""
        Xa = self._check_X(X, "predict")
        with torch.no_grad():
            out = self.module_(self._standardize(Xa)).squeeze(-1).cpu().numpy()
        return out.astype(np.float64) * self.y_scale_ + self.y_mean_

    def predict_interval(
        self, X, alpha: float = 0.05, kind: str = "prediction"
    ) -> PredictionIntervals:
        """Asymptotic-normal intervals by the delta method on the selected weights.

        ``kind="prediction"``: ``f(x) +- z sqrt(sigma^2 + Var f(x))`` for a new response;
        ``kind="confidence"``: ``f(x) +- z sqrt(Var f(x))`` for the regression function.
        ``Var f(x) = g(x)^T (n I)^{-1} g(x)``, ``I`` the Fisher information of the
        non-zero weights. The critical value ``z`` is Student-t's with ``df_resid_ = n - k``
        degrees of freedom (``k`` non-zero weights), as for ordinary least squares; it tends
        to the normal quantile as ``n`` grows. The returned object gives intervals at any
        other alpha.

        ``kind="posterior"`` (after ``fit`` with ``method`` "sghmc", "sgld" or "nuts"):
        equal-tailed posterior-predictive intervals, the ``alpha/2`` and ``1 - alpha/2``
        quantiles of ``f_theta(x) + sigma * eps`` over the draws of ``posterior_`` (one
        noise draw per weight draw), as :class:`~bsdl.results.posterior.PosteriorIntervals`
        (``mean``, ``sd``, ``lower``, ``upper``, the draws in ``samples``).
        """
        alpha = check_alpha(alpha)
        kind = check_in_options(kind, "kind", ("prediction", "confidence", "posterior"))
        Xa = self._check_X(X, "predict_interval")
        index = X.index if isinstance(X, pd.DataFrame) else None
        if kind == "posterior":
            self._check_posterior("predict_interval(kind='posterior')")
            return PosteriorIntervals(self._predictive_samples(X), alpha, index=index)
        inputs = self._standardize(Xa)
        with torch.no_grad():
            mean = self.module_(inputs).squeeze(-1).cpu().numpy().astype(np.float64)
        var = self._delta_var(inputs)[:, 0]
        if kind == "prediction":
            var = var + self._sigma_std**2
        return PredictionIntervals(
            mean * self.y_scale_ + self.y_mean_,
            np.sqrt(var) * self.y_scale_,
            alpha,
            index=index,
            kind=kind,
            df=self._interval_df(),
        )

    def _predictive_samples(self, X) -> np.ndarray:
        """Posterior-predictive draws of the response at ``X``: ``(S, n)``, noise included."""
        inputs = self._standardize(self._check_X(X, "to_inference_data"))
        self._check_posterior("posterior predictive draws")
        mean = self._network_draws(lambda net: net(inputs).squeeze(-1).double().cpu().numpy())
        sigma = self.posterior_.pooled("sigma")
        noise = self._noise_rng().standard_normal(mean.shape) * sigma[:, None]
        return mean * self.y_scale_ + self.y_mean_ + noise

    def summary(self) -> Summary:
        """statsmodels-style table: architecture, n, non-zero weights, inputs, sigma, BIC."""
        check_is_fitted(self, "module_", method="summary")
        return self._summary_common(
            "Sparse MLP Regression Results", [("sigma (residual sd):", f"{self.sigma_:.4g}")]
        )


@register
class SparseMLPClassifier(ClassifierMixin, SparseMLPBase):
    """Sparse MLP classification (softmax / logistic) under the spike-and-slab prior.

    Same parameters and fitted attributes as :class:`SparseMLPRegressor` (no ``sigma_``),
    plus ``classes_``. Class 0 is the reference class (its logit is fixed at 0), so the
    ``C - 1`` outputs are identifiable and their Fisher information is non-singular.

    Examples
    --------
    >>> from bsdl import SparseMLPClassifier
    >>> from bsdl.datasets import make_sparse_classification
    >>> X, y = make_sparse_classification(600, 10, random_state=0)
    >>> clf = SparseMLPClassifier((8,), n_epochs=40, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.predict_interval(X[:2]).mean.shape
    (2, 2)
    """

    _likelihood = Categorical()

    def fit(self, X, y) -> SparseMLPClassifier:
        """Fit on ``X`` (n, p) and class labels ``y`` (n,). Returns self."""
        Xs, ya = self._prepare_fit(X, y, y_numeric=False)
        classes, codes = np.unique(ya, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"y must contain at least 2 classes, got {classes.size}")
        self.classes_ = classes
        checked = self._check_common_params(Xs.shape[0])
        spec = self._spec(Xs, codes.astype(np.int64), classes.size - 1, _cross_entropy, checked)
        self._fit_pipeline(spec, checked)
        self._set_selection()
        return self

    def _proba(self, inputs: torch.Tensor) -> np.ndarray:
        # softmax in float64: a probability within 1e-8 of 1 is not rounded to 1 (its
        # log-odds, and so its logit-scale interval, stay finite)
        with torch.no_grad():
            logits = _logits(self.module_(inputs)).double()
        return torch.softmax(logits, dim=-1).cpu().numpy()

    def _proba_draws(self, inputs: torch.Tensor) -> np.ndarray:
        """Class probabilities at every posterior draw: ``(S, n, n_classes)``."""

        def proba(net):
            logits = _logits(net(inputs)).double()
            return torch.softmax(logits, dim=-1).cpu().numpy()

        return self._network_draws(proba)

    def _predictive_samples(self, X) -> np.ndarray:
        """Posterior-predictive class codes (positions in ``classes_``) at ``X``: ``(S, n)``."""
        inputs = self._standardize(self._check_X(X, "to_inference_data"))
        self._check_posterior("posterior predictive draws")
        proba = self._proba_draws(inputs)
        u = self._noise_rng().random(proba.shape[:2])[..., None]
        return (proba.cumsum(axis=-1) < u).sum(axis=-1).astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, ``(n, n_classes)``, columns in ``classes_`` order."""
        return self._proba(self._standardize(self._check_X(X, "predict_proba")))

    def predict(self, X) -> np.ndarray:
        """Most probable class label."""
        check_is_fitted(self, "module_", method="predict")
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_interval(
        self, X, alpha: float = 0.05, kind: str = "confidence"
    ) -> PredictionIntervals | PosteriorIntervals:
        """Confidence intervals for the class probabilities, built on the log-odds scale.

        For each class ``c`` the interval is symmetric in the log-odds
        ``eta_c = log p_c - log(1 - p_c)`` and mapped back:
        ``expit(eta_c -+ z se(eta_c))``, with ``se(eta_c)^2 = g_c^T (n I)^{-1} g_c`` by
        the delta method (``g_c`` the gradient of ``eta_c`` in the selected weights,
        ``I`` their Fisher information), and ``z`` the normal quantile. The ends lie in
        (0, 1) and are asymmetric around ``p_c``; as ``p_c`` approaches 0 or 1 they keep
        the uncertainty of the log-odds, where a symmetric interval on the probability
        scale would shrink to nothing (its se is ``p_c (1 - p_c) se(eta_c)``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        alpha : float, default 0.05
            Significance level (0.05: 95 % intervals).
        kind : {"confidence", "posterior"}, default "confidence"
            "posterior" (after ``fit`` with ``method`` "sghmc", "sgld" or "nuts"):
            equal-tailed posterior intervals of each class probability, the quantiles of
            ``p_c(x; theta)`` over the draws of ``posterior_``
            (:class:`~bsdl.results.posterior.PosteriorIntervals`).

        Returns
        -------
        PredictionIntervals
            ``mean`` the probabilities ``(n_samples, n_classes)`` (as
            :meth:`predict_proba`), ``se`` the standard errors of the log-odds,
            ``link="logit"``, ``kind="confidence"``; one column per class.

        Examples
        --------
        >>> from bsdl import SparseMLPClassifier
        >>> from bsdl.datasets import make_sparse_classification
        >>> X, y = make_sparse_classification(400, 6, random_state=0)
        >>> clf = SparseMLPClassifier((4,), n_epochs=30, random_state=0).fit(X, y)
        >>> pi = clf.predict_interval(X[:3])
        >>> pi.link, pi.mean.shape
        ('logit', (3, 2))
        >>> bool(((pi.lower < pi.mean) & (pi.mean < pi.upper)).all())
        True
        """
        alpha = check_alpha(alpha)
        kind = check_in_options(kind, "kind", ("confidence", "posterior"))
        inputs = self._standardize(self._check_X(X, "predict_interval"))
        if kind == "posterior":
            self._check_posterior("predict_interval(kind='posterior')")
            return PosteriorIntervals(
                self._proba_draws(inputs),
                alpha,
                index=X.index if isinstance(X, pd.DataFrame) else None,
                columns=[str(c) for c in self.classes_],
            )
        mean = self._proba(inputs)
        if self._covariance is None:  # no weight selected: the fit has no free parameter
            var = np.zeros_like(mean)
        else:
            var = self._delta_var(inputs, output_fn=_log_odds_single)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return PredictionIntervals(
            mean,
            np.sqrt(var),
            alpha,
            index=index,
            columns=[str(c) for c in self.classes_],
            bounds=(0.0, 1.0),
            kind="confidence",
            link="logit",
        )

    def summary(self) -> Summary:
        """statsmodels-style table: architecture, n, non-zero weights, selected inputs, BIC."""
        check_is_fitted(self, "module_", method="summary")
        return self._summary_common(
            "Sparse MLP Classification Results", [("Classes:", len(self.classes_))]
        )


def _log_odds_single(out: torch.Tensor) -> torch.Tensor:
    """One sample's network output ``(C - 1,)`` -> the log-odds of every class ``(C,)``.

    ``log p_c - log(1 - p_c) = l_c - logsumexp_{j != c} l_j`` (``l`` the logits), which
    stays accurate where ``p_c`` is within rounding of 0 or 1.
    """
    logits = _logits(out)
    n = logits.shape[-1]
    own = torch.eye(n, dtype=torch.bool, device=logits.device)
    others = logits.unsqueeze(-2).expand(n, n).masked_fill(own, float("-inf"))
    return logits - torch.logsumexp(others, dim=-1)
