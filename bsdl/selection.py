"""Autoregressive-order selection with a sparse RNN, beside statsmodels' AIC/BIC (layer L5).

:func:`select_ar_order` fits a :class:`~bsdl.SparseRNN` whose inputs are the last
``max_lag`` values, reads the selected lags off the surviving input connections, and runs
:func:`statsmodels.tsa.ar_model.ar_select_order` on the same series for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bsdl._series import check_series
from bsdl._validation import check_in_options, check_positive_int
from bsdl.models import SparseRNN
from bsdl.summary import Summary

__all__ = ["select_ar_order", "ARSelectionResult"]


@dataclass
class ARSelectionResult:
    """Lags chosen by the sparse RNN and by statsmodels' information criteria.

    Attributes
    ----------
    selected_lags : ndarray of int
        1-based lags kept by the sparse RNN.
    ar_order : int
        Largest selected lag (0 if none).
    inclusion_probabilities : pandas.Series
        Per lag, the largest posterior inclusion probability of its input weights.
    restarts : pandas.DataFrame
        One row per restart: seed, loss, non-zero weights, BIC, evidence, its selected
        lags and whether it was chosen.
    aic_lags, bic_lags : ndarray of int
        Lags of ``ar_select_order(..., ic="aic" / "bic")`` (an order ``p`` gives ``1..p``).
    aic_order, bic_order : int
    max_lag : int
    """

    selected_lags: np.ndarray
    ar_order: int
    inclusion_probabilities: pd.Series
    restarts: pd.DataFrame
    aic_lags: np.ndarray
    bic_lags: np.ndarray
    max_lag: int
    aic_order: int = field(init=False)
    bic_order: int = field(init=False)

    def __post_init__(self) -> None:
        self.aic_order = int(self.aic_lags.max()) if self.aic_lags.size else 0
        self.bic_order = int(self.bic_lags.max()) if self.bic_lags.size else 0

    def to_frame(self) -> pd.DataFrame:
        """One row per method: its lags and order."""

        def fmt(lags):
            return ", ".join(map(str, lags)) or "none"

        return pd.DataFrame(
            {
                "lags": [fmt(self.selected_lags), fmt(self.aic_lags), fmt(self.bic_lags)],
                "order": [self.ar_order, self.aic_order, self.bic_order],
            },
            index=pd.Index(["bsdl SparseRNN", "statsmodels AIC", "statsmodels BIC"], name="method"),
        )

    def summary(self) -> Summary:
        summary = Summary(
            "AR order selection",
            [[("Candidate lags:", f"1..{self.max_lag}"), ("bsdl AR order:", self.ar_order)]],
        )
        summary.add_table(self.to_frame(), title="Selected lags")
        summary.add_table(self.inclusion_probabilities.to_frame(), title="Inclusion")
        return summary

    def __repr__(self) -> str:
        return (
            f"ARSelectionResult(selected_lags={self.selected_lags.tolist()}, "
            f"ar_order={self.ar_order}, aic_order={self.aic_order}, bic_order={self.bic_order})"
        )


def select_ar_order(
    series,
    max_lag: int = 10,
    *,
    n_restarts: int = 3,
    trend: str = "c",
    random_state=None,
    **rnn_params,
) -> ARSelectionResult:
    """Select the autoregressive lags of ``series`` with a sparse RNN.

    Parameters
    ----------
    series : array-like or pandas Series
        Univariate series (see :meth:`bsdl.SparseRNN.fit`).
    max_lag : int, default 10
        Largest candidate lag (the RNN's ``lags``; statsmodels' ``maxlag``).
    n_restarts : int, default 3
        Restarts of the RNN; the one with the smallest BIC is kept. With the default
        prior the three restarts also use three spike scales (see
        :class:`~bsdl.SparseRNN`'s ``prior``), so BIC chooses ``sigma0`` too.
    trend : {"n", "c", "t", "ct"}, default "c"
        Deterministic terms of statsmodels' AR comparison models.
    random_state : int, optional
    **rnn_params
        Other :class:`~bsdl.SparseRNN` parameters (``cell``, ``window``, ``prior``, ...).

    Returns
    -------
    ARSelectionResult

    Examples
    --------
    >>> from bsdl.datasets import make_ar
    >>> from bsdl.selection import select_ar_order
    >>> y = make_ar(500, {1: 0.6, 2: -0.3}, random_state=0)
    >>> res = select_ar_order(y, max_lag=4, n_restarts=1, n_epochs=40, random_state=0)
    >>> res.bic_order
    2
    >>> res.to_frame().columns.tolist()
    ['lags', 'order']
    """
    from statsmodels.tsa.ar_model import ar_select_order

    max_lag = check_positive_int(max_lag, "max_lag")
    trend = check_in_options(trend, "trend", ["n", "c", "t", "ct"])
    model = SparseRNN(
        lags=max_lag, n_restarts=n_restarts, random_state=random_state, **rnn_params
    ).fit(series)
    y, _, _ = check_series(series, "series", missing=model.missing)  # as the model saw it
    ic_lags = {}
    for ic in ("aic", "bic"):
        lags = ar_select_order(y, maxlag=max_lag, ic=ic, trend=trend).ar_lags
        ic_lags[ic] = np.asarray(lags if lags is not None else [], dtype=int)
    return ARSelectionResult(
        selected_lags=model.selected_lags_.copy(),
        ar_order=model.ar_order_,
        inclusion_probabilities=pd.Series(
            model.inclusion_probabilities_,
            index=pd.RangeIndex(1, max_lag + 1, name="lag"),
            name="inclusion probability",
        ),
        restarts=model.restarts_.copy(),
        aic_lags=ic_lags["aic"],
        bic_lags=ic_lags["bic"],
        max_lag=max_lag,
    )
