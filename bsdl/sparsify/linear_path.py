"""The linear path of a network chosen by BIC, jointly with its nonlinear part (layer L2).

A network with a *linear path* computes ``f(x) = g(x) + x @ w + b``: a bias-free linear map
``w`` of (some of) its inputs and a level ``b`` beside a nonlinear part ``g`` (the skip path
of :class:`~bsdl.nn.LagRNN` and :class:`~bsdl.nn.LagTransformer`). Prior-annealed training
selects ``w`` through the spike-and-slab threshold, which in finite samples drops weak but
real linear effects (a weight inside the spike is pulled towards zero by a ridge of about
``sigma^2 / (n sigma0^2)``; BENCHMARKS.md, "Lag selection power"). Given ``g``, however, the
best linear path of every subset ``S`` of inputs is a least-squares problem in closed form:
:func:`choose_linear_path` profiles ``w_S`` and ``b`` on the partial residual
``u = y - g(x)`` and chooses ``S`` by BIC, over all subsets (at most ``max_exhaustive``
inputs) or by greedy add-or-drop moves. It then removes groups of the nonlinear part (hidden
units, input columns, the recurrence, or all of it) one at a time while that lowers the BIC
of the *re-chosen* linear path, so a unit that a better linear path makes redundant goes.

The criterion is BIC, ``n log(RSS / n) + k log n`` with ``k`` the surviving weights and the
level. BIC is consistent for a finite family of candidate models that contains the true
one: leaving out a real effect costs order ``n`` in ``n log RSS``, a spurious one gains
only order ``1`` in fit against ``log n`` in penalty, so the true support is chosen with
probability tending to one. Among the linear paths this is exactly statsmodels' global
subset search (``ar_select_order(..., ic="bic", glob=True)``) on the partial residual.

Nothing here names a parameter of a particular network: the caller names the linear weight
and the level, gives the design ``x``, the targets ``y`` and the network's prediction.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from torch import nn

from bsdl.nn.structure import Group, Masks
from bsdl.sparsify.bic import log_choose

__all__ = [
    "LinearPathChoice",
    "choose_linear_path",
    "linear_path_bic",
    "linear_path_fit",
    "nonlinear_groups",
    "rows_needed",
]


class _SubsetBIC:
    """(Extended) BIC of every subset of the design's columns with the level, through the
    Gram matrix.

    ``x`` ``(n, p)``; for a subset ``S`` the least-squares fit of ``u`` on ``x_S`` and a
    constant gives ``RSS_S``, and ``BIC(S) = n log(RSS_S / n) + (k_rest + |S| + 1) log n
    + 2 gamma log C(p, |S|)`` (up to a constant that is the same for every subset and every
    ``k_rest``). ``gamma = 0`` is BIC; ``gamma > 0`` is Chen & Chen's (2008) extended BIC,
    whose extra term pays for searching among ``C(p, |S|)`` subsets of one size.
    """

    def __init__(self, x: np.ndarray, gamma: float = 0.0) -> None:
        self.n, self.p = x.shape
        self.z = np.column_stack([x, np.ones(self.n)])
        self.gram = self.z.T @ self.z
        self.log_n = math.log(self.n)
        self.gamma = float(gamma)
        self.log_choose = log_choose(self.p, np.arange(self.p + 1))  # k = 0..p

    def fit(self, cu: np.ndarray, uu: float, subset: tuple[int, ...]):
        cols = [*subset, self.p]
        g = self.gram[np.ix_(cols, cols)]
        coef = np.linalg.lstsq(g, cu[cols], rcond=None)[0]
        return max(uu - float(cu[cols] @ coef), 1e-300 * max(uu, 1.0)), coef

    def penalty(self, k_rest: int, size: int) -> float:
        return (k_rest + size + 1) * self.log_n + 2.0 * self.gamma * self.log_choose[size]

    def _best_add(self, cu: np.ndarray, uu: float, subset: tuple[int, ...]):
        """``(rss, j)``: the column whose addition to ``subset`` lowers the RSS the most,
        for all candidates at once (the partial-regression update of the RSS); None when
        no column is left or every candidate is collinear with the subset."""
        cols = [*subset, self.p]
        g = self.gram[np.ix_(cols, cols)]
        ginv = np.linalg.pinv(g)
        a = self.gram[:, cols]  # (p + 1, |S| + 1)
        coef = ginv @ cu[cols]
        rss = max(uu - float(cu[cols] @ coef), 0.0)
        proj = a @ ginv
        num = cu - a @ coef
        den = np.diag(self.gram) - np.einsum("ij,ij->i", proj, a)
        gain = np.zeros(self.p + 1)
        ok = den > 1e-10 * np.maximum(np.diag(self.gram), 1e-300)
        gain[ok] = num[ok] ** 2 / den[ok]
        gain[cols] = -np.inf
        gain[self.p] = -np.inf
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]) or gain[j] <= 0:
            return None
        return max(rss - gain[j], 1e-300 * max(uu, 1.0)), j

    def best(self, u: np.ndarray, k_rest: int, start: tuple[int, ...], exhaustive: bool):
        """``(bic, subset, coef)`` of the best subset (``coef``: the subset's weights, then
        the level); all subsets, or greedy add-or-drop moves from ``start``."""
        cu, uu = self.z.T @ u, float(u @ u)

        def score_rss(rss: float, size: int) -> float:
            return self.n * math.log(rss / self.n) + self.penalty(k_rest, size)

        def score(subset: tuple[int, ...]) -> float:
            return score_rss(self.fit(cu, uu, subset)[0], len(subset))

        if exhaustive:
            subsets = itertools.chain.from_iterable(
                itertools.combinations(range(self.p), r) for r in range(self.p + 1)
            )
            bic, best = min(((score(s), s) for s in subsets), key=lambda t: t[0])
        else:
            best = tuple(sorted(int(j) for j in start))
            bic = score(best)
            while True:
                # the best single drop (few: one per chosen column) and the best single
                # add (all columns at once); the better of the two if it lowers the BIC
                moves = [(score(m), m) for m in (tuple(c for c in best if c != j) for j in best)]
                if len(best) + 2 < self.n:
                    add = self._best_add(cu, uu, best)
                    if add is not None:
                        grown = tuple(sorted((*best, add[1])))
                        moves.append((score_rss(add[0], len(grown)), grown))
                if not moves:
                    break
                cand = min(moves, key=lambda t: t[0])
                if cand[0] >= bic:
                    break
                bic, best = cand
        return bic, best, self.fit(cu, uu, best)[1]


@dataclass(frozen=True)
class LinearPathChoice:
    """What :func:`choose_linear_path` chose.

    Attributes
    ----------
    bic : float
        BIC of the chosen model before any refit (``n log(RSS / n) + k log n``, without the
        constant ``n (1 + log 2 pi)`` and on the scale of ``y``).
    linear_only_bic : float
        The same criterion for the best model with the whole nonlinear part removed: the
        linear-only alternative, chosen over the same subsets.
    linear_inputs : tuple of int
        Inputs of the chosen linear path (0-based).
    removed : tuple of str
        Labels of the nonlinear groups removed, in order.
    """

    bic: float
    linear_only_bic: float
    linear_inputs: tuple[int, ...]
    removed: tuple[str, ...]


def rows_needed(p: int, max_exhaustive: int = 12) -> int:
    """Rows the linear path's search needs for ``p`` inputs: the exhaustive search fits every
    subset and the largest needs ``n > p + 1`` rows; the greedy one stops growing a subset
    before it reaches ``n - 1`` columns.

    >>> rows_needed(5), rows_needed(400)
    (7, 3)
    """
    return p + 2 if p <= max_exhaustive else 3


def _check(x: torch.Tensor, y: torch.Tensor, max_exhaustive: int, gamma: float = 0.0) -> None:
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x must be (n, p) and y (n,) with the same n, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    if isinstance(max_exhaustive, bool) or not isinstance(max_exhaustive, Integral):
        raise TypeError(f"max_exhaustive must be an integer, got {max_exhaustive!r}")
    if max_exhaustive < 0:
        raise ValueError(f"max_exhaustive must be >= 0, got {max_exhaustive}")
    needed = rows_needed(x.shape[1], max_exhaustive)
    if x.shape[0] < needed:
        raise ValueError(
            f"x has {x.shape[0]} rows; at least {needed} are needed to profile the linear path"
        )
    if isinstance(gamma, bool) or not isinstance(gamma, Real) or not 0 <= gamma < math.inf:
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")


def linear_path_bic(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    *,
    max_exhaustive: int = 12,
    gamma: float = 0.0,
) -> tuple[float, tuple[int, ...]]:
    """BIC and columns of the best linear model of ``y`` on a subset of ``x``'s columns.

    The global subset search by BIC with an intercept (exhaustive up to ``max_exhaustive``
    columns, greedy add-or-drop from the empty set beyond). On the same points it chooses
    the lags that ``statsmodels``' ``ar_select_order(..., ic="bic", glob=True)`` chooses.
    ``gamma > 0`` adds Chen & Chen's (2008) term ``2 gamma log C(p, |S|)`` (extended BIC,
    consistent when ``p`` grows with ``n``, where BIC over-selects).

    Returns
    -------
    bic : float
        ``n log(RSS / n) + (|S| + 1) log n`` (plus the extended term).
    columns : tuple of int
        The chosen columns, 0-based.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 4))
    >>> y = 1.0 + 0.5 * x[:, 0] - 0.4 * x[:, 2] + rng.normal(size=300)
    >>> linear_path_bic(x, y)[1]
    (0, 2)
    """
    xt = torch.as_tensor(x, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    _check(xt, yt, max_exhaustive, gamma)
    search = _SubsetBIC(xt.numpy(), gamma)
    bic, best, _ = search.best(yt.numpy(), 0, (), search.p <= max_exhaustive)
    return float(bic), tuple(int(j) for j in best)


def linear_path_fit(
    x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray, columns
) -> tuple[np.ndarray, float]:
    """Least-squares weights of ``y`` on ``x``'s ``columns`` and a level.

    Returns
    -------
    weights : ndarray of shape (p,)
        The fitted weights at ``columns``, 0 elsewhere.
    level : float
        The intercept.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(12.0).reshape(6, 2) ** [1, 2]
    >>> w, b = linear_path_fit(x, 2.0 + 3.0 * x[:, 0], [0])
    >>> np.round(w, 6).tolist(), round(b, 6)
    ([3.0, 0.0], 2.0)
    """
    xt = np.asarray(torch.as_tensor(x, dtype=torch.float64))
    yt = np.asarray(torch.as_tensor(y, dtype=torch.float64))
    cols = sorted(int(j) for j in columns)
    if any(j < 0 or j >= xt.shape[1] for j in cols):
        raise ValueError(f"columns must lie in [0, {xt.shape[1]}), got {cols}")
    search = _SubsetBIC(xt)
    _, coef = search.fit(search.z.T @ yt, float(yt @ yt), tuple(cols))
    weights = np.zeros(xt.shape[1])
    weights[cols] = coef[:-1]
    return weights, float(coef[-1])


def nonlinear_groups(
    module: nn.Module, masks: Masks, linear: str, level: str, extra: list[Group] = ()
) -> list[Group]:
    """The groups of the nonlinear part that :func:`choose_linear_path` may remove: the
    network's ``prunable_groups()`` without their linear-path weights, then ``extra``
    (e.g. the recurrence), then the whole network (every weight but ``linear`` and
    ``level``) as the group ``"network"``."""
    groups: list[Group] = []
    for label, group in module.prunable_groups():
        group = {k: m for k, m in group.items() if k != linear}
        if group:
            groups.append((label, group))
    groups += list(extra)
    whole = {k: torch.ones_like(m) for k, m in masks.items() if k not in (linear, level)}
    groups.append(("network", whole))
    return groups


@torch.no_grad()
def choose_linear_path(
    module: nn.Module,
    masks: Masks,
    *,
    x: torch.Tensor,
    y: torch.Tensor,
    predict: Callable[[nn.Module], torch.Tensor],
    linear: str,
    level: str,
    groups: list[Group],
    max_exhaustive: int = 12,
    gamma: float = 0.0,
) -> tuple[Masks, LinearPathChoice]:
    """Choose the linear path by BIC, jointly with backward elimination of nonlinear groups.

    1. The partial residual ``u = y - (predict(module) - x @ w - b)`` of the nonlinear
       part; the linear weights ``w`` and the level ``b`` of every subset of inputs are
       profiled by least squares on it, and the subset of smallest BIC is chosen.
    2. Each group of ``groups`` that still holds a surviving weight is removed in turn
       (its weights set to zero), the linear path re-chosen for the new residual, and the
       removal that lowers that BIC the most is kept; repeated until none does.
    3. The chosen weights and level are written into the module and the linear weight's
       mask is replaced.

    Parameters
    ----------
    module : torch.nn.Module
        Network with ``masks`` applied; its parameters are modified in place.
    masks : dict of name -> bool tensor
        Not modified; the new masks are returned.
    x : Tensor of shape (n, p)
        The inputs of the linear path at the ``n`` points of the criterion.
    y : Tensor of shape (n,)
        The targets at those points.
    predict : callable
        ``predict(module)`` -> Tensor ``(n,)``, the module's output at those points.
    linear, level : str
        Names (in ``named_parameters()``) of the linear weight (``p`` entries) and of the
        level (one entry), which is never removed.
    groups : list of (label, masks)
        Groups of the nonlinear part that may be removed (they must not touch ``linear``
        or ``level``).
    max_exhaustive : int, default 12
        Search all ``2^p`` subsets when ``p`` is at most this; greedy add-or-drop moves
        (from the current linear path) beyond.
    gamma : float, default 0
        Extended-BIC parameter of the linear path's subsets (see :func:`linear_path_bic`):
        0 is BIC; a network with many inputs (more than about ``sqrt(n)``) needs
        ``gamma > 0`` for a consistent choice among them.

    Returns
    -------
    masks : dict of name -> bool tensor
    choice : LinearPathChoice

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> class Net(nn.Module):          # g(x) = v * tanh(a . x) plus a linear path
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.v = nn.Linear(3, 1, bias=False), nn.Linear(1, 1)
    ...         self.lin = nn.Linear(3, 1, bias=False)
    ...     def forward(self, x):
    ...         return (self.v(torch.tanh(self.a(x))) + self.lin(x)).squeeze(-1)
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(500, 3, generator=g)
    >>> y = 0.4 * x[:, 1] + 0.5 * torch.randn(500, generator=g)    # linear in x1 only
    >>> net = Net()
    >>> with torch.no_grad():                       # a weak unit, and no linear path
    ...     _ = net.a.weight.fill_(0.1); _ = net.v.weight.fill_(0.2); _ = net.lin.weight.zero_()
    >>> masks = {k: torch.ones_like(p, dtype=torch.bool) for k, p in net.named_parameters()}
    >>> unit = ("unit", {"a.weight": masks["a.weight"], "v.weight": masks["v.weight"]})
    >>> new, choice = choose_linear_path(
    ...     net, masks, x=x, y=y, predict=lambda m: m(x), linear="lin.weight", level="v.bias",
    ...     groups=[unit])
    >>> choice.linear_inputs, choice.removed
    ((1,), ('unit',))
    """
    params = dict(module.named_parameters())
    for name in (linear, level):
        if name not in params:
            raise ValueError(f"the module has no parameter named {name!r}")
    if params[level].numel() != 1:
        raise ValueError(f"level {level!r} must have one entry, got {params[level].numel()}")
    for label, group in groups:
        if linear in group or level in group:
            raise ValueError(f"group {label!r} touches the linear path or the level")
        unknown = sorted(set(group) - set(masks))
        if unknown:
            raise ValueError(f"group {label!r} names parameters without a mask: {unknown}")
    _check(x, y, max_exhaustive, gamma)
    w, b = params[linear], params[level]
    p = w.numel()
    if x.shape[1] != p:
        raise ValueError(f"x has {x.shape[1]} columns but {linear!r} has {p} weights")
    masks = {k: v.clone() for k, v in masks.items()}
    x64 = x.double()
    xn, yn = x64.cpu().numpy(), y.double().cpu().numpy()
    search = _SubsetBIC(xn, gamma)
    exhaustive = p <= max_exhaustive

    def residual() -> np.ndarray:
        g = predict(module).double() - x64 @ w.reshape(-1).double() - b.double()
        return yn - g.cpu().numpy()

    def k_rest() -> int:
        return sum(int(m.sum()) for k, m in masks.items() if k not in (linear, level))

    current = tuple(int(j) for j in np.flatnonzero(masks[linear].reshape(-1).cpu().numpy()))
    bic, best, coef = search.best(residual(), k_rest(), current, exhaustive)
    removed: list[str] = []
    while True:
        trial = None
        for label, group in groups:
            live = {k: group[k].to(masks[k].device) & masks[k] for k in group}
            k_live = sum(int(m.sum()) for m in live.values())
            if k_live == 0:
                continue
            saved = {k: params[k][m].clone() for k, m in live.items() if m.any()}
            for k in saved:
                params[k][live[k]] = 0.0
            u = residual()
            for k, values in saved.items():
                params[k][live[k]] = values
            result = search.best(u, k_rest() - k_live, best, exhaustive)
            if result[0] < bic and (trial is None or result[0] < trial[0][0]):
                trial = (result, live, label)
        if trial is None:
            break
        (bic, best, coef), live, label = trial
        for k, m in live.items():
            masks[k] &= ~m
            params[k][m] = 0.0
        removed.append(label)
    keep = torch.zeros(p, dtype=torch.bool, device=w.device)
    keep[list(best)] = True
    new_w = torch.zeros(p, dtype=torch.float64)
    new_w[list(best)] = torch.as_tensor(coef[:-1], dtype=torch.float64)
    w.copy_(new_w.reshape(w.shape).to(w))
    b.fill_(float(coef[-1]))
    masks[linear] = keep.reshape(w.shape)
    linear_only = search.best(yn, 0, best, exhaustive)[0]
    return masks, LinearPathChoice(
        bic=float(bic),
        linear_only_bic=float(linear_only),
        linear_inputs=tuple(int(j) for j in best),
        removed=tuple(removed),
    )
