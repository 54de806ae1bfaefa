"""The conditional variance of a sequence forecaster's innovations (layer L4).

With ``noise="heteroscedastic"`` the innovations ``e_t = z_t - f(z)_t`` of the fitted
mean (standardised scale) get a sparse GJR-GARCH(L, 1) variance on the same lag window,

    ``s2_t = omega + sum_{j=1..L} (c_j e_{t-j}^2 + d_j e_{t-j}^2 [e_{t-j} < 0]) + beta s2_{t-1}``

(``L = lags``; ``c_j = a_j^2`` and ``d_j = g_j^2`` are non-negative, ``omega > 0``,
``0 < beta < 1``), fitted by the likelihood of ``e_t = sqrt(s2_t) z_t``: Gaussian ``z_t``
(:class:`~bsdl.likelihoods.HeteroscedasticGaussian`, ``innovations="normal"``) or
unit-variance Student-t ``z_t`` with ``nu`` fitted jointly
(:class:`~bsdl.likelihoods.HeteroscedasticStudentT`, ``innovations="t"``). The spike-and-slab
prior of the mean network sits on the weights ``a_j`` and ``g_j`` (the square roots of the
coefficients), so a lag's variance effect is kept when its weight leaves the spike, as a mean
weight is; ``omega``, ``beta`` and ``nu`` (level, persistence, tails) are outside the prior,
as the mean's level is, and so is ``a_1``: the GARCH(1, 1) core is always in the model (it
identifies ``beta`` and nests the field's baseline) and the prior chooses the departures
from it. The fit follows the estimators' pipeline in miniature: a
maximum-likelihood warm-up on every lag, the maximum a posteriori fit under the prior (the
inclusion probabilities are read there), pruning at the prior's threshold and a
maximum-likelihood refit of what is kept, then backward elimination by the extended BIC
(Chen & Chen 2008, gamma = 1: the ``2 L - 1`` candidate terms beyond the core make the
candidate set large, docs/CONVENTIONS.md). Every refit
starts from the current values and from fresh starts (:func:`_refit`), so the search is not
held in a basin where the persistence has run to 0.

Given the innovations, ``s2`` is a linear filter of them: the whole path is one FFT
convolution (no loop over time), which makes the fit a smooth problem in a handful of
parameters, solved by L-BFGS in float64. Before the first innovation the squared
innovations and ``s2`` are the backcast, the mean of the squared innovations of the fit.
See docs/CONVENTIONS.md ("Heteroscedastic noise") for why this model and what the intervals
assume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize, stats

from bsdl._validation import check_positive_int
from bsdl.likelihoods import HeteroscedasticGaussian, HeteroscedasticStudentT
from bsdl.priors import MixtureGaussianPrior
from bsdl.sparsify.bic import log_choose

__all__ = [
    "NOISE",
    "INNOVATIONS",
    "INNOVATION_OPTIONS",
    "VarianceModel",
    "fit_variance",
    "fit_t_df",
    "variance_path",
    "forecast_variance",
    "variance_log_likelihood",
]

#: the options of the forecasters' ``noise`` argument
NOISE = ("constant", "heteroscedastic")
#: the innovation distributions a fit can have (``innovations_``)
INNOVATIONS = ("normal", "t")
#: the options of the forecasters' ``innovations`` argument: ``"auto"`` is ``"t"`` with
#: ``noise="heteroscedastic"`` and ``"normal"`` with constant noise
INNOVATION_OPTIONS = ("auto", *INNOVATIONS)

#: the likelihood of the standardised innovations, by ``innovations``
LIKELIHOODS = {"normal": HeteroscedasticGaussian(), "t": HeteroscedasticStudentT()}
_DTYPE = torch.float64
#: the Student-t degrees of freedom are ``2 + exp(u)`` with ``u`` in these bounds (nu from
#: about 2.05 to about 3000: a unit-variance t needs nu > 2; beyond ~3000 it is the normal)
_LOG_NU_BOUNDS = (-3.0, 8.0)
_NU_START = 8.0


@dataclass(frozen=True)
class VarianceModel:
    """A fitted variance recursion (standardised scale).

    Attributes
    ----------
    omega, beta : float
        Level and persistence of the recursion.
    arch, asym : ndarray of shape (L,)
        ``c_j`` and ``d_j`` of lags ``1..L`` (0 where pruned).
    backcast : float
        Squared innovation and variance before the first innovation.
    inclusion : ndarray of shape (2, L)
        Inclusion probabilities of ``a_j`` (row 0) and ``g_j`` (row 1) at the MAP fit.
    mean_nll : float
        Mean loss of the refit (the likelihood's ``loss``: for the normal without
        ``log 2 pi / 2``), on the scale of the innovations.
    nu : float or None
        Degrees of freedom of standardised Student-t innovations (None: normal).
    """

    omega: float
    beta: float
    arch: np.ndarray
    asym: np.ndarray
    backcast: float
    inclusion: np.ndarray
    mean_nll: float
    nu: float | None = None

    @property
    def lags(self) -> int:
        return int(self.arch.size)

    @property
    def persistence(self) -> float:
        """``beta + sum c + sum d / 2``: the decay of a shock's effect (below 1: stationary
        with symmetric innovations)."""
        return float(self.beta + self.arch.sum() + 0.5 * self.asym.sum())


def _design(e: torch.Tensor, lags: int, backcast: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T + 1, L)`` squared innovations ``e_{t-j}^2`` and their negative part, rows
    ``t = 0..T`` (row ``T``: the step after the last innovation), the backcast before
    the sample (half of it for the negative part)."""
    e2 = e * e
    neg = e2 * (e < 0)
    pad = torch.full((lags,), backcast, dtype=e.dtype)
    e2 = torch.cat([pad, e2])
    neg = torch.cat([pad * 0.5, neg])
    t = torch.arange(e.numel() + 1).reshape(-1, 1) + lags
    j = torch.arange(1, lags + 1).reshape(1, -1)
    return e2[t - j], neg[t - j]


def _recursion(u: torch.Tensor, beta: torch.Tensor, start: float) -> torch.Tensor:
    """``s_t = u_t + beta s_{t-1}`` with ``s_{-1} = start``, by one FFT convolution."""
    n = u.numel()
    powers = torch.exp(torch.arange(n, dtype=u.dtype) * torch.log(beta))
    size = 2 * n
    conv = torch.fft.irfft(torch.fft.rfft(u, size) * torch.fft.rfft(powers, size), size)[:n]
    return conv + powers * beta * start


def variance_path(model: VarianceModel, e: np.ndarray) -> np.ndarray:
    """Conditional variances ``s2_t`` for ``t = 0..T`` (``T + 1`` values) along the
    innovations ``e`` (``T`` values): the last one is the variance of the next step."""
    et = torch.as_tensor(np.asarray(e, dtype=float), dtype=_DTYPE)
    e2, neg = _design(et, model.lags, model.backcast)
    c = torch.as_tensor(model.arch, dtype=_DTYPE)
    d = torch.as_tensor(model.asym, dtype=_DTYPE)
    u = model.omega + e2 @ c + neg @ d
    s2 = _recursion(u, torch.tensor(model.beta, dtype=_DTYPE), model.backcast)
    return s2.clamp_min(1e-12).numpy()


def forecast_variance(model: VarianceModel, e: np.ndarray, steps: int) -> np.ndarray:
    """Variances of the next ``steps`` innovations after the innovations ``e``
    (expected squared innovations fed back: ``E e^2 = s2``, ``E e^2 [e < 0] = s2 / 2``)."""
    path = variance_path(model, e)
    lags = model.lags
    past = np.asarray(e, dtype=float)[-lags:] if lags else np.zeros(0)
    past = np.concatenate([np.full(lags - past.size, np.nan), past])
    e2 = np.where(np.isnan(past), model.backcast, past**2)
    neg = np.where(np.isnan(past), model.backcast / 2, e2 * (past < 0))
    e2, neg = list(e2), list(neg)  # oldest first, the last entry is lag 1
    out = [float(path[-1])]
    for _ in range(1, steps):
        e2.append(out[-1])
        neg.append(out[-1] / 2)
        s = model.omega + model.beta * out[-1]
        for j in range(1, lags + 1):
            s += model.arch[j - 1] * e2[-j] + model.asym[j - 1] * neg[-j]
        out.append(float(s))
    return np.asarray(out)


def variance_log_likelihood(model: VarianceModel, n: int) -> float:
    """The maximised log-likelihood of the ``n`` innovations the model was fitted on."""
    return LIKELIHOODS["normal" if model.nu is None else "t"].log_likelihood(model.mean_nll, n)


def fit_t_df(z: np.ndarray) -> float:
    """Maximum-likelihood degrees of freedom of standardised (unit-variance) Student-t
    innovations ``z`` with the scale fixed: the constant-noise forecaster's
    ``innovations="t"`` (``z`` its residuals over ``sigma``).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).standard_t(6, size=20000) / np.sqrt(6 / 4)
    >>> bool(5 < fit_t_df(z) < 7)
    True
    """
    z = np.asarray(z, dtype=float)

    def nll(u: float) -> float:
        nu = 2.0 + math.exp(u)
        return -float(np.sum(stats.t.logpdf(z, nu, scale=math.sqrt((nu - 2.0) / nu))))

    res = optimize.minimize_scalar(nll, bounds=_LOG_NU_BOUNDS, method="bounded")
    return 2.0 + math.exp(float(res.x))


class _Raw(torch.nn.Module):
    """The unconstrained parameters: ``log omega``, ``logit beta``, ``a``, ``g`` and, for
    Student-t innovations, ``log(nu - 2)``."""

    def __init__(self, lags: int, omega: float, beta: float, a: np.ndarray, g: np.ndarray, t: bool):
        super().__init__()
        self.log_nu = (
            torch.nn.Parameter(torch.tensor(math.log(_NU_START - 2.0), dtype=_DTYPE)) if t else None
        )
        self.log_omega = torch.nn.Parameter(torch.tensor(math.log(omega), dtype=_DTYPE))
        self.logit_beta = torch.nn.Parameter(
            torch.tensor(math.log(beta / (1 - beta)), dtype=_DTYPE)
        )
        self.a = torch.nn.Parameter(torch.as_tensor(a, dtype=_DTYPE).clone())
        self.g = torch.nn.Parameter(torch.as_tensor(g, dtype=_DTYPE).clone())

    def variances(self, e2, neg, backcast, mask):
        c = (self.a * mask[0]).pow(2)
        d = (self.g * mask[1]).pow(2)
        u = torch.exp(self.log_omega) + e2 @ c + neg @ d
        return _recursion(u, torch.sigmoid(self.logit_beta), backcast)

    def nu(self) -> torch.Tensor | None:
        if self.log_nu is None:
            return None
        return 2.0 + torch.exp(self.log_nu.clamp(*_LOG_NU_BOUNDS))


def _minimise(raw: _Raw, objective, max_iter: int = 300) -> float:
    params = [p for p in raw.parameters()]
    opt = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(objective())


def _bic(mean_nll: float, n: int, mask: torch.Tensor) -> float:
    # extended BIC (Chen & Chen 2008, gamma = 1): 2 n NLL + k log n + 2 log C(m, j), k: the
    # kept weights, omega and beta; j of the m = 2 L - 1 candidate terms beyond the core kept
    m, j = mask.numel() - 1, int(mask.sum()) - 1
    extra = 2.0 * float(log_choose(m, j))
    return 2.0 * n * mean_nll + (int(mask.sum()) + 2) * math.log(n) + extra


def _state(raw: _Raw) -> dict:
    return {k: v.detach().clone() for k, v in raw.state_dict().items()}


def _fresh_state(raw: _Raw, beta0: float) -> dict:
    """The starting values of a restart at persistence ``beta0`` (unit scale)."""
    lags = raw.a.numel()
    start = np.full(lags, math.sqrt(0.05 / max(lags, 1)))
    return _state(_Raw(lags, 0.95 - beta0, beta0, start, start, raw.log_nu is not None))


def _refit(raw: _Raw, mask: torch.Tensor, nll, max_iter: int = 300) -> float:
    """Maximum-likelihood refit with ``mask`` fixed, from the current values and from a
    fresh start at each of ``_START_BETAS``; the best fit is left in ``raw``.

    A warm start alone is not enough: the persistence is a logistic of its parameter and
    can run to 0 or 1 in a fit with many lags, where its gradient vanishes, so a refit
    after a lag is removed could not bring it back (the search would stop in a basin
    whose BIC is far from the best one)."""
    starts = [_state(raw)] + [_fresh_state(raw, b) for b in _START_BETAS]
    best = None
    for start in starts:
        raw.load_state_dict(start)
        value = _minimise(raw, lambda: nll(raw, mask), max_iter=max_iter)
        if math.isfinite(value) and (best is None or value < best[0]):
            best = (value, _state(raw))
    raw.load_state_dict(best[1])
    return best[0]


def _eliminate(raw: _Raw, mask: torch.Tensor, nll, mean_nll: float, n: int) -> float:
    """Backward elimination by the extended BIC (:func:`_bic`): remove, one at a time, the
    kept weight whose removal (with a refit, :func:`_refit`) lowers it most, while one does;
    ``mask`` is updated in
    place."""
    bic = _bic(mean_nll, n, mask)
    while int(mask.sum()) > 1:
        state = _state(raw)
        best = None
        for idx in mask.nonzero().tolist():
            if idx == [0, 0]:
                continue  # the core's ARCH term (fit_variance) is not a candidate
            trial = mask.clone()
            trial[idx[0], idx[1]] = 0.0
            raw.load_state_dict(state)
            value = _refit(raw, trial, nll, max_iter=100)
            score = _bic(value, n, trial)
            if best is None or score < best[0]:
                best = (score, idx, value, _state(raw))
        if best[0] >= bic:
            raw.load_state_dict(state)
            break
        bic, mean_nll = best[0], best[2]
        mask[best[1][0], best[1][1]] = 0.0
        raw.load_state_dict(best[3])
    return mean_nll


def fit_variance(
    e: np.ndarray,
    lags: int,
    prior: MixtureGaussianPrior,
    prune: str = "bic",
    innovations: str = "normal",
) -> VarianceModel:
    """Fit the sparse GJR-GARCH(``lags``, 1) to the innovations ``e`` (see the module
    docstring): maximum likelihood on every lag, MAP under ``prior`` on the weights
    ``a_j``, ``g_j`` (all but ``a_1``: the GARCH(1, 1) core is always kept), pruning at
    ``prior.threshold``, maximum-likelihood refit; with
    ``prune="bic"`` (the forecasters' default) then backward elimination of the kept
    weights by the extended BIC (each removal refitted), as the mean network's groups are
    eliminated.
    ``innovations``: ``"normal"`` (Gaussian likelihood) or ``"t"`` (standardised
    Student-t likelihood, ``nu`` estimated with the other parameters outside the prior).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.priors import MixtureGaussianPrior
    >>> rng = np.random.default_rng(0)
    >>> e, s2 = np.zeros(2000), 1.0
    >>> for t in range(2000):  # GARCH(1, 1): omega 0.05, arch 0.1, beta 0.85
    ...     e[t] = np.sqrt(s2) * rng.standard_normal()
    ...     s2 = 0.05 + 0.1 * e[t] ** 2 + 0.85 * s2
    >>> m = fit_variance(e, 3, MixtureGaussianPrior(0.01, 0.02, 1.0))
    >>> bool(m.arch[0] > 0), bool(0.5 < m.beta < 1)
    (True, True)
    """
    if innovations not in LIKELIHOODS:
        raise ValueError(f"innovations must be one of {sorted(LIKELIHOODS)}, got {innovations!r}")
    lags = check_positive_int(lags, "lags")  # >= 1: the GARCH(1, 1) core
    t = innovations == "t"
    lik = LIKELIHOODS[innovations]
    et = torch.as_tensor(np.asarray(e, dtype=float), dtype=_DTYPE)
    n = et.numel()
    backcast = float(et.pow(2).mean())
    if not backcast > 0:
        raise ValueError("the innovations are all zero: there is no variance to model")
    e2, neg = _design(et, lags, backcast)
    e2, neg = e2[:-1] / backcast, neg[:-1] / backcast  # fit on the unit scale
    target = et / math.sqrt(backcast)
    zeros = torch.zeros_like(target)
    mask = torch.ones((2, lags), dtype=_DTYPE)

    def nll(raw: _Raw, m: torch.Tensor) -> torch.Tensor:
        var = raw.variances(e2, neg, 1.0, m)
        return lik.loss((zeros, var, raw.nu()) if t else (zeros, var), target)

    fits = [_fit_from(beta, lags, prior, prune, nll, n, t) for beta in _START_BETAS]
    raw, mask, inclusion, mean_nll = min(fits, key=lambda f: _bic(f[3], n, f[1]))
    with torch.no_grad():
        arch = (raw.a * mask[0]).pow(2).numpy()
        asym = (raw.g * mask[1]).pow(2).numpy()
        omega = float(torch.exp(raw.log_omega)) * backcast
        beta = float(torch.sigmoid(raw.logit_beta))
        nu = float(raw.nu()) if t else None
    return VarianceModel(
        omega=omega,
        beta=beta,
        arch=arch,
        asym=asym,
        backcast=backcast,
        inclusion=inclusion,
        mean_nll=mean_nll + 0.5 * math.log(backcast),
        nu=nu,
    )


#: starting persistences of the variance fit's restarts (the smallest BIC is kept): the
#: likelihood of a GARCH has a long-memory basin (beta near 1, few lags) and a short-memory
#: one (beta small, several lags)
_START_BETAS = (0.9, 0.5)


def _fit_from(beta0: float, lags: int, prior, prune: str, nll, n: int, t: bool):
    """One restart: warm-up, MAP, threshold, refit and (``prune="bic"``) elimination."""
    mask = torch.ones((2, lags), dtype=_DTYPE)
    # warm-up: maximum likelihood on every lag from a GARCH-like start
    start = np.full(lags, math.sqrt(0.05 / max(lags, 1)))
    raw = _Raw(lags, 0.95 - beta0, beta0, start, start, t)
    _minimise(raw, lambda: nll(raw, mask))

    # MAP under the prior on a and g (the mean network's prior: the same spike and slab),
    # except a_1: the GARCH(1, 1) core is outside the prior, as omega and beta are
    def posterior() -> torch.Tensor:
        w = torch.cat([raw.a[1:], raw.g])
        return nll(raw, mask) - prior.log_prob(w).sum() / n

    _minimise(raw, posterior)
    with torch.no_grad():
        w = torch.stack([raw.a, raw.g]).detach()
        inclusion = prior.inclusion_probability(w.float()).double().numpy()
        mask = (w.abs() > prior.threshold).to(_DTYPE)
        inclusion[0, 0], mask[0, 0] = 1.0, 1.0  # the core's ARCH term is always kept
    # refit what is kept, by maximum likelihood (the pipeline's refit with the mask fixed)
    mean_nll = _refit(raw, mask, nll)
    if prune == "bic":
        mean_nll = _eliminate(raw, mask, nll, mean_nll, n)
    return raw, mask, inclusion, mean_nll
