"""Machine description shared by the bench scripts (run as ``python bench/<name>.py``)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

import bsdl


def machine() -> dict:
    """Versions, CPU and thread count, recorded next to every benchmark result."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "bsdl": bsdl.__version__,
        "platform": platform.platform(),
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "commit": git_commit(),
    }


def git_commit(tree: Path | None = None) -> str:
    """The short commit of ``tree`` (default: the checkout the bench script runs from),
    "unknown" outside git."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tree or Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"
