"""Adaptive conformal inference: ACI (Gibbs & Candès 2021) and AgACI (Zaffran et al. 2022)."""

from __future__ import annotations

import math

import numpy as np

from ._core import quantile_or_max
from .scores import ConformityScore
from .split import SplitConformal

__all__ = ["ACI", "AgACI", "DEFAULT_GAMMAS", "aci_update", "aci_walk", "aggregated_walk"]

#: The step sizes of Zaffran et al. (2022), section 5, used by AgACI by default.
DEFAULT_GAMMAS: tuple[float, ...] = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128)


def _check_gamma(gamma, name: str = "gamma", *, allow_zero: bool = False) -> float:
    interval = "[0, 1)" if allow_zero else "(0, 1)"
    if isinstance(gamma, bool) or not isinstance(gamma, int | float | np.floating):
        raise TypeError(f"{name} must be a float in {interval}, got {gamma!r}")
    gamma = float(gamma)
    if not (0.0 <= gamma if allow_zero else 0.0 < gamma) or not gamma < 1.0:
        raise ValueError(f"{name} must be in {interval}, got {gamma!r}")
    return gamma


def check_gammas(gammas, name: str = "gammas", *, allow_zero: bool = False) -> np.ndarray:
    """A non-empty sequence of step sizes, each checked as :func:`_check_gamma` does."""
    if isinstance(gammas, str):
        raise TypeError(f"{name} must be a sequence of floats, got {gammas!r}")
    values = np.atleast_1d(np.asarray(gammas, dtype=object))
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one step size")
    return np.array([_check_gamma(g, name, allow_zero=allow_zero) for g in values])


def aci_update(a_t, alpha: float, gamma, miss):
    """ACI's level update (Gibbs & Candès 2021): ``alpha_{t+1} = alpha_t + gamma (alpha - err_t)``.

    ``miss`` is ``err_t`` (1 if ``y_t`` fell outside its interval); ``a_t``, ``gamma`` and
    ``miss`` may be arrays (one level per expert, as in :class:`AgACI`).

    >>> from bsdl.conformal import aci_update
    >>> round(aci_update(0.1, 0.1, 0.01, 1.0), 4), round(aci_update(0.1, 0.1, 0.01, 0.0), 4)
    (0.091, 0.101)
    """
    return a_t + gamma * (alpha - miss)


def aci_walk(y, alpha: float, gamma: float, interval_at):
    """Walk a test span with ACI's level: the shared loop of :class:`ACI` and
    :class:`~bsdl.conformal.AdaptiveAsymptotic` with a single ``gamma``.

    At step ``t`` the working level is ``a_t`` (``a_0 = alpha``);
    ``interval_at(t, a_t) -> (lower, upper, infinite)`` gives the reported interval and
    whether the nominal one is the whole line (it never misses, so the update counts no
    error there); then ``y[t]`` is revealed and :func:`aci_update` moves the level. A point
    on an interval end counts as covered.

    Returns
    -------
    lower, upper, alphas : ndarray of shape (len(y),)
        The reported intervals and the level each step used.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import aci_walk
    >>> lo, up, a = aci_walk(np.array([0.0, 5.0, 0.0]), 0.1, 0.5,
    ...                      lambda t, a_t: (-1.0, 1.0, False))
    >>> np.round(a, 3).tolist()  # covered: + gamma alpha; missed: - gamma (1 - alpha)
    [0.1, 0.15, -0.3]
    """
    n = len(y)
    lower, upper, alphas = np.empty(n), np.empty(n), np.empty(n)
    a_t = alpha
    for t in range(n):
        alphas[t] = a_t
        lower[t], upper[t], infinite = interval_at(t, a_t)
        miss = 0.0 if infinite else float(not (lower[t] <= y[t] <= upper[t]))
        a_t = aci_update(a_t, alpha, gamma, miss)
    return lower, upper, alphas


class ACI(SplitConformal):
    """Adaptive conformal inference (Gibbs & Candès, NeurIPS 2021).

    Split conformal whose working level moves online: after each revealed
    observation, ``alpha_{t+1} = alpha_t + gamma (alpha - err_t)`` with ``err_t = 1``
    if ``y_t`` fell outside its interval. Under any distribution shift the long-run
    miscoverage converges to ``alpha``: ``|mean(err) - alpha| <= (max(alpha_1, 1 -
    alpha_1) + gamma) / (gamma T)`` for the nominal intervals. When
    ``alpha_t < 1 / (n + 1)`` (n scores in force; this includes ``alpha_t <= 0``) the
    nominal interval is infinite and never misses, so the update counts no error and
    ``alpha_t`` stays above ``-gamma``; the *reported* interval is capped at the largest
    score in force (as in Zaffran et al. 2022), so its coverage can fall short of the
    nominal one during such steps. ``alpha_t >= 1`` gives a zero-width interval.

    Parameters
    ----------
    estimator, score, prefit, window
        As in :class:`SplitConformal`; ``window`` (recent scores kept) is common with ACI.
    gamma : float, default 0.01
        Step size in (0, 1): larger adapts faster but makes the width noisier.

    Notes
    -----
    With ``window=None`` the scores are those of the calibration set only; when the
    noise grows beyond the largest of them, even the capped ``alpha_t <= 0`` interval
    cannot cover, so set ``window`` (recent scores) on series whose scale drifts.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import ACI
    >>> class Zero:
    ...     def fit(self, X, y): return self
    ...     def predict(self, X): return np.zeros(len(X))
    >>> rng = np.random.default_rng(1)
    >>> y = rng.normal(size=3000) * np.linspace(1, 3, 3000)  # the noise grows
    >>> X = np.zeros((3000, 1))
    >>> aci = ACI(Zero(), prefit=True, gamma=0.02, window=200).calibrate(X[:200], y[:200])
    >>> pi = aci.predict_online(X[200:], y[200:], alpha=0.1)
    >>> round(1 - pi.coverage(y[200:]), 2)  # long-run miscoverage near 0.1
    0.1
    """

    method_name = "ACI"

    def __init__(
        self,
        estimator,
        *,
        gamma: float = 0.01,
        score: str | ConformityScore = "absolute",
        prefit: bool = False,
        window: int | None = None,
    ) -> None:
        super().__init__(estimator, score=score, prefit=prefit, window=window)
        self.gamma = gamma

    def _check_params(self) -> None:
        super()._check_params()
        _check_gamma(self.gamma)

    def _online(self, pred, scale, y, test_scores, alpha):
        gamma = _check_gamma(self.gamma)
        windows = self._score_windows(test_scores)

        def interval_at(t, a_t):
            sorted_scores = next(windows)
            q = quantile_or_max(sorted_scores, a_t)
            s = None if scale is None else scale[t : t + 1]
            lo, up = self._score.interval(pred[t : t + 1], q, s)
            # an alpha_t below 1/(n+1) asks for an infinite interval, which never misses:
            # the update counts no error there (the reported interval is only capped)
            return lo[0], up[0], a_t < 1.0 / (sorted_scores.size + 1)

        return aci_walk(y, alpha, gamma, interval_at)


def _pinball_grad(pred: float, y: float, tau: float) -> float:
    """Derivative in ``pred`` of the pinball loss at level ``tau``."""
    return (1.0 - tau) if y < pred else -tau


def aggregated_walk(y, alpha: float, gammas: np.ndarray, bounds_at):
    """Walk a test span with one ACI level per step size and aggregate the experts' bounds:
    the shared loop of :class:`AgACI` and the aggregated
    :class:`~bsdl.conformal.AdaptiveAsymptotic`.

    Expert ``k`` keeps its own level ``a_t[k]`` (``a_0 = alpha``, moved by
    :func:`aci_update` with ``gammas[k]``); ``bounds_at(t, a_t) -> (lower_k, upper_k,
    infinite_k)`` gives each expert's finite reported bounds and whether its nominal
    interval is the whole line (it then counts no error). The lower and upper bounds are
    aggregated separately by exponential weights on the linearised pinball loss at
    ``alpha / 2`` and ``1 - alpha / 2`` with the anytime rate ``sqrt(8 log K / t) / B``
    (Cesa-Bianchi & Lugosi 2006, ch. 2), ``B`` the largest spread of the experts' bounds
    seen so far.

    Returns
    -------
    lower, upper : ndarray of shape (len(y),)

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import aggregated_walk
    >>> lo, up = aggregated_walk(np.zeros(3), 0.1, np.array([0.01, 0.1]),
    ...                          lambda t, a: (-np.ones(2), np.ones(2), np.zeros(2, bool)))
    >>> lo.tolist(), up.tolist()  # equal experts: the aggregate is their common bound
    ([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0])
    """
    k = gammas.size
    n = len(y)
    a_t = np.full(k, alpha)
    lower, upper = np.empty(n), np.empty(n)
    cum = np.zeros((2, k))  # cumulative linearised losses, lower and upper
    span = 0.0
    taus = (alpha / 2.0, 1.0 - alpha / 2.0)
    for t in range(n):
        lo_k, up_k, infinite = bounds_at(t, a_t)
        bounds = (lo_k, up_k)
        # losses differ between experts by at most the spread of their bounds
        span = max(span, float(np.ptp(lo_k)), float(np.ptp(up_k)))
        eta = math.sqrt(8.0 * math.log(max(k, 2)) / (t + 1)) / max(span, 1e-12)
        agg = []
        for side in range(2):
            w = np.exp(-eta * (cum[side] - cum[side].min()))
            agg.append(float(np.dot(w / w.sum(), bounds[side])))
        lower[t], upper[t] = min(agg), max(agg)
        for side in range(2):
            cum[side] += _pinball_grad(agg[side], y[t], taus[side]) * bounds[side]
        err = ((y[t] < lo_k) | (y[t] > up_k)) & ~infinite
        a_t = aci_update(a_t, alpha, gammas, err)
    return lower, upper


class AgACI(SplitConformal):
    """Aggregated adaptive conformal inference (Zaffran et al., ICML 2022).

    Runs one :class:`ACI` expert per step size in ``gammas`` and aggregates their lower
    and upper bounds separately with online expert aggregation on the pinball loss
    (levels ``alpha/2`` and ``1 - alpha/2``), so no single ``gamma`` has to be chosen.
    The aggregation is exponentially weighted on the linearised (gradient) pinball
    loss with the anytime learning rate ``sqrt(8 log K / t) / B`` (Cesa-Bianchi &
    Lugosi 2006, ch. 2), B the largest spread between the experts' bounds seen so far
    (the range of their loss differences); the paper uses BOA,
    another regret-optimal aggregation rule. Infinite expert bounds (``alpha_t <= 0``)
    are replaced by the largest score, as in the paper.

    Parameters
    ----------
    estimator, score, prefit, window
        As in :class:`SplitConformal`.
    gammas : sequence of float, default :data:`DEFAULT_GAMMAS`

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import AgACI
    >>> class Zero:
    ...     def fit(self, X, y): return self
    ...     def predict(self, X): return np.zeros(len(X))
    >>> rng = np.random.default_rng(1)
    >>> y = rng.normal(size=3000) * np.linspace(1, 3, 3000)
    >>> X = np.zeros((3000, 1))
    >>> ag = AgACI(Zero(), prefit=True, window=200).calibrate(X[:200], y[:200])
    >>> pi = ag.predict_online(X[200:], y[200:], alpha=0.1)
    >>> bool(abs(pi.coverage(y[200:]) - 0.9) < 0.03)
    True
    """

    method_name = "AgACI"

    def __init__(
        self,
        estimator,
        *,
        gammas=DEFAULT_GAMMAS,
        score: str | ConformityScore = "absolute",
        prefit: bool = False,
        window: int | None = None,
    ) -> None:
        super().__init__(estimator, score=score, prefit=prefit, window=window)
        self.gammas = gammas

    def _gammas(self) -> np.ndarray:
        return check_gammas(self.gammas)

    def _check_params(self) -> None:
        super()._check_params()
        self._gammas()

    def _online(self, pred, scale, y, test_scores, alpha):
        gammas = self._gammas()
        k = gammas.size
        windows = self._score_windows(test_scores)

        def bounds_at(t, a_t):
            sorted_scores = next(windows)
            s = None if scale is None else np.repeat(scale[t], k)
            q = np.array([quantile_or_max(sorted_scores, a) for a in a_t])
            lo_k, up_k = self._score.interval(np.repeat(pred[t], k), q, s)
            return lo_k, up_k, a_t < 1.0 / (sorted_scores.size + 1)

        lower, upper = aggregated_walk(y, alpha, gammas, bounds_at)
        return lower, upper, None

    def __repr__(self) -> str:
        return f"AgACI(estimator={self.estimator!r}, gammas={self.gammas!r})"
