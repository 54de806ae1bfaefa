"""Lag-vector windows and the recursive forecast of the sequence forecasters (layer L4).

Time ``t`` of a (standardised) series ``z`` has the input vector

    ``[z_{t-1}, ..., z_{t-L}, x1_t, ..., x1_{t-L+1}, x2_t, ...]``

(``L = lags``; exogenous regressors enter at lags ``0 .. L-1``). A window ending at
``t`` is the ``k`` consecutive input vectors of times ``t-k+1 .. t``; the network's
output at the last step predicts ``z_t``. Training windows overlap by the burn-in ``b``
so that the scored steps (the last ``k-b`` of each window) tile the series exactly once.
"""

from __future__ import annotations

import warnings

import torch
from torch.func import functional_call, jacrev

from bsdl.intervals import selected_parameters
from bsdl.likelihoods import Gaussian

__all__ = [
    "lag_windows",
    "training_ends",
    "forecast_jacobians",
    "window_loss",
    "full_loss",
    "least_squares_start",
    "check_scored_points",
]


_GAUSSIAN = Gaussian()


def lag_windows(
    z: torch.Tensor, x: torch.Tensor | None, lags: int, window: int, ends: torch.Tensor
) -> torch.Tensor:
    """Windows ``(N, window, p)`` ending at the times ``ends`` (each ``>= lags + window - 1``)."""
    steps = torch.arange(window, device=z.device)
    tau = ends.reshape(-1, 1) - (window - 1) + steps  # (N, k) times inside each window
    shifts = torch.arange(1, lags + 1, device=z.device)
    feats = z[tau.unsqueeze(-1) - shifts]  # (N, k, L): lags 1..L
    if x is None:
        return feats
    xl = x[tau.unsqueeze(-1) - shifts + 1]  # (N, k, L, m): lags 0..L-1
    xl = xl.transpose(-1, -2).reshape(tau.shape[0], window, -1)
    return torch.cat([feats, xl], dim=-1)


def training_ends(n: int, lags: int, window: int, burn_in: int) -> torch.Tensor:
    """End times of the training windows: the last one ends at ``n - 1``.

    Consecutive windows are ``window - burn_in`` apart, so each time from the first
    scored one to ``n - 1`` is scored exactly once.
    """
    stride = window - burn_in
    first = lags + window - 1
    count = (n - 1 - first) // stride + 1
    return (n - 1) - stride * torch.arange(count - 1, -1, -1)


def window_loss(module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``0.5 * MSE`` over the scored (last ``targets.shape[1]``) steps of each window."""
    return _GAUSSIAN.loss(module(inputs)[:, -targets.shape[1] :], targets)


def last_steps(out: torch.Tensor, count: int) -> torch.Tensor:
    """One window's outputs ``(k,)`` -> its last ``count`` (the scored or predicted ones)."""
    return out[-count:]


def forecast_path(
    net,
    z: torch.Tensor,
    x: torch.Tensor | None,
    lags: int,
    window: int,
    steps: int,
    shocks: torch.Tensor,
) -> torch.Tensor:
    """Recursive ``steps``-ahead forecast beyond the end of ``z``.

    ``x`` (if any) covers the history and the ``steps`` future times. ``shocks[s]`` is
    added to forecast ``s`` before it is fed back, so the derivative of the path with
    respect to ``shocks`` propagates future innovations (zero shocks: the plug-in path).
    """
    n = z.shape[0]
    path = z
    preds = []
    for s in range(steps):
        end = torch.tensor([n + s], device=z.device)
        w = lag_windows(path, x, lags, window, end)
        pred = net(w)[0, -1]
        preds.append(pred)
        path = torch.cat([path, (pred + shocks[s]).reshape(1)])
    return torch.stack(preds)


def forecast_jacobians(
    module,
    index: dict,
    z: torch.Tensor,
    x: torch.Tensor | None,
    lags: int,
    window: int,
    steps: int,
    *,
    jacobians: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Forecast path ``(h,)``, its Jacobian in the selected weights ``(h, d)`` and in the
    future innovations ``(h, h)`` (strictly lower triangular). With ``jacobians=False``
    only the path is computed (both Jacobians are None)."""
    theta, params_of = selected_parameters(module, index)
    history = z[-(lags + window - 1) :]
    xs = None if x is None else x[-(lags + window - 1 + steps) :]

    def path(th: torch.Tensor, shocks: torch.Tensor) -> torch.Tensor:
        params = params_of(th)

        def net(w):
            return functional_call(module, params, (w,))

        return forecast_path(net, history, xs, lags, window, steps, shocks)

    shocks = torch.zeros(steps, device=z.device, dtype=z.dtype)
    with torch.no_grad():
        mean = path(theta, shocks)
    if not jacobians:
        return mean, None, None
    jac_theta, jac_shock = jacrev(path, argnums=(0, 1))(theta, shocks)
    return mean, jac_theta.detach(), jac_shock.detach()


def least_squares_start(inputs: torch.Tensor, targets: torch.Tensor, burn_in: int) -> torch.Tensor:
    """Least-squares coefficients of the scored targets on their lag vectors, then the
    intercept (a vector of ``n_inputs + 1``).

    Starting the linear skip path there puts every lag with a real linear effect outside
    the spike from the first epoch: otherwise the signal is first spread over many small
    network weights, each of which the spike then prunes (a local trap of MAP training).
    """
    x = inputs[:, burn_in:, :].reshape(-1, inputs.shape[-1]).double()
    x = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
    coef = torch.linalg.lstsq(x.cpu(), targets.reshape(-1, 1).double().cpu()).solution
    coef = torch.nan_to_num(coef[:, 0], nan=0.0, posinf=0.0, neginf=0.0)
    return coef.to(dtype=inputs.dtype, device=inputs.device)


def full_loss(inputs, targets, module):
    """:func:`window_loss` with the data first (``partial(full_loss, inputs, targets)``)."""
    return window_loss(module, inputs, targets)


def check_scored_points(n_scored: int, n_inputs: int) -> None:
    """Refuse a series whose scored points cannot pin down even the linear start.

    The skip path starts at the least-squares regression of the scored points on the
    ``n_inputs`` lag inputs and a level; with ``n_inputs + 1`` points or fewer it
    interpolates them and sigma, BIC and every interval would be meaningless. Below three
    points per coefficient the fit runs, with a warning.
    """
    coefficients = n_inputs + 1
    advice = "use a longer series, fewer lags or a shorter window"
    if n_scored <= coefficients:
        raise ValueError(
            f"series is too short: only {n_scored} time points are scored (after the first "
            f"lags + burn_in), not more than the {coefficients} coefficients of the linear "
            f"start ({n_inputs} lag inputs and the level); {advice}"
        )
    if n_scored < 3 * coefficients:
        warnings.warn(
            f"series is short: {n_scored} scored time points for {n_inputs} lag inputs; "
            f"sigma_, the selected lags and the intervals are unreliable ({advice})",
            UserWarning,
            stacklevel=3,
        )
