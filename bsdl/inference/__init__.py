"""Training driver with callbacks, optimiser and SG-MCMC kernels, and schedules (layer L2)."""

from bsdl.inference.builtin_callbacks import (
    ApplyMask,
    History,
    NoiseEstimate,
    ProgressBar,
    ScheduleUpdate,
)
from bsdl.inference.callbacks import Callback, TrainState, training_callbacks
from bsdl.inference.config import TrainConfig
from bsdl.inference.engine import train
from bsdl.inference.kernels import KERNELS, SGD, SGHMC, SGLD, Adam, make_kernel
from bsdl.inference.pipeline import FitSpec, RestartResult, run_restart, run_restarts
from bsdl.inference.prior_grad import PriorGradient, add_prior_grad_
from bsdl.inference.sampling import DrawCollector, sample_chains
from bsdl.inference.schedules import ConstantSchedule, PriorAnnealing, ScheduleState

__all__ = [
    "train",
    "TrainConfig",
    "Callback",
    "TrainState",
    "training_callbacks",
    "PriorGradient",
    "add_prior_grad_",
    "ScheduleUpdate",
    "ApplyMask",
    "NoiseEstimate",
    "History",
    "ProgressBar",
    "KERNELS",
    "SGD",
    "SGHMC",
    "SGLD",
    "DrawCollector",
    "sample_chains",
    "Adam",
    "make_kernel",
    "ConstantSchedule",
    "PriorAnnealing",
    "ScheduleState",
    "FitSpec",
    "RestartResult",
    "run_restart",
    "run_restarts",
]
