"""Schedules for the prior weight, the spike width sigma0 and the temperature.

A schedule maps training progress (in epochs, possibly fractional) to a
:class:`ScheduleState`. Phase lengths are given either in epochs (``int``) or as
fractions of the whole run (``float`` in [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

__all__ = ["ScheduleState", "ConstantSchedule", "PriorAnnealing"]


@dataclass(frozen=True)
class ScheduleState:
    """Where training stands: phase name, prior weight in [0, 1], sigma0 and temperature."""

    phase: str
    prior_weight: float
    sigma0: float
    temperature: float


def _epochs(value, n_epochs: int, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be an int (epochs) or a float fraction, got {value!r}")
    if isinstance(value, Integral):
        if value < 0:
            raise ValueError(f"{name} must be >= 0 epochs, got {value}")
        return float(value)
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} as a fraction of training must be in [0, 1], got {value!r}")
    return float(value) * n_epochs


class ConstantSchedule:
    """The prior at full weight from the first step, fixed sigma0 and temperature.

    Parameters
    ----------
    prior_weight : float, default 1.0
        Multiplier of the prior term (0 trains without the prior).
    temperature : float, default 0.0
        SGHMC temperature (0 gives an optimiser).

    Examples
    --------
    >>> ConstantSchedule().at(3.0, 10, sigma0=0.01)
    ScheduleState(phase='constant', prior_weight=1.0, sigma0=0.01, temperature=0.0)
    """

    def __init__(self, prior_weight: float = 1.0, temperature: float = 0.0) -> None:
        if not 0.0 <= float(prior_weight) <= 1.0:
            raise ValueError(f"prior_weight must be in [0, 1], got {prior_weight!r}")
        if not float(temperature) >= 0.0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        self.prior_weight = float(prior_weight)
        self.temperature = float(temperature)

    @property
    def max_temperature(self) -> float:
        return self.temperature

    def validate(self, n_epochs: int) -> None:
        """Nothing to resolve; present for a common interface."""

    def check_prior(self, prior) -> None:
        """Nothing to check; present for a common interface."""

    def at(
        self, t: float, n_epochs: int, sigma0: float, sigma1: float | None = None
    ) -> ScheduleState:
        return ScheduleState("constant", self.prior_weight, sigma0, self.temperature)

    def __repr__(self) -> str:
        return f"ConstantSchedule(prior_weight={self.prior_weight}, temperature={self.temperature})"


class PriorAnnealing:
    """Four-phase prior annealing (Sun, Xiong & Liang, NeurIPS 2021).

    1. *warm-up* (``warmup``): dense training, prior weight 0, temperature 0;
    2. *ramp* (``ramp``): the prior weight rises linearly from 0 to 1, sigma0 = ``sigma0_init``;
    3. *anneal* (``anneal``): sigma0 moves from ``sigma0_init`` to the prior's sigma0, linear in
       the variance as in the papers' code;
    4. *cool* (the rest): sigma0 fixed; the temperature cools as
       ``tau_t = temperature / (1 + t - T3)`` (t in epochs).

    With ``temperature=0`` this is prior-annealed SGD/Adam (an optimiser).

    Parameters
    ----------
    warmup, ramp, anneal : int or float
        Phase lengths in epochs (int) or fractions of the run (float in [0, 1]).
    sigma0_init : float, optional
        Spike sd at the start; default ``sigma0_ratio * prior.sigma0``.
    sigma0_ratio : float, default sqrt(50)
        Used when ``sigma0_init`` is None (the papers' code anneals the spike
        variance from 5e-5 to 1e-6, a ratio of 50).
    temperature : float, default 0.0
        SGHMC temperature during phases 2-3 (``tau0``).

    Examples
    --------
    >>> s = PriorAnnealing(warmup=0.1, ramp=0.1, anneal=0.4)
    >>> s.at(0.5, 100, sigma0=1e-3).phase
    'warmup'
    >>> s.at(15.0, 100, sigma0=1e-3).prior_weight
    0.5
    >>> round(s.at(99.0, 100, sigma0=1e-3).sigma0, 6)
    0.001
    """

    def __init__(
        self,
        warmup: float = 0.1,
        ramp: float = 0.1,
        anneal: float = 0.4,
        sigma0_init: float | None = None,
        sigma0_ratio: float = math.sqrt(50.0),
        temperature: float = 0.0,
    ) -> None:
        self.warmup = warmup
        self.ramp = ramp
        self.anneal = anneal
        self.sigma0_init = sigma0_init
        self.sigma0_ratio = float(sigma0_ratio)
        self.temperature = float(temperature)
        if not self.temperature >= 0.0:
            raise ValueError(f"temperature must be >= 0, got {temperature!r}")
        if not self.sigma0_ratio >= 1.0:
            raise ValueError(f"sigma0_ratio must be >= 1, got {sigma0_ratio!r}")
        if sigma0_init is not None and not float(sigma0_init) > 0:
            raise ValueError(f"sigma0_init must be > 0, got {sigma0_init!r}")

    @property
    def max_temperature(self) -> float:
        return self.temperature

    def boundaries(self, n_epochs: int) -> tuple[float, float, float]:
        """End of warm-up, ramp and anneal phases, in epochs."""
        t1 = _epochs(self.warmup, n_epochs, "warmup")
        t2 = t1 + _epochs(self.ramp, n_epochs, "ramp")
        t3 = t2 + _epochs(self.anneal, n_epochs, "anneal")
        if t3 > n_epochs + 1e-9:
            raise ValueError(f"warmup + ramp + anneal = {t3:g} epochs exceeds n_epochs={n_epochs}")
        return t1, t2, t3

    def validate(self, n_epochs: int) -> None:
        """Raise ValueError if the phases do not fit into ``n_epochs``."""
        self.boundaries(n_epochs)

    def start_sigma0(self, sigma0: float, sigma1: float | None = None) -> float:
        """The spike sd at the start of the ramp for a prior with final spike ``sigma0``.

        ``sigma0_init`` when given; else ``sigma0_ratio * sigma0``. When ``sigma1`` is
        given and that product would reach the slab (``sigma0_ratio * sigma0 >= sigma1``),
        the start is the geometric midpoint ``sqrt(sigma0 * sigma1)`` instead, so the
        annealed spike always stays strictly between ``sigma0`` and ``sigma1``.

        Examples
        --------
        >>> PriorAnnealing(sigma0_ratio=10.0).start_sigma0(0.01, 1.0)
        0.1
        >>> PriorAnnealing(sigma0_ratio=10.0).start_sigma0(0.25, 1.0)
        0.5
        """
        if self.sigma0_init is not None:
            return float(self.sigma0_init)
        start = self.sigma0_ratio * sigma0
        if sigma1 is not None and start >= sigma1:
            start = math.sqrt(sigma0 * sigma1)
        return start

    def check_prior(self, prior) -> None:
        """Raise ValueError if the annealed spike would not stay narrower than the slab.

        Only an explicit ``sigma0_init`` can fail: the default start is kept below
        ``prior.sigma1`` by :meth:`start_sigma0`.
        """
        if self.sigma0_init is not None and not float(self.sigma0_init) < prior.sigma1:
            raise ValueError(
                f"annealing.sigma0_init={self.sigma0_init!r} must be smaller than the prior's "
                f"slab sd sigma1={prior.sigma1!r}: the spike is annealed from sigma0_init down "
                "to sigma0 and must stay narrower than the slab"
            )

    def at(
        self, t: float, n_epochs: int, sigma0: float, sigma1: float | None = None
    ) -> ScheduleState:
        t1, t2, t3 = self.boundaries(n_epochs)
        s_init = max(self.start_sigma0(sigma0, sigma1), sigma0)
        if t < t1:
            return ScheduleState("warmup", 0.0, s_init, 0.0)
        if t < t2:
            return ScheduleState("ramp", (t - t1) / (t2 - t1), s_init, self.temperature)
        if t < t3:
            frac = (t - t2) / (t3 - t2)
            var = (1.0 - frac) * s_init**2 + frac * sigma0**2
            return ScheduleState("anneal", 1.0, math.sqrt(var), self.temperature)
        return ScheduleState("cool", 1.0, sigma0, self.temperature / (1.0 + t - t3))

    def __repr__(self) -> str:
        return (
            f"PriorAnnealing(warmup={self.warmup!r}, ramp={self.ramp!r}, anneal={self.anneal!r}, "
            f"sigma0_init={self.sigma0_init!r}, temperature={self.temperature!r})"
        )
