"""Training driver, optimiser and SG-MCMC kernels, and schedules (layer L2)."""

from bsdl.inference.engine import train
from bsdl.inference.kernels import KERNELS, SGD, SGHMC, Adam, make_kernel
from bsdl.inference.schedules import ConstantSchedule, PriorAnnealing, ScheduleState

__all__ = [
    "train",
    "KERNELS",
    "SGD",
    "SGHMC",
    "Adam",
    "make_kernel",
    "ConstantSchedule",
    "PriorAnnealing",
    "ScheduleState",
]
