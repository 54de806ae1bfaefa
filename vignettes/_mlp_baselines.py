"""Two neural baselines for vignette 01: LassoNet (selection) and laplace-torch (intervals).

Both packages are optional (the ``bench`` extra; laplace-torch installs with ``--no-deps``,
see setup.cfg) and imported lazily: :func:`missing` names the ones that are not installed,
and the vignette skips those baselines with a note.

* **LassoNet** (Lemhadri et al., JMLR 2021): ``lassonet.LassoNetRegressorCV`` (5-fold CV over
  its lambda path) with the hidden sizes of bsdl's network, on standardised inputs and
  response (LassoNet does not standardise). Selected inputs: ``best_selected_``.
* **laplace-torch** (Daxberger et al., NeurIPS 2021): a dense MLP with bsdl's hidden sizes
  and activation, trained with Adam and early stopping on a 10 % validation split; then
  ``Laplace(model, "regression", subset_of_weights="all")`` with the prior precision and
  the noise sd fitted by maximising the Laplace marginal likelihood (the package's
  regression example), and the GLM predictive ``f_var + sigma_noise^2`` for the intervals.
  The Hessian is ``"full"`` when the network has at most ``FULL_HESSIAN_MAX`` weights,
  else ``"kron"`` (a full Hessian of p = 1000 inputs' 16k weights does not fit a
  single-core run).

Each fitter seeds torch inside :func:`torch.random.fork_rng`, so the global RNG state of the
vignette is left as it was (LassoNet's ``torch_seed`` calls ``torch.manual_seed``).
"""

from __future__ import annotations

import importlib.util
import time
import warnings

import numpy as np
import torch
from scipy.stats import norm

PACKAGES = {"LassoNet": "lassonet", "laplace-torch": "laplace"}
FULL_HESSIAN_MAX = 2000  # weights; above it the Kronecker-factored Hessian
HYPER_STEPS = 200  # Adam steps (lr 0.1) on log prior precision and log noise sd


def missing() -> dict[str, str]:
    """``{method: package}`` for the baselines whose package is not installed."""
    return {m: pkg for m, pkg in PACKAGES.items() if importlib.util.find_spec(pkg) is None}


def _standardise(X, y, X_test):
    mx, sx = X.mean(axis=0), X.std(axis=0)
    sx = np.where(sx > 0, sx, 1.0)
    my, sy = float(y.mean()), float(y.std())
    return (X - mx) / sx, (y - my) / sy, (X_test - mx) / sx, my, sy


def fit_lassonet(X, y, X_test, y_test, rep: int, hidden, settings: dict) -> dict:
    """LassoNetRegressorCV on standardised data; ``settings`` are extra constructor args."""
    from lassonet import LassoNetRegressorCV

    Xs, ys, Xts, my, sy = _standardise(X, y, X_test)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LassoNetRegressorCV(
            hidden_dims=tuple(hidden),
            verbose=0,
            random_state=rep,
            torch_seed=rep,
            device=torch.device("cpu"),
            **settings,
        )
        model.fit(Xs, ys)
    seconds = time.perf_counter() - t0
    selected = np.flatnonzero(np.asarray(model.best_selected_.cpu()))
    pred = np.asarray(model.predict(Xts), dtype=float).reshape(-1) * sy + my
    return dict(
        selected=selected,
        MSE=float(np.mean((pred - y_test) ** 2)),
        seconds=seconds,
        detail=f"lambda={model.best_lambda_:.3g}",
    )


def _dense_mlp(p: int, hidden, activation: str) -> torch.nn.Module:
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    layers, width = [], p
    for h in hidden:
        layers += [torch.nn.Linear(width, h), act()]
        width = h
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


def _train_map(model, X, y, generator, max_epochs: int, patience: int = 10) -> int:
    """Adam (lr 1e-3, batches of 128) on the MSE with early stopping on 10 % of the data;
    the weights of the best validation epoch are kept. Returns the epochs run."""
    n = X.shape[0]
    perm = torch.randperm(n, generator=generator)
    n_val = max(n // 10, 1)
    val, train = perm[:n_val], perm[n_val:]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state, bad, epochs = np.inf, None, 0, 0
    while epochs < max_epochs:
        epochs += 1
        for idx in train[torch.randperm(len(train), generator=generator)].split(128):
            opt.zero_grad()
            (model(X[idx]) - y[idx]).pow(2).mean().backward()
            opt.step()
        with torch.no_grad():
            v = float((model(X[val]) - y[val]).pow(2).mean())
        if v < best - 1e-4:
            best, bad = v, 0
            best_state = {k: w.clone() for k, w in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    model.load_state_dict(best_state)
    return epochs


def fit_laplace(
    X,
    y,
    X_test,
    y_test,
    rep: int,
    hidden,
    activation: str,
    alpha: float,
    max_epochs: int = 500,
    hyper_steps: int = HYPER_STEPS,
) -> dict:
    """Dense MLP + laplace-torch GLM predictive with fitted prior precision and noise."""
    from laplace import Laplace

    Xs, ys, Xts, my, sy = _standardise(X, y, X_test)
    x = torch.as_tensor(Xs, dtype=torch.float32)
    yt = torch.as_tensor(ys, dtype=torch.float32).reshape(-1, 1)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(rep)  # the weights' initialisation (inside fork_rng)
        model = _dense_mlp(X.shape[1], hidden, activation)
        epochs = _train_map(model, x, yt, torch.Generator().manual_seed(rep), max_epochs)
        n_weights = sum(w.numel() for w in model.parameters())
        structure = "full" if n_weights <= FULL_HESSIAN_MAX else "kron"
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, yt), batch_size=256)
        la = Laplace(model, "regression", subset_of_weights="all", hessian_structure=structure)
        la.fit(loader)
        log_prior = torch.zeros(1, requires_grad=True)
        log_sigma = torch.zeros(1, requires_grad=True)
        hyper = torch.optim.Adam([log_prior, log_sigma], lr=1e-1)
        for _ in range(hyper_steps):
            hyper.zero_grad()
            (-la.log_marginal_likelihood(log_prior.exp(), log_sigma.exp())).backward()
            hyper.step()
        seconds = time.perf_counter() - t0
        f_mu, f_var = la(torch.as_tensor(Xts, dtype=torch.float32), pred_type="glm")
    mean = f_mu.detach().reshape(-1).numpy().astype(float) * sy + my
    sigma = float(la.sigma_noise) * sy
    sd = np.sqrt(f_var.detach().reshape(-1).numpy().astype(float) * sy**2 + sigma**2)
    z = float(norm.ppf(1 - alpha / 2))  # laplace-torch's predictive is Gaussian
    return dict(
        MSE=float(np.mean((mean - y_test) ** 2)),
        coverage=float(np.mean(np.abs(y_test - mean) <= z * sd)),
        width=float(np.mean(2 * z * sd)),
        sigma=sigma,
        seconds=seconds,
        detail=f"{structure} Hessian, {n_weights} weights, {epochs} epochs",
    )


def methods_text(config: dict, methods: list[str]) -> str:
    """The report's description of the LassoNet and laplace-torch fits that ran."""
    parts = []
    extra = "".join(f", {k}={v!r}" for k, v in config["lassonet_kwargs"].items())
    if "LassoNet" in methods:
        parts.append(
            "**LassoNet** = `LassoNetRegressorCV(hidden_dims=(16, 8), random_state=r, "
            f"torch_seed=r{extra})` (5-fold CV over its lambda path unless `cv` is given) on "
            "standardised inputs and response, selected = `best_selected_`"
        )
    if "laplace-torch" in methods:
        parts.append(
            "**laplace-torch** = a dense 16-8 tanh MLP (Adam, batches of 128, early stopping "
            f"on 10 % of the data, at most {config['laplace_epochs']} epochs) with "
            "`Laplace(model, 'regression', subset_of_weights='all')` (full Hessian up to "
            f"{FULL_HESSIAN_MAX} weights, Kronecker-factored above; `results.csv` column "
            f"`detail`), prior precision and noise sd fitted by {config['laplace_hyper_steps']} "
            "Adam steps on the marginal likelihood, 95 % intervals from the GLM predictive "
            "with the fitted noise (selects nothing: NA)"
        )
    return ("; ".join(parts) + ".") if parts else ""
