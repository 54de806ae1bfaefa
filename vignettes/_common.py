"""Helpers shared by the vignettes: mode, output folder, environment line, deviations.

A vignette imports this module from its own folder (``vignettes/``), so it runs as a
script from any working directory.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import joblib
import torch

import bsdl


def quick_mode() -> bool:
    """True when ``BSDL_QUICK`` is set to anything but "", "0", "false"."""
    return os.environ.get("BSDL_QUICK", "0") not in ("", "0", "false", "False")


def n_jobs() -> int:
    """Worker processes for independent fits (``BSDL_N_JOBS``, default 1)."""
    return int(os.environ.get("BSDL_N_JOBS", "1"))


def out_dir(name: str, here: Path | None = None) -> Path:
    """``$BSDL_VIGNETTE_OUT/<name>`` or ``vignettes/_out/<name>``, created."""
    base = os.environ.get("BSDL_VIGNETTE_OUT")
    if base:
        out = Path(base) / name
    else:
        out = (here or Path(__file__).resolve().parent) / "_out" / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def env_list(name: str, default: list[int]) -> list[int]:
    """A comma-separated integer list from the environment (e.g. ``BSDL_VIGNETTE_NS``)."""
    value = os.environ.get(name)
    return [int(v) for v in value.split(",")] if value else list(default)


def environment(*extra: str) -> str:
    """One line naming versions, CPU count and threads, for the report's footer."""
    parts = [
        f"bsdl {bsdl.__version__}",
        f"torch {torch.__version__}",
        *extra,
        f"joblib {joblib.__version__}",
        f"Python {platform.python_version()}",
        platform.machine(),
        f"{os.cpu_count()} CPU(s) visible",
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
        f"BSDL_N_JOBS={n_jobs()}",
    ]
    return ", ".join(parts) + "."


def grid_deviations(ns: list[int], full_ns: list[int], reps: int, full_reps: int) -> list[str]:
    """Sentences stating how a reduced run departs from the full design."""
    notes = []
    if ns != full_ns:
        dropped = [n for n in full_ns if n not in ns]
        notes.append(
            f"Reduced run: n in {ns} instead of {full_ns}"
            + (f" (n = {', '.join(map(str, dropped))} not run)" if dropped else "")
            + ", set by `BSDL_VIGNETTE_NS`."
        )
    if reps != full_reps:
        notes.append(f"{reps} replicates per n instead of {full_reps} (`BSDL_VIGNETTE_REPS`).")
    return notes


def apply_grid_overrides(config: dict) -> dict:
    """``BSDL_VIGNETTE_NS`` and ``BSDL_VIGNETTE_REPS`` replace ``config["ns"]`` and
    ``config["n_reps"]`` (a reduced run, stated by :func:`grid_deviations`)."""
    config["ns"] = env_list("BSDL_VIGNETTE_NS", config["ns"])
    if os.environ.get("BSDL_VIGNETTE_REPS"):
        config["n_reps"] = int(os.environ["BSDL_VIGNETTE_REPS"])
    return config
