"""Helpers shared by the vignettes: mode, output folder, environment line, deviations.

A vignette imports this module from its own folder (``vignettes/``), so it runs as a
script from any working directory.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
from pathlib import Path

import joblib
import torch
from joblib import Parallel, delayed

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


def _code_digest(path: Path) -> str:
    """sha256 of a Python file's syntax tree without docstrings: comments, formatting and
    documentation changes leave it unchanged, any change to the code does not."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def code_fingerprint(vignette: Path) -> str:
    """Fingerprint of the code behind a vignette's numbers: every module of the imported
    ``bsdl`` package, this file and the vignette itself (docstrings and comments aside)."""
    root = Path(bsdl.__file__).resolve().parent
    files = sorted(root.rglob("*.py")) + [Path(__file__).resolve(), Path(vignette).resolve()]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(_code_digest(f).encode())
    return h.hexdigest()[:16]


class FitCache:
    """Per-fit results of a long study kept on disk, so that a run can be resumed.

    Off unless ``BSDL_VIGNETTE_CACHE`` names a folder. A fit's rows are stored under
    ``<folder>/<vignette>/<code fingerprint>/`` with a key naming everything that
    determines them (design, n, replicate, settings); a later run with the same code
    and key reuses them instead of refitting. Any change to bsdl's code or to the
    vignette gives a new fingerprint, so results of other code are never reused.
    """

    def __init__(self, name: str, vignette: Path) -> None:
        base = os.environ.get("BSDL_VIGNETTE_CACHE")
        self.folder = Path(base) / name / code_fingerprint(vignette) if base else None
        self.hits = 0
        self.misses = 0

    def _path(self, key: dict) -> tuple[Path, str]:
        text = json.dumps(key, sort_keys=True)
        return self.folder / (hashlib.sha256(text.encode()).hexdigest()[:24] + ".json"), text

    def get(self, key: dict):
        """The stored rows of the fit named by ``key``, or None."""
        if self.folder is None:
            return None
        path, text = self._path(key)
        if not path.exists():
            return None
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["key"] != json.loads(text):
            return None
        self.hits += 1
        return stored["rows"]

    def put(self, key: dict, rows) -> None:
        """Store the rows of a fit just computed (no-op when the cache is off)."""
        self.misses += 1
        if self.folder is None:
            return
        path, text = self._path(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"key": json.loads(text), "rows": rows},
            default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v),
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(payload, encoding="utf-8")
        tmp.replace(path)  # atomic: an interrupted run leaves no half-written entry

    def map(self, fn, tasks: list[tuple], key, n_jobs: int = 1):
        """``(task, fn(*task))`` for each task in order: stored results where the cache
        has them, the others computed in ``n_jobs`` joblib workers and stored."""
        cached = {t: self.get(key(*t)) for t in tasks}
        fresh = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(fn)(*t) for t in tasks if cached[t] is None
        )
        for task in tasks:
            result = cached[task]
            if result is None:
                result = next(fresh)
                self.put(key(*task), result)
            yield task, result

    def note(self) -> list[str]:
        """A sentence for report.md when cached fits were reused."""
        if not self.hits:
            return []
        return [
            f"{self.hits} of {self.hits + self.misses} fits were reused from an earlier, "
            f"interrupted run of the same code (`BSDL_VIGNETTE_CACHE`, code fingerprint "
            f"{self.folder.name}); their seconds are those of that run, and the total run "
            "time covers only this run."
        ]
