"""Posterior draws from SG-MCMC chains, and their ArviZ form (layer L0).

:class:`PosteriorDraws` holds plain arrays, ``(chain, draw, ...)`` per variable, and the
per-draw sample statistics; it never keeps a reference to the model that produced it.
:meth:`PosteriorDraws.to_inference_data` builds what the installed ArviZ makes from its
dict converter, so R-hat, ESS and MCSE come from ArviZ (``arviz.summary``, ``arviz.rhat``,
``arviz.ess``), never from hand-written code.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bsdl._validation import check_alpha
from bsdl.results._base import Intervals

__all__ = ["PosteriorDraws", "PosteriorIntervals"]


def _check_draws(name: str, value) -> np.ndarray:
    arr = np.array(value, dtype=np.float64, copy=True)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (chain, draw, ...), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one chain and one draw, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite draws (NaN or inf)")
    arr.setflags(write=False)
    return arr


class PosteriorDraws:
    """Draws of named variables from several chains.

    Parameters
    ----------
    draws : mapping of str to array-like
        Each of shape ``(chain, draw, ...)``; every variable has the same number of
        chains and draws.
    sample_stats : mapping of str to array-like, optional
        Per-draw statistics of shape ``(chain, draw)`` (e.g. ``"loss"``,
        ``"temperature"``, ``"lr"``).
    dims : mapping of str to list of str, optional
        Names of the trailing dimensions of each variable (passed to ArviZ).
    coords : mapping of str to sequence, optional
        Coordinates of those dimensions (passed to ArviZ).

    Attributes
    ----------
    n_chains, n_draws : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> post = PosteriorDraws({"w": rng.normal(size=(2, 100, 3))})
    >>> post.n_chains, post.n_draws, post["w"].shape
    (2, 100, (2, 100, 3))
    >>> post.mean("w").shape
    (3,)
    """

    def __init__(
        self,
        draws: Mapping[str, object],
        sample_stats: Mapping[str, object] | None = None,
        dims: Mapping[str, list[str]] | None = None,
        coords: Mapping[str, object] | None = None,
    ) -> None:
        if not draws:
            raise ValueError("draws must name at least one variable")
        self._draws = {str(k): _check_draws(f"draws[{k!r}]", v) for k, v in draws.items()}
        shapes = {k: v.shape[:2] for k, v in self._draws.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"every variable needs the same (chain, draw) shape, got {shapes}")
        self.n_chains, self.n_draws = next(iter(shapes.values()))
        self._stats = {}
        for k, v in (sample_stats or {}).items():
            arr = np.array(v, dtype=np.float64, copy=True)
            if arr.shape != (self.n_chains, self.n_draws):
                raise ValueError(
                    f"sample_stats[{k!r}] must have shape {(self.n_chains, self.n_draws)}, "
                    f"got {arr.shape}"
                )
            arr.setflags(write=False)
            self._stats[str(k)] = arr
        self.dims = {k: list(v) for k, v in (dims or {}).items()}
        self.coords = {k: list(v) for k, v in (coords or {}).items()}

    @property
    def names(self) -> list[str]:
        """The variables' names."""
        return list(self._draws)

    @property
    def sample_stats(self) -> dict[str, np.ndarray]:
        return dict(self._stats)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._draws[name]
        except KeyError:
            raise KeyError(f"no variable {name!r}; have {self.names}") from None

    def pooled(self, name: str) -> np.ndarray:
        """All chains' draws of ``name`` stacked: ``(chain * draw, ...)``."""
        arr = self[name]
        return arr.reshape(-1, *arr.shape[2:])

    def mean(self, name: str) -> np.ndarray:
        """Posterior mean of ``name`` over all chains and draws."""
        return self.pooled(name).mean(axis=0)

    def to_inference_data(self, **extra_groups):
        """An ``arviz.InferenceData`` with the ``posterior`` and ``sample_stats`` groups.

        ``extra_groups`` (e.g. ``posterior_predictive={"y": array}``) are passed on to
        ``arviz.from_dict``. Needs the ``arviz`` package (a core dependency of bsdl).
        """
        import arviz as az  # imported lazily: heavy

        return az.from_dict(
            posterior={k: np.asarray(v) for k, v in self._draws.items()},
            sample_stats={k: np.asarray(v) for k, v in self._stats.items()} or None,
            dims=self.dims or None,
            coords=self.coords or None,
            **extra_groups,
        )

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape[2:])}" for k, v in self._draws.items())
        return f"PosteriorDraws({self.n_chains} chains x {self.n_draws} draws: {shapes})"


class PosteriorIntervals(Intervals):
    """Equal-tailed intervals read off posterior (predictive) draws.

    Parameters
    ----------
    samples : array-like of shape (S, n) or (S, n, k)
        ``S`` draws of each of the ``n`` (times ``k``) quantities, e.g. responses drawn
        from the posterior predictive (network weights and noise).
    alpha : float, default 0.05
        Significance level: the ends are the ``alpha/2`` and ``1 - alpha/2`` quantiles.
    index, columns : optional
        Row and column labels (as :class:`~bsdl.results.Intervals`).
    joint : bool, default False
        Bonferroni over the rows: each row's quantiles at ``alpha / n``.
    kind : str, default "posterior"

    Attributes
    ----------
    mean, sd : ndarray
        Mean and standard deviation of the draws.
    samples : ndarray (read-only)

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(size=(4000, 2))
    >>> pi = PosteriorIntervals(draws, alpha=0.05)
    >>> bool(np.all(np.abs(pi.upper - 1.96) < 0.15))
    True
    >>> pi.conf_int(alpha=0.5).shape
    (2, 2)
    """

    def __init__(
        self,
        samples,
        alpha: float = 0.05,
        *,
        index=None,
        columns=None,
        joint: bool = False,
        kind: str = "posterior",
    ) -> None:
        arr = np.array(samples, dtype=np.float64, copy=True)
        if arr.ndim not in (2, 3) or arr.shape[0] < 2:
            raise ValueError(
                f"samples must have shape (S, n) or (S, n, k) with S >= 2, got {arr.shape}"
            )
        if not np.isfinite(arr).all():
            raise ValueError("samples contains non-finite values (NaN or inf)")
        arr.setflags(write=False)
        self._samples = arr
        self._joint = bool(joint)
        self.kind = str(kind)
        alpha = check_alpha(alpha)
        lower, upper = self._ends(alpha)
        super().__init__(arr.mean(axis=0), lower, upper, alpha, index=index, columns=columns)
        sd = arr.std(axis=0, ddof=1)
        sd.setflags(write=False)
        self._sd = sd

    def _ends(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        rows = self._samples.shape[1]
        a = alpha / rows if self._joint and rows > 1 else alpha
        lower, upper = np.quantile(self._samples, [a / 2.0, 1.0 - a / 2.0], axis=0)
        return lower, np.maximum(upper, lower)

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation of the draws."""
        return self._sd

    @property
    def samples(self) -> np.ndarray:
        """The draws, ``(S, n)`` or ``(S, n, k)`` (read-only)."""
        return self._samples

    @property
    def joint(self) -> bool:
        return self._joint

    def conf_int(self, alpha: float | None = None):
        """Interval ends at any significance level from the same draws.

        Returns ``mean.shape + (2,)`` (lower, upper), or a DataFrame for a 1-D result
        with an ``index``.
        """
        alpha = self._alpha if alpha is None else check_alpha(alpha)
        ci = np.stack(self._ends(alpha), axis=-1)
        if self._mean.ndim == 1 and self._index is not None:
            return pd.DataFrame(ci, index=self._index, columns=["lower", "upper"])
        return ci

    def _frame_columns(self) -> dict[str, np.ndarray]:
        return {"mean": self._mean, "sd": self._sd, "lower": self._lower, "upper": self._upper}
