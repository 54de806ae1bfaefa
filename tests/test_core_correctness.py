"""Statistical correctness of the core (issue 12): each test checks an independent answer.

Closed forms (ordinary least squares, Bayesian linear regression, statsmodels' OLS
log-likelihood, scipy's pseudo-inverse) or a structural invariant (simplification leaves
the function unchanged), never a re-implementation of bsdl's own update.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import bsdl
from bsdl import MixtureGaussianPrior, SparseMLPRegressor
from bsdl.exceptions import SingularFisherWarning, SmallSampleWarning
from bsdl.inference import ConstantSchedule, TrainConfig
from bsdl.inference.flat import FlatParameters
from bsdl.inference.kernels import SGHMC
from bsdl.inference.pipeline import FitSpec, RestartResult
from bsdl.intervals import SubnetworkCovariance, delta_variance, per_sample_jacobian
from bsdl.nn import MLP
from bsdl.nn.mlp import simplify_chain
from bsdl.sparsify import apply_masks, get_masks


# ----------------------------------------------------------------------------- helpers
def _linear_problem(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = rng.standard_normal(p)
    y = X @ beta + rng.standard_normal(n)
    return X, y


def _ols_module(X: np.ndarray, y: np.ndarray) -> nn.Module:
    """``nn.Linear`` without bias holding the least-squares coefficients (float32)."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    lin = nn.Linear(X.shape[1], 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(beta, dtype=torch.float32).reshape(1, -1))
    return lin.eval()


def _mse_half(module, x, y):
    return 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()


def _linear_fit_state(X, y, prior):
    """A SparseMLPRegressor's criteria/covariance path run on a linear network at OLS."""
    module = _ols_module(X, y)
    inputs = torch.as_tensor(X, dtype=torch.float32)
    targets = torch.as_tensor(y, dtype=torch.float32)
    with torch.no_grad():
        loss = float(_mse_half(module, inputs, targets))
    spec = FitSpec(
        build_module=lambda: None,
        loss_fn=_mse_half,
        full_loss=lambda m: _mse_half(m, inputs, targets),
        inputs=inputs,
        targets=targets,
        config=TrainConfig(n_epochs=1, batch_size=len(y), lr=1e-3, prior=prior),
        refit_epochs=0,
        refit_optimizer="adam",
        device=torch.device("cpu"),
    )
    p = X.shape[1]
    r = RestartResult(
        seed=0, state_dict={}, inclusion={}, history=[], loss=loss,
        n_nonzero=p, n_params=p, prior=prior, n_free=0,
    )  # fmt: skip
    est = SparseMLPRegressor()
    est.y_scale_ = 1.0  # the data are taken as already on the model's scale
    return est, module, spec, r


# ----------------------------------------------------------------------------- defect 7
def test_laplace_evidence_matches_bayesian_linear_regression():
    # With a Gaussian slab prior N(0, sigma1^2 I) on all k weights and the noise at its
    # maximum-likelihood value s2 = RSS/n, the evidence of a linear model is closed form:
    # log N(y; 0, s2 I + sigma1^2 X X^T), plus k log(lambda) for the structure prior.
    # The Laplace approximation around the least-squares fit differs from it only by
    # 0.5 g^T H^-1 g with g = theta/sigma1^2 (the prior gradient), about 1e-4 nats here.
    # Mixing RSS/(n-k) into the Hessian (defect 7) shifts it by k/2 log(n/(n-k)) = 2.5 nats.
    n, k = 60, 16
    X, y = _linear_problem(n, k)
    prior = MixtureGaussianPrior(lambda_=0.05, sigma0=1e-3, sigma1=10.0)
    est, module, spec, r = _linear_fit_state(X, y, prior)
    criteria, _ = est._criteria(module, r, spec, n)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = float(np.sum((y - X @ beta) ** 2)) / n
    cov = s2 * np.eye(n) + prior.sigma1**2 * X @ X.T
    sign, logdet = np.linalg.slogdet(cov)
    exact = -0.5 * (n * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y))
    exact += k * math.log(prior.lambda_)
    assert -criteria["neg_log_evidence"] == pytest.approx(exact, abs=0.01)


def test_bic_is_on_the_original_scale_and_matches_statsmodels_ols():
    # An intercept-only fit (every weight pruned, the free level kept) is the Gaussian
    # model y ~ N(mu, s2): its BIC must equal statsmodels' OLS on a constant,
    # -2 llf + log(n) * 1, on the original scale of y (not the standardised one).
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = 5.0 + 3.0 * rng.standard_normal(200)
    strong = MixtureGaussianPrior(lambda_=1e-12, sigma0=0.5, sigma1=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bsdl.exceptions.SparsityWarning)
        m = SparseMLPRegressor((3,), prior=strong, n_epochs=60, random_state=0).fit(X, y)
    assert m.n_nonzero_ == 1  # only the level
    ols = sm.OLS(y, np.ones_like(y)).fit()
    assert m.bic_ == pytest.approx(-2 * ols.llf + math.log(200) * 1, rel=1e-5)


def test_bic_and_evidence_shift_with_the_scale_of_y():
    # Rescaling y by c changes the Gaussian log-likelihood by -n log c and nothing else
    # (the fit on the standardised scale is the same): BIC moves by 2 n log c.
    X, y = _linear_problem(300, 4)
    kw = dict(hidden_layer_sizes=(3,), n_epochs=40, random_state=0)
    a = SparseMLPRegressor(**kw).fit(X, y)
    b = SparseMLPRegressor(**kw).fit(X, 10.0 * y)
    assert b.bic_ - a.bic_ == pytest.approx(2 * 300 * math.log(10.0), abs=1e-3)
    assert a.log_evidence_ - b.log_evidence_ == pytest.approx(300 * math.log(10.0), abs=1e-3)


# ----------------------------------------------------------------------------- covariance
def test_linear_module_covariance_equals_ols_covariance():
    # For f(x) = x^T beta the delta-method covariance must be s2 (X^T X)^-1 exactly, with
    # the unbiased s2 = RSS / (n - k) of ordinary least squares.
    n, k = 80, 5
    X, y = _linear_problem(n, k, seed=2)
    prior = MixtureGaussianPrior(lambda_=0.1, sigma0=1e-3, sigma1=1.0)
    est, module, spec, r = _linear_fit_state(X, y, prior)
    _, laplace = est._criteria(module, r, spec, n)
    est._set_covariance(module, spec, n, laplace)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = float(np.sum((y - X @ beta) ** 2)) / (n - k)
    expected = s2 * np.linalg.inv(X.T @ X)
    np.testing.assert_allclose(est._covariance.numpy(), expected, rtol=1e-4)
    assert est.df_resid_ == n - k
    assert est._sigma_std == pytest.approx(math.sqrt(s2), rel=1e-5)


# ----------------------------------------------------------------------------- defect 3
def test_fully_pruned_mlp_has_the_standard_error_of_a_mean():
    # Every weight under the prior pruned: the network is its free level, the mean of y.
    # The confidence se must be sigma / sqrt(n) (it was 0 when the level could be pruned).
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, 3))
    y = 2.0 + rng.standard_normal(150)
    strong = MixtureGaussianPrior(lambda_=1e-12, sigma0=0.5, sigma1=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bsdl.exceptions.SparsityWarning)
        m = SparseMLPRegressor((4,), prior=strong, n_epochs=60, random_state=0).fit(X, y)
    assert m.selected_features_.size == 0
    assert m.n_nonzero_ == 1
    pi = m.predict_interval(X[:5], kind="confidence")
    np.testing.assert_allclose(pi.se, m.sigma_ / math.sqrt(150), rtol=1e-3)
    assert m.sigma_ == pytest.approx(np.std(y, ddof=1), rel=1e-3)
    # the refit (Adam, a few epochs) ends near the mean: within 0.2 of its se
    np.testing.assert_allclose(pi.mean, y.mean(), atol=0.2 * m.sigma_ / math.sqrt(150))


def test_mlp_readout_bias_is_outside_the_prior():
    net = MLP(3, (4, 2), 1)
    assert net.unpenalized == ("linears.2.bias",)


def test_mlp_readout_bias_gets_no_prior_gradient_during_annealing():
    # In the engine, every step's gradient is the data gradient plus the prior term on the
    # penalised weights. The read-out bias (here 3, far in the slab: its prior term would be
    # about prior_weight * noise_var * 3 / n) must get the data gradient only, recomputed
    # here independently with autograd; a hidden bias, penalised, must differ from its data
    # gradient once the prior weight is positive (so the comparison can detect a prior term).
    from bsdl.inference import Callback, PriorAnnealing, train

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, generator=g), 3.0 + torch.randn(40, generator=g)
    net = MLP(3, (4,), 1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        net.linears[0].bias.fill_(2.0)
        net.linears[1].bias.fill_(3.0)

    def loss_fn(m, xb, yb):
        return 0.5 * (m(xb).squeeze(-1) - yb).pow(2).mean()

    class Compare(Callback):
        def on_train_begin(self, state):
            self.rows = []

        def after_backward(self, state):
            data = torch.autograd.grad(loss_fn(state.module, x, y), list(net.parameters()))
            w = state.schedule_state.prior_weight
            readout = (net.linears[1].bias.grad - data[3]).abs().max().item()
            hidden = (net.linears[0].bias.grad - data[1]).abs().max().item()
            self.rows.append((w, readout, hidden))

    cmp = Compare()
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.05, sigma1=1.0)
    train(
        net, loss_fn, x, y, n_epochs=12, batch_size=40, lr=1e-2, prior=prior,
        schedule=PriorAnnealing(warmup=2, ramp=4, anneal=4), generator=g, callbacks=[cmp],
    )  # fmt: skip
    annealed = [r for r in cmp.rows if r[0] > 0]
    assert len(annealed) >= 8
    for w, readout, hidden in annealed:
        assert readout <= 1e-6  # data gradient only (float32 round-off)
        assert hidden > 1e-3 * w  # the prior term 2 * w * noise_var / 40 is there


# ----------------------------------------------------------------------------- defect 4
def _interpolating_fit(n: int):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, 3))
    y = X[:, 0] + 0.1 * rng.standard_normal(n)
    weak = MixtureGaussianPrior(lambda_=0.5, sigma0=1e-7, sigma1=1.0)
    return (
        X,
        y,
        SparseMLPRegressor(
            (6,),
            skip=False,  # the network alone: a linear path would let BIC drop it
            prior=weak,
            annealing=ConstantSchedule(),
            n_epochs=30,
            random_state=0,
        ),
    )


def test_more_weights_than_observations_warns_and_refuses_intervals():
    # k = 3*6 + 6 + 6 + 1 = 31 non-zero weights for n = 12: n - k < 0. sigma_ used to fall
    # back to RSS/n of an interpolating fit, giving intervals of width about 0.
    X, y, est = _interpolating_fit(12)
    with pytest.warns(SmallSampleWarning, match="residual degrees of freedom"):
        est.fit(X, y)
    assert est.df_resid_ <= 0
    assert math.isnan(est.sigma_)
    with pytest.raises(ValueError, match="residual degrees of freedom"):
        est.predict_interval(X)
    assert est.predict(X).shape == (12,)  # point predictions stay available


def test_few_residual_degrees_of_freedom_warn():
    X, y, est = _interpolating_fit(36)  # n - k = 5
    with pytest.warns(SmallSampleWarning, match="Student-t"):
        est.fit(X, y)
    assert 0 < est.df_resid_ < 10
    assert np.isfinite(est.predict_interval(X).se).all()


# ----------------------------------------------------------------------------- defect 5
def test_simplify_chain_leaves_the_function_unchanged():
    # Hidden unit 1 of layer 0 has no surviving input weight (it outputs tanh(bias)), and
    # the bias of output unit 0 of layer 1 is pruned but still holds a value (masks are
    # applied after simplification). Folding the constant must not revive that value.
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    net = MLP(3, (3, 2), 1, activation="tanh")
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    masks = {k: v.clone() for k, v in get_masks(net).items()}
    masks["linears.0.weight"][1, :] = False  # unit 1: no input
    masks["linears.1.bias"][0] = False  # pruned, value kept in the tensor
    reference = MLP(3, (3, 2), 1, activation="tanh")
    reference.load_state_dict(net.state_dict())
    apply_masks(reference, masks, warn=False)
    x = torch.randn(50, 3, generator=g)
    with torch.no_grad():
        expected = reference(x)
    new_masks = simplify_chain(list(net.linears), masks, net.activation)
    apply_masks(net, new_masks, warn=False)
    with torch.no_grad():
        got = net(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert not new_masks["linears.0.bias"][1]  # the constant unit is gone
    assert not new_masks["linears.1.weight"][:, 1].any()


# ----------------------------------------------------------------------------- SGHMC
def test_sghmc_stationary_variance_on_a_quadratic():
    # The engine's SGHMC targets exp(-n U(w) / tau) for a mean loss U. With U(w) = w^2/2
    # the stationary law is N(0, tau / n). 4000 independent coordinates, one draw each
    # after 4000 steps (many relaxation times): the sample variance has relative se
    # sqrt(2/4000) = 0.022; the step-size bias at lr = 2e-3, m = 0.9 is about lr/(1-m)/2
    # = 1 %. Allow 10 % (about 4 se). A wrong noise constant (a missing 2 or (1 - m))
    # is off by a factor 2 or more.
    tau, n, d = 0.5, 100, 4000
    w = nn.Parameter(torch.randn(d, generator=torch.Generator().manual_seed(0)))
    flat = FlatParameters([w])
    kernel = SGHMC(flat, torch.Generator().manual_seed(1), momentum=0.9)
    for _ in range(4000):
        flat.grad.copy_(flat.data)  # gradient of w^2/2
        kernel.step(2e-3, tau, n)
    var = float(flat.data.var())
    flat.release()
    assert var == pytest.approx(tau / n, rel=0.10)


# ----------------------------------------------------------------------------- delta.py
def test_pseudo_inverse_path_matches_numpy_and_warns():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 3))
    info = a @ a.T  # rank 3 of 6
    with pytest.warns(SingularFisherWarning, match="rank 3"):
        cov = SubnetworkCovariance(torch.as_tensor(info))
    np.testing.assert_allclose(
        cov.covariance.numpy(), np.linalg.pinv(info, rcond=1e-10, hermitian=True), atol=1e-10
    )
    assert cov.rank == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubnetworkCovariance(torch.as_tensor(info + np.eye(6)))  # full rank: no warning


def test_batched_output_hessians_give_the_sum_of_jtlj():
    rng = np.random.default_rng(6)
    jac = rng.standard_normal((7, 2, 4))
    lam = rng.standard_normal((7, 2, 2))
    lam = lam @ lam.transpose(0, 2, 1)
    expected = sum(jac[i].T @ lam[i] @ jac[i] for i in range(7))
    cov = SubnetworkCovariance.from_jacobian(torch.as_tensor(jac), torch.as_tensor(lam))
    np.testing.assert_allclose(cov.information.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(cov.covariance.numpy(), np.linalg.inv(expected), rtol=1e-8)


def test_per_sample_jacobian_and_delta_variance_of_a_linear_map():
    # For f(x) = W x the Jacobian in the selected entries of W is x itself (one output).
    lin = nn.Linear(3, 1, bias=False)
    masks = get_masks(lin)
    masks["weight"][0, 1] = False
    from bsdl.intervals import selected_index

    index = selected_index(lin, masks)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    jac = per_sample_jacobian(lin, x, index)
    torch.testing.assert_close(jac[:, 0, :], x[:, [0, 2]])
    c = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    var = delta_variance(jac, c)[:, 0]
    xs = x[:, [0, 2]].double()
    torch.testing.assert_close(var, ((xs @ c) * xs).sum(1))


# ----------------------------------------------------------------------------- defect 1
def test_load_maps_the_model_and_its_fitted_tensors_to_the_requested_device(tmp_path):
    X, y = _linear_problem(400, 4, seed=7)
    m = SparseMLPRegressor((3,), n_epochs=100, random_state=0).fit(X, y)
    assert m.selected_features_.size > 0  # a covariance over several weights
    expected = m.predict_interval(X[:10])
    m.set_params(device="cuda")  # as if fitted on a GPU: the file records device="cuda"
    path = m.save(tmp_path / "m.safetensors")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cpu'"):
            bsdl.load(path)
    loaded = bsdl.load(path, device="cpu")
    assert loaded.device == "cpu"
    got = loaded.predict_interval(X[:10])
    np.testing.assert_allclose(got.se, expected.se, rtol=1e-6)
    np.testing.assert_allclose(got.mean, expected.mean, rtol=1e-6)
    with pytest.raises(ValueError, match="device"):
        bsdl.load(path, device="nonsense")


# ----------------------------------------------------------------------------- t quantiles
def test_regression_intervals_use_student_t_with_the_residual_df():
    from scipy import stats

    X, y = _linear_problem(60, 3, seed=8)
    m = SparseMLPRegressor((3,), n_epochs=60, random_state=0).fit(X, y)
    assert m.df_resid_ == 60 - m.n_nonzero_
    pi = m.predict_interval(X[:4], alpha=0.1)
    assert pi.z == pytest.approx(stats.t.ppf(0.95, m.df_resid_), rel=1e-12)
    np.testing.assert_allclose(pi.upper - pi.mean, pi.z * pi.se, rtol=1e-12)


# ----------------------------------------------------------------------------- coverage of f
@pytest.mark.slow
def test_confidence_intervals_cover_a_known_nonlinear_regression_function():
    # Well-specified nonlinear design: f(x) = 1.5 tanh(x1 + 0.5 x2), a one-unit tanh network
    # (three of the inputs' weights, no hidden bias), noise sd 0.5, n = 500, fitted by the
    # default pipeline with two hidden units. For each of R = 10 independent fits, the
    # share of 200 fresh points whose 95 % confidence interval covers f(x). A share lies in
    # [0, 1], so its variance is at most p (1 - p) with p its mean: the mean over R fits has
    # se <= sqrt(0.95 * 0.05 / 10) = 0.069 if the intervals are calibrated. Allow 3 se
    # below nominal (>= 0.80). Intervals of zero width (the fully-pruned level bug) or an
    # se half its size would give a mean far below that.
    def f(x):
        return 1.5 * np.tanh(x[:, 0] + 0.5 * x[:, 1])

    shares = []
    for rep in range(10):
        rng = np.random.default_rng([7, rep])
        X = rng.standard_normal((500, 3))
        y = f(X) + 0.5 * rng.standard_normal(500)
        X_new = rng.standard_normal((200, 3))
        m = SparseMLPRegressor((2,), random_state=rep).fit(X, y)
        pi = m.predict_interval(X_new, kind="confidence")
        shares.append(np.mean((f(X_new) >= pi.lower) & (f(X_new) <= pi.upper)))
    assert np.mean(shares) >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / 10)


# ----------------------------------------------------------------------------- likelihoods
def test_likelihood_strategies_against_scipy():
    from scipy import special, stats

    from bsdl.likelihoods import Categorical, Gaussian

    rng = np.random.default_rng(9)
    resid = rng.standard_normal(50)
    g = Gaussian()
    mean_loss = float(g.loss(torch.as_tensor(resid), torch.zeros(50, dtype=torch.float64)))
    s2 = np.mean(resid**2)  # the maximum-likelihood variance
    expected = stats.norm.logpdf(resid, scale=math.sqrt(s2)).sum()
    assert g.log_likelihood(mean_loss, 50) == pytest.approx(expected, rel=1e-12)
    assert g.output_hessian(None, mean_loss) == pytest.approx(1 / s2, rel=1e-12)

    out = torch.as_tensor(rng.standard_normal((40, 2)))  # 3 classes, 2 free logits
    y = torch.as_tensor(rng.integers(0, 3, 40))
    c = Categorical()
    logits = np.column_stack([np.zeros(40), out.numpy()])
    logp = logits - special.logsumexp(logits, axis=1, keepdims=True)
    expected = logp[np.arange(40), y.numpy()].sum()
    assert c.log_likelihood(float(c.loss(out, y)), 40) == pytest.approx(expected, rel=1e-10)
    p = np.exp(logp)[:, 1:]
    hess = c.output_hessian(out, 0.0).numpy()
    np.testing.assert_allclose(hess[0], np.diag(p[0]) - np.outer(p[0], p[0]), rtol=1e-12)
