"""What the two sparse MLP estimators share (layer L4): the constructor arguments and their
scikit-learn constraints, the data checks, the fitted structure, training and the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from torch import nn

from bsdl._validation import check_in_options, check_is_fitted
from bsdl.inference import ConstantSchedule, PriorAnnealing
from bsdl.likelihoods import Categorical, Gaussian, reference_logits
from bsdl.models._estimator_data import validate_estimator_data
from bsdl.models._lag_selection import bic_of
from bsdl.models._params import SAMPLING_CONSTRAINTS
from bsdl.models.base import SparseEstimatorBase
from bsdl.nn import MLP
from bsdl.nn.mlp import ACTIVATIONS
from bsdl.priors import MixtureGaussianPrior
from bsdl.sparsify import (
    apply_masks,
    choose_linear_path,
    get_masks,
    input_inclusion,
    nonlinear_groups,
    rows_needed,
    simplify_structure,
)
from bsdl.summary import Summary

__all__ = ["SparseMLPBase"]


# ----------------------------------------------------------------------------- losses
_GAUSSIAN = Gaussian()
_CATEGORICAL = Categorical()
# reference-class parametrisation: class 0 has logit 0, so the C-1 outputs are identifiable
_logits = reference_logits


def _mse_half(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _GAUSSIAN.loss(module(x).squeeze(-1), y)


def _cross_entropy(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _CATEGORICAL.loss(module(x), y)


def _full_loss(loss_fn, inputs, targets, module):
    return loss_fn(module, inputs, targets)


def _simplify_mlp(module: MLP, masks: dict) -> dict:
    return simplify_structure(module, masks)  # MLP.simplify: dead units out, constants folded


#: Extended-BIC parameter of the MLP's linear path: gamma = 1 meets Chen & Chen's (2008)
#: consistency condition gamma > 1 - 1 / (2 kappa) whenever p grows like n^kappa
LINEAR_PATH_GAMMA = 1.0


def _choose_linear_path(inputs: torch.Tensor, targets: torch.Tensor, module: MLP, masks, groups):
    """:func:`bsdl.sparsify.choose_linear_path` for the MLP's ``skip.weight`` and read-out
    bias by extended BIC on the training data; ``groups``: what it may remove."""
    return choose_linear_path(
        module,
        masks,
        x=inputs,
        y=targets.reshape(-1),
        predict=lambda m: m(inputs).reshape(-1),
        linear="skip.weight",
        level=module.unpenalized[0],
        groups=groups,
        gamma=LINEAR_PATH_GAMMA,
    )[0]


@torch.no_grad()
def _simplify_linear_path(inputs: torch.Tensor, targets: torch.Tensor, module: MLP, masks):
    """A restart's simplification with ``skip``: the structure clean-up, then the linear
    path ``skip.weight`` and the level chosen by extended BIC on the training data jointly
    with backward elimination of hidden units, input columns and the whole network
    (:func:`bsdl.sparsify.choose_linear_path`), then the clean-up again. Runs before the
    refit, which then fits the network and the linear path together."""
    masks = simplify_structure(module, masks)
    for name, param in module.named_parameters():  # the thresholded network
        param.mul_(masks[name])
    groups = nonlinear_groups(module, masks, "skip.weight", module.unpenalized[0])
    masks = _choose_linear_path(inputs, targets, module, masks, groups)
    return simplify_structure(module, masks)


@torch.no_grad()
def _finish_linear_path(inputs: torch.Tensor, targets: torch.Tensor, module: MLP) -> None:
    """After the joint refit: the linear path re-chosen by extended BIC given the refitted
    network (add-or-drop moves from the current inputs) and set to least squares on the
    network's partial residual. An input taken only to mend the thresholded network's misfit
    before the refit (a correlated stand-in for an input the network reads) is dropped; with
    the network pruned away the fit is exactly ordinary least squares."""
    masks = get_masks(module)
    if not masks["skip.weight"].any():  # no linear path (none chosen, or not allowed)
        return
    apply_masks(module, _choose_linear_path(inputs, targets, module, masks, []), warn=False)


def _hold_linear_path(module: MLP, masks: dict) -> dict:
    """The linear path held at 0 while the network anneals (it is chosen afterwards); also
    the alternative structure of every restart, the network alone (``FitSpec.alternative``):
    a joint refit from the thresholded network is a non-convex problem of its own and can
    end worse than the network's refit, so BIC compares the two fits."""
    return {k: torch.zeros_like(m) if k == "skip.weight" else m for k, m in masks.items()}


def _mse(inputs: torch.Tensor, targets: torch.Tensor, module: nn.Module) -> torch.Tensor:
    return ((module(inputs).reshape(-1) - targets.reshape(-1)) ** 2).mean()


def _build_mlp(
    n_in: int, hidden: tuple, n_out: int, activation: str, skip: bool = False
) -> nn.Module:
    # nn.Linear's own initialisation draws from the global RNG; the weights are re-drawn
    # from a local generator anyway, so leave the global state exactly as it was
    with torch.random.fork_rng(devices=[]):
        return MLP(n_in, hidden, n_out, activation, skip=skip)


class SparseMLPBase(SparseEstimatorBase):
    """Constructor, checks, fitted structure and summary of the sparse MLPs (not for direct use)."""

    # scikit-learn's declarative checks of the constructor arguments (run first in fit;
    # the error names the argument): the shared ones (models/_params.py) and the MLP's own.
    # What they cannot express (the entries of hidden_layer_sizes, bools where ints are due,
    # finiteness) is checked after them
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        **SparseEstimatorBase._parameter_constraints,
        **SAMPLING_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (16, 8),
        *,
        activation: str = "tanh",
        prior: MixtureGaussianPrior | None = None,
        annealing: PriorAnnealing | ConstantSchedule | None = None,
        optimizer: str = "adam",
        lr: float = 3e-3,
        n_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        refit_epochs: int | str = "auto",
        n_restarts: int = 1,
        restart_criterion: str = "bic",
        n_jobs: int | None = None,
        random_state=None,
        device: str = "cpu",
        verbose: bool = False,
        method: str = "map",
        n_chains: int = 4,
        n_samples: int = 200,
        thin: int = 5,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.prior = prior
        self.annealing = annealing
        self.optimizer = optimizer
        self.lr = lr
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.refit_epochs = refit_epochs
        self.n_restarts = n_restarts
        self.restart_criterion = restart_criterion
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.method = method
        self.n_chains = n_chains
        self.n_samples = n_samples
        self.thin = thin

    # ---------------------------------------------------------------- checks
    def _check_hidden(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, int | np.integer):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be a sequence of positive ints, got {sizes!r}"
            ) from None
        if not sizes or not all(
            isinstance(h, int | np.integer) and not isinstance(h, bool) and h > 0 for h in sizes
        ):
            raise ValueError(
                f"hidden_layer_sizes must be a non-empty sequence of positive ints, got {sizes!r}"
            )
        check_in_options(self.activation, "activation", sorted(ACTIVATIONS))
        return tuple(int(h) for h in sizes)

    def _check_X(self, X, method: str) -> np.ndarray:
        check_is_fitted(self, "module_", method=method)
        return validate_estimator_data(self, X, reset=False)[0]

    def _prepare_fit(self, X, y, *, y_numeric: bool):
        """Check the arguments and the data; store the structure and the input scaling."""
        self._validate_params()
        hidden = self._check_hidden()
        Xa, ya = validate_estimator_data(self, X, y, reset=True, y_numeric=y_numeric, min_samples=2)
        if not y_numeric:
            check_classification_targets(ya)
        # the fitted structure: predict, summary and load read these, never the
        # constructor arguments (set_params after fit must not change the fitted model)
        self.hidden_layer_sizes_ = np.asarray(hidden, dtype=np.int64)
        self.activation_ = str(self.activation)
        self.skip_ = bool(getattr(self, "skip", False))
        self.x_mean_ = Xa.mean(axis=0)
        scale = Xa.std(axis=0)
        self.x_scale_ = np.where(scale > 0, scale, 1.0)
        return (Xa - self.x_mean_) / self.x_scale_, ya

    def _spec(self, Xs: np.ndarray, targets: np.ndarray, n_out: int, loss_fn, checked) -> dict:
        """What the shared pipeline trains on; ``targets`` on the network's scale.

        ``fit`` passes it to ``_fit_pipeline`` itself, so that the pipeline's warnings
        point at the caller of ``fit``.
        """
        inputs = torch.as_tensor(
            np.ascontiguousarray(Xs), dtype=torch.float32, device=checked["device"]
        )
        targets = torch.as_tensor(targets, device=checked["device"])
        self.n_obs_ = Xs.shape[0]
        self.optimizer_ = checked["optimizer"]
        hidden = tuple(int(h) for h in self.hidden_layer_sizes_)
        joint = self.skip_ and n_out == 1 and Xs.shape[0] >= rows_needed(Xs.shape[1])
        simplify = partial(_simplify_linear_path, inputs, targets) if joint else _simplify_mlp
        return dict(
            build_module=partial(
                _build_mlp, Xs.shape[1], hidden, n_out, self.activation_, self.skip_
            ),
            loss_fn=loss_fn,
            simplify=simplify,
            finish=partial(_finish_linear_path, inputs, targets) if joint else None,
            hold=_hold_linear_path if joint else None,
            alternative=_hold_linear_path if joint else None,
            alternative_simplify=_simplify_mlp,
            criterion=partial(bic_of, partial(_mse, inputs, targets), Xs.shape[0]),
            full_loss=partial(_full_loss, loss_fn, inputs, targets),
            inputs=inputs,
            targets=targets,
        )

    def _make_module(self) -> nn.Module:
        n_out = 1 if not hasattr(self, "classes_") else len(self.classes_) - 1
        hidden = tuple(int(h) for h in self.hidden_layer_sizes_)
        skip = bool(getattr(self, "skip_", False))
        return _build_mlp(self.n_features_in_, hidden, n_out, self.activation_, skip)

    def _restore_module(self, state: dict) -> nn.Module:
        # files saved before the structure was stored at fit: it is read off the weights
        # (the hidden sizes) and the saved parameters (activation, optimizer)
        if not hasattr(self, "skip_"):
            self.skip_ = "skip.weight" in state
        if not hasattr(self, "hidden_layer_sizes_"):
            n_layers = sum(
                1 for key in state if key.startswith("linears.") and key.endswith(".weight")
            )
            self.hidden_layer_sizes_ = np.asarray(
                [state[f"linears.{i}.weight"].shape[0] for i in range(n_layers - 1)],
                dtype=np.int64,
            )
        if not hasattr(self, "activation_"):
            self.activation_ = str(self.activation)
        if not hasattr(self, "optimizer_"):
            self.optimizer_ = str(self.optimizer)
        return super()._restore_module(state)

    def _standardize(self, Xa: np.ndarray) -> torch.Tensor:
        return self._tensor((Xa - self.x_mean_) / self.x_scale_)

    def _set_selection(self) -> None:
        masks = get_masks(self.module_)
        keep = self.module_.connected_inputs(masks).cpu().numpy()
        self.support_ = keep
        self.selected_features_ = np.flatnonzero(keep)
        # per input, the largest inclusion probability (before pruning) of its weights
        self.inclusion_probabilities_ = input_inclusion(self.module_, self._inclusion).numpy()
        self.mask_ = {k: v.cpu().numpy() for k, v in masks.items()}

    def _feature_labels(self, idx) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(self.feature_names_in_[i]) for i in idx]
        return [f"x{i}" for i in idx]

    def _summary_common(self, title: str, extra: list) -> Summary:
        check_is_fitted(self, "module_", method="summary")
        sizes = [self.n_features_in_, *self.hidden_layer_sizes_.tolist(), self.module_.out_features]
        prior = self.prior_
        sel = self._feature_labels(self.selected_features_)
        left = [
            ("Model:", type(self).__name__),
            ("Architecture:", "-".join(map(str, sizes)) + f" ({self.activation_})"),
            ("No. observations:", self.n_obs_),
            ("No. features:", self.n_features_in_),
            ("Selected features:", len(sel)),
            *(
                [("Linear-path inputs:", int(self.mask_["skip.weight"].any(0).sum()))]
                if self.skip_
                else []
            ),
            ("Non-zero weights:", f"{self.n_nonzero_} / {self.n_params_}"),
            ("Sparsity:", f"{self.sparsity_:.4f}"),
        ]
        right = [
            ("Prior lambda:", f"{prior.lambda_:.3g}"),
            ("Prior sigma0:", f"{prior.sigma0:.3g}"),
            ("Prior sigma1:", f"{prior.sigma1:.3g}"),
            ("Threshold:", f"{prior.threshold:.4g}"),
            ("Optimizer:", f"{self.optimizer_}, {self.n_epochs_} epochs"),
            ("Restarts:", len(self.restarts_)),
            ("BIC:", f"{self.bic_:.2f}"),
        ]
        left += extra
        right += [("", "")] * (len(left) - len(right))
        summary = Summary(title, [left + right])
        frame = pd.DataFrame(
            {
                "inclusion prob.": self.inclusion_probabilities_[self.selected_features_],
                "connections": self.mask_["linears.0.weight"][:, self.selected_features_].sum(0),
            },
            index=sel,
        )
        if self.skip_:  # the input's weight on the linear path is non-zero
            frame["linear"] = self.mask_["skip.weight"][:, self.selected_features_].any(0)
        if len(frame):
            summary.add_table(frame, title="Selected inputs")
        return summary
