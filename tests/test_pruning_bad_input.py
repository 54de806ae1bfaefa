"""bsdl.pruning misuse: bad arguments, no target, hooks out of order, devices, replaced
parameters and divergence, each with an error that names the argument or the call."""

from __future__ import annotations

import pytest
import torch
from _pruning_helpers import PRUNERS, make_pruner, mlp
from torch import nn

from bsdl.exceptions import TrainingDivergedError
from bsdl.pruning import GMP, MGPP, PLATON


@pytest.mark.parametrize("cls", PRUNERS)
@pytest.mark.parametrize("bad", [1.0, -0.1, float("nan"), 1.5])
def test_sparsity_outside_0_1_names_the_argument(cls, bad):
    with pytest.raises(ValueError, match="final_sparsity must be in \\[0, 1\\)"):
        make_pruner(cls, mlp(), bad, 10)
    with pytest.raises(ValueError, match="initial_sparsity"):
        make_pruner(cls, mlp(), 0.5, 10, initial_sparsity=bad)


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="final_sparsity"):
        GMP(mlp(), "0.5", 10)
    with pytest.raises(ValueError, match="initial_sparsity must not exceed final_sparsity"):
        GMP(mlp(), 0.5, 10, initial_sparsity=0.6)
    with pytest.raises(ValueError, match="initial_warmup \\+ final_warmup must be smaller"):
        GMP(mlp(), 0.5, 10, initial_warmup=5, final_warmup=5)
    with pytest.raises(ValueError, match="total_steps"):
        GMP(mlp(), 0.5, 0)
    with pytest.raises(ValueError, match="pruning_interval"):
        GMP(mlp(), 0.5, 10, pruning_interval=0)
    with pytest.raises(ValueError, match="initial_warmup"):
        GMP(mlp(), 0.5, 10, initial_warmup=-1)
    with pytest.raises(ValueError, match="ranking must be one of"):
        GMP(mlp(), 0.5, 10, ranking="local")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        GMP("net", 0.5, 10)
    with pytest.raises(ValueError, match="n_obs"):
        MGPP(mlp(), 0.5, 10, n_obs=0)
    with pytest.raises(TypeError, match="prior must be a bsdl.MixtureGaussianPrior"):
        MGPP(mlp(), 0.5, 10, n_obs=5, prior=0.1)
    with pytest.raises(ValueError, match="lambda_anneal"):
        MGPP(mlp(), 0.5, 10, n_obs=5, lambda_anneal=(20.0, 0.1))
    with pytest.raises(ValueError, match="prior_weight"):
        MGPP(mlp(), 0.5, 10, n_obs=5, prior_weight=-1.0)
    with pytest.raises(ValueError, match="beta2"):
        PLATON(mlp(), 0.5, 10, beta2=1.0)
    with pytest.raises(TypeError, match="exclude must hold name patterns"):
        GMP(mlp(), 0.5, 10, exclude=[nn.Linear])


def test_no_matching_target_names_the_argument():
    with pytest.raises(ValueError, match="targets=.*matches no trainable parameter"):
        GMP(nn.Sequential(nn.Embedding(5, 3), nn.LayerNorm(3)), 0.5, 10)
    with pytest.raises(ValueError, match="targets="):
        GMP(nn.Linear(3, 1), 0.5, 10)  # the only Linear is the head
    with pytest.raises(ValueError, match="targets="):
        GMP(mlp(), 0.5, 10, targets=["decoder.*"])
    with pytest.raises(TypeError, match="targets\\[0\\]"):
        GMP(mlp(), 0.5, 10, targets=[3])
    assert GMP(nn.Linear(3, 1), 0.5, 10, exclude_head=False).targets == ["weight"]


def test_step_hooks_out_of_order():
    model = mlp()
    pruner = GMP(model, 0.5, 10)
    with pytest.raises(RuntimeError, match="after_step\\(\\) called without before_step"):
        pruner.after_step()
    model(torch.randn(2, 10)).sum().backward()
    pruner.before_step()
    with pytest.raises(RuntimeError, match="before_step\\(\\) called twice"):
        pruner.before_step()
    pruner.after_step()
    assert pruner.global_step == 1


def test_model_on_another_device_than_the_masks():
    model = mlp()
    pruner = GMP(model, 0.5, 10).to("meta")  # masks elsewhere than the model
    model(torch.randn(2, 10)).sum().backward()
    with pytest.raises(ValueError, match="model: parameter '0.weight' is on cpu but the pruner"):
        pruner.before_step()


def test_replaced_parameters_and_divergence_are_reported():
    model = mlp()
    pruner = GMP(model, 0.5, 10, pruning_interval=1)
    model[0].weight = nn.Parameter(model[0].weight.detach().clone())
    model(torch.randn(2, 10)).sum().backward()
    pruner.before_step()
    with pytest.raises(ValueError, match="parameter '0.weight' was replaced"):
        pruner.after_step()
    model = mlp()
    pruner = GMP(model, 0.5, 10, pruning_interval=1)
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    pruner.before_step()
    with pytest.raises(TrainingDivergedError, match="scores of '2.weight' are not finite"):
        pruner.after_step()
