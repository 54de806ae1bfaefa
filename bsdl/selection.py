"""Autoregressive-lag selection with a sparse network, beside statsmodels' AIC/BIC (layer L5).

:func:`select_ar_order` fits a sparse sequence forecaster (:class:`~bsdl.SparseRNN` by
default, or :class:`~bsdl.SparseTransformer`) whose inputs are the last ``max_lag``
values, reads the selected lags off the surviving input connections, and runs
:func:`statsmodels.tsa.ar_model.ar_select_order` on the same series for comparison: over
the contiguous orders ``1..p`` and, for up to 12 candidate lags by default, over every
subset of the lags (statsmodels' global search, ``glob=True``; see
:mod:`bsdl.baselines`), the linear method that can recover a lag set with gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from bsdl._series import check_series
from bsdl._validation import check_in_options, check_positive_int
from bsdl.baselines import ar_lag_search, resolve_global_search
from bsdl.models import SparseRNN, SparseTransformer
from bsdl.models.sequence import SequenceForecaster
from bsdl.summary import Summary

__all__ = ["select_ar_order", "ARSelectionResult", "MODELS"]

#: The sequence forecasters :func:`select_ar_order` fits by name (``model=``).
MODELS: dict[str, type[SequenceForecaster]] = {
    "rnn": SparseRNN,
    "transformer": SparseTransformer,
}


def _fmt(lags) -> str:
    return ", ".join(map(str, lags)) or "none"


@dataclass
class ARSelectionResult:
    """Lags chosen by the sparse network and by statsmodels' information criteria.

    Attributes
    ----------
    selected_lags : ndarray of int
        1-based lags kept by the sparse network (``model``).
    ar_order : int
        Largest selected lag (0 if none).
    inclusion_probabilities : pandas.Series
        Per lag, the largest posterior inclusion probability of its input weights.
    restarts : pandas.DataFrame
        One row per restart: seed, loss, non-zero weights, BIC, evidence, its selected
        lags and whether it was chosen.
    aic_lags, bic_lags : ndarray of int
        Lags of ``ar_select_order(..., ic="aic" / "bic")`` over the contiguous orders
        (an order ``p`` gives ``1..p``).
    max_lag : int
    global_aic_lags, global_bic_lags : ndarray of int or None
        Lags of ``ar_select_order(..., ic="aic" / "bic", glob=True)``: the best of all
        ``2**max_lag`` lag subsets. None when the global search did not run.
    global_search : bool
        Whether the global search ran.
    global_search_note : str
        Why it did not run (empty when it did).
    criteria : pandas.DataFrame
        statsmodels' criteria of every candidate, as in its ``AROrderSelectionResults``:
        one row per candidate lag set and search (``search`` "contiguous" or "global"),
        with ``lags`` (tuple), ``n_lags``, ``aic``, ``bic``, ``hqic``; sorted by BIC within
        each search.
    model : str
        Class name of the fitted network (``"SparseRNN"``, ``"SparseTransformer"``); the
        row of :meth:`to_frame` that holds its lags is ``"bsdl <model>"``.
    aic_order, bic_order : int
        Largest lag of ``aic_lags`` / ``bic_lags``.
    global_aic_order, global_bic_order : int or None
        Largest lag of the global choices (None when the search did not run).
    """

    selected_lags: np.ndarray
    ar_order: int
    inclusion_probabilities: pd.Series
    restarts: pd.DataFrame
    aic_lags: np.ndarray
    bic_lags: np.ndarray
    max_lag: int
    global_aic_lags: np.ndarray | None = None
    global_bic_lags: np.ndarray | None = None
    global_search: bool = False
    global_search_note: str = ""
    criteria: pd.DataFrame | None = None
    model: str = "SparseRNN"
    aic_order: int = field(init=False)
    bic_order: int = field(init=False)
    global_aic_order: int | None = field(init=False)
    global_bic_order: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.aic_order = int(self.aic_lags.max()) if self.aic_lags.size else 0
        self.bic_order = int(self.bic_lags.max()) if self.bic_lags.size else 0
        self.global_aic_order, self.global_bic_order = (
            None if lags is None else (int(lags.max()) if lags.size else 0)
            for lags in (self.global_aic_lags, self.global_bic_lags)
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per method: its lags and order.

        The rows "statsmodels global AIC" and "statsmodels global BIC" are there when the
        global search ran.
        """
        rows = {
            f"bsdl {self.model}": (self.selected_lags, self.ar_order),
            "statsmodels AIC": (self.aic_lags, self.aic_order),
            "statsmodels BIC": (self.bic_lags, self.bic_order),
        }
        if self.global_search:
            rows["statsmodels global AIC"] = (self.global_aic_lags, self.global_aic_order)
            rows["statsmodels global BIC"] = (self.global_bic_lags, self.global_bic_order)
        return pd.DataFrame(
            {
                "lags": [_fmt(lags) for lags, _ in rows.values()],
                "order": [order for _, order in rows.values()],
            },
            index=pd.Index(list(rows), name="method"),
        )

    def summary(self) -> Summary:
        search = "all subsets" if self.global_search else "not run"
        summary = Summary(
            "AR order selection",
            [
                [
                    ("Network:", self.model),
                    ("Candidate lags:", f"1..{self.max_lag}"),
                    ("bsdl AR order:", self.ar_order),
                    ("Global search:", search),
                ]
            ],
            notes=[self.global_search_note] if self.global_search_note else None,
        )
        summary.add_table(self.to_frame(), title="Selected lags")
        summary.add_table(self.inclusion_probabilities.to_frame(), title="Inclusion")
        return summary

    def __repr__(self) -> str:
        glob = (
            f", global_bic_lags={self.global_bic_lags.tolist()}"
            if self.global_bic_lags is not None
            else ""
        )
        return (
            f"ARSelectionResult(model={self.model!r}, "
            f"selected_lags={self.selected_lags.tolist()}, "
            f"ar_order={self.ar_order}, aic_order={self.aic_order}, "
            f"bic_order={self.bic_order}{glob})"
        )


def _resolve_model(model) -> SequenceForecaster:
    """A fresh, unfitted forecaster from ``model`` (a name in :data:`MODELS`, a class or an
    instance)."""
    if isinstance(model, str):
        name = check_in_options(model, "model", list(MODELS))
        return MODELS[name]()
    if isinstance(model, SequenceForecaster):
        return clone(model)
    if isinstance(model, type) and issubclass(model, SequenceForecaster):
        return model()
    what = f"the class {model.__name__}" if isinstance(model, type) else type(model).__name__
    raise TypeError(
        f"model must be one of {sorted(MODELS)}, a sequence forecaster class or an unfitted "
        f"instance (SparseRNN, SparseTransformer), got {what}"
    )


def select_ar_order(
    series,
    max_lag: int = 10,
    *,
    model="rnn",
    n_restarts: int = 3,
    trend: str = "c",
    global_search="auto",
    random_state=None,
    **model_params,
) -> ARSelectionResult:
    """Select the autoregressive lags of ``series`` with a sparse RNN or transformer.

    Beside the network's lags, statsmodels' :func:`~statsmodels.tsa.ar_model.ar_select_order`
    chooses, on the same series and with the same deterministic terms (``trend``), an
    order ``p`` (lags ``1..p``) by AIC and by BIC and, with the global search, the best
    lag *subset* by AIC and by BIC (``glob=True``). The subset search is the fair linear
    baseline when the true lags have gaps (e.g. ``{1, 3, 7}``), which an order never
    matches.

    Parameters
    ----------
    series : array-like or pandas Series
        Univariate series (see :meth:`bsdl.SparseRNN.fit`).
    max_lag : int, default 10
        Largest candidate lag (the network's ``lags``; statsmodels' ``maxlag``).
    model : {"rnn", "transformer"}, class or estimator, default "rnn"
        The sparse network whose surviving input connections select the lags:
        ``"rnn"`` a :class:`~bsdl.SparseRNN`, ``"transformer"`` a
        :class:`~bsdl.SparseTransformer` (:data:`MODELS`), each with its defaults; a
        sequence-forecaster class (the same with its defaults); or an unfitted
        :class:`~bsdl.SparseRNN` / :class:`~bsdl.SparseTransformer` instance as a
        template (it is cloned, not fitted in place). Either way ``max_lag`` (its
        ``lags``), ``n_restarts``, ``random_state`` and ``**model_params`` are set on the
        model that is fitted, so they win over the template's own values (as
        :func:`bsdl.compare.compare_intervals`' ``model_params`` win over its ``model``).
    n_restarts : int, default 3
        Restarts of the network; the one with the smallest BIC is kept. With the default
        prior the three restarts also use three spike scales (see
        :class:`~bsdl.SparseRNN`'s ``prior``), so BIC chooses ``sigma0`` too.
    trend : {"n", "c", "t", "ct"}, default "c"
        Deterministic terms of statsmodels' AR comparison models (contiguous and global).
    global_search : {"auto", True, False}, default "auto"
        statsmodels' search over all ``2**max_lag`` lag subsets (one least-squares fit
        each; about 1000 fits for 10 lags). ``"auto"`` runs it when
        ``max_lag <= 12`` (:data:`bsdl.baselines.GLOBAL_SEARCH_AUTO_MAX_LAG`) and says in
        ``global_search_note`` when it did not; ``True`` forces it up to ``max_lag = 16``
        (:data:`bsdl.baselines.GLOBAL_SEARCH_MAX_LAG`) and raises ``ValueError`` beyond;
        ``False`` skips it.
    random_state : int, optional
    **model_params
        Other parameters of the network (for the RNN ``cell``, ``hidden_size``,
        ``window``, ``prior``, ...; for the transformer ``d_model``, ``n_heads``, ...).

    Returns
    -------
    ARSelectionResult

    Raises
    ------
    ValueError
        Bad ``max_lag``, ``trend``, ``global_search`` or ``model`` name (before any
        fit), or ``global_search=True`` with ``max_lag > 16``.
    TypeError
        ``model`` is neither a name nor a sequence-forecaster class or instance, or
        ``**model_params`` holds ``lags`` or a parameter the network does not have
        (before any fit).

    Examples
    --------
    >>> from bsdl.datasets import make_ar
    >>> from bsdl.selection import select_ar_order
    >>> y = make_ar(500, {1: 0.6, 2: -0.3}, random_state=0)
    >>> res = select_ar_order(y, max_lag=4, n_restarts=1, n_epochs=40, random_state=0)
    >>> res.bic_order, res.global_search, len(res.criteria)  # 5 orders + 16 subsets
    (2, True, 21)
    >>> res.to_frame().columns.tolist()
    ['lags', 'order']
    >>> res.to_frame().index.tolist()[::4]
    ['bsdl SparseRNN', 'statsmodels global BIC']

    The same with a sparse transformer:

    >>> res = select_ar_order(
    ...     y, max_lag=4, model="transformer", n_restarts=1, n_epochs=40, random_state=0
    ... )
    >>> res.model, res.to_frame().index[0]
    ('SparseTransformer', 'bsdl SparseTransformer')
    """
    max_lag = check_positive_int(max_lag, "max_lag")
    trend = check_in_options(trend, "trend", ["n", "c", "t", "ct"])
    run_global, note = resolve_global_search(global_search, max_lag)
    model = _resolve_model(model)
    if "lags" in model_params:
        raise TypeError("select_ar_order sets the network's lags from max_lag; drop lags=")
    valid = model.get_params(deep=False)
    if unknown := sorted(set(model_params) - set(valid)):
        raise TypeError(
            f"{type(model).__name__} has no parameter(s) {unknown} (passed to "
            f"select_ar_order as **model_params); valid: {sorted(valid)}"
        )
    model.set_params(
        lags=max_lag, n_restarts=n_restarts, random_state=random_state, **model_params
    ).fit(series)
    y, _, _ = check_series(series, "series", missing=model.missing)  # as the model saw it
    searches = [ar_lag_search(y, max_lag, glob=False, trend=trend)]
    if run_global:
        searches.append(ar_lag_search(y, max_lag, glob=True, trend=trend))
    criteria = pd.concat([s.criteria.assign(search=s.search) for s in searches], ignore_index=True)[
        ["search", "lags", "n_lags", "aic", "bic", "hqic"]
    ]
    glob = searches[1] if run_global else None
    return ARSelectionResult(
        selected_lags=model.selected_lags_.copy(),
        ar_order=model.ar_order_,
        inclusion_probabilities=pd.Series(
            model.inclusion_probabilities_,
            index=pd.RangeIndex(1, max_lag + 1, name="lag"),
            name="inclusion probability",
        ),
        restarts=model.restarts_.copy(),
        aic_lags=searches[0].aic_lags,
        bic_lags=searches[0].bic_lags,
        max_lag=max_lag,
        global_aic_lags=None if glob is None else glob.aic_lags,
        global_bic_lags=None if glob is None else glob.bic_lags,
        global_search=run_global,
        global_search_note=note,
        criteria=criteria,
        model=type(model).__name__,
    )
