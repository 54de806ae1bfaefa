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

__all__ = ["PosteriorDraws"]


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
