"""Helpers shared by the vignettes: mode, output folder, environment line, deviations,
report tables and sections, and figure axes.

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
import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed

import bsdl


def quick_mode() -> bool:
    """True when ``BSDL_QUICK`` is set to anything but "", "0", "false"."""
    return os.environ.get("BSDL_QUICK", "0") not in ("", "0", "false", "False")


def n_jobs() -> int | None:
    """Worker processes for independent fits (``BSDL_N_JOBS``).

    Unset: None, which joblib reads as one process unless an active
    ``joblib.parallel_config`` asks for more (e.g. ``backend="dask"`` on a cluster).
    """
    value = os.environ.get("BSDL_N_JOBS")
    return None if value in (None, "") else int(value)


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
        f"BSDL_N_JOBS={os.environ.get('BSDL_N_JOBS') or 'unset'}",
    ]
    return ", ".join(parts) + "."


def git_commit(here: Path) -> str:
    """The commit a run used: ``BSDL_VIGNETTE_COMMIT`` (for a tree exported with
    ``git archive``), else ``git rev-parse`` in ``here`` (with a note if bsdl/ or
    vignettes/ had uncommitted changes)."""
    import subprocess

    if os.environ.get("BSDL_VIGNETTE_COMMIT"):
        return os.environ["BSDL_VIGNETTE_COMMIT"] + " (exported tree)"
    try:
        git = ["git", "-C", str(here)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", "../bsdl", "."],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" (+ uncommitted changes under bsdl/ or vignettes/)" if dirty else "")


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
    ``bsdl`` package, the vignettes' helper modules (``_*.py``: this file, the optional
    baselines) and the vignette itself (docstrings and comments aside)."""
    root = Path(bsdl.__file__).resolve().parent
    helpers = sorted(Path(__file__).resolve().parent.glob("_*.py"))
    files = sorted(root.rglob("*.py")) + helpers + [Path(vignette).resolve()]
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


# ----------------------------------------------------------------------------- run and report


def announce(out: Path, config: dict, jobs: int | None = None) -> None:
    """Print the first lines of a run: bsdl's version, the mode, the output folder, the config."""
    print(f"bsdl {bsdl.__version__}; mode: {'quick' if quick_mode() else 'full'}; output: {out}")
    print(f"config: {config}" + ("" if jobs is None else f"; n_jobs: {jobs}"))


def quick_note(settings: str) -> str:
    """The report's note for a quick-mode run with the given reduced ``settings``."""
    return (
        f"Quick mode (`BSDL_QUICK=1`): {settings}. A smoke test, not the study: do not read "
        "the numbers as evidence either way."
    )


def deviation_notes(
    quick_settings: str,
    config: dict,
    full_ns: list[int],
    full_reps: int,
    cache: FitCache | None = None,
) -> list[str]:
    """The report's notes on how this run departs from the full study: reused fits,
    quick mode (with its ``quick_settings``) or a reduced grid."""
    notes = cache.note() if cache is not None else []
    if quick_mode():
        return [*notes, quick_note(quick_settings)]
    return notes + grid_deviations(config["ns"], full_ns, config["n_reps"], full_reps)


def note_lines(notes: list[str]) -> list[str]:
    """Report lines: each note as a block quote."""
    lines: list[str] = []
    for note in notes:
        lines += [f"> **Note.** {note}", ""]
    return lines


def kwargs_text(kwargs: dict) -> str:
    """``", k=v"`` for each keyword argument, to complete a call shown in the report."""
    return "".join(f", {k}={v!r}" for k, v in kwargs.items())


def bsdl_warning_names(caught) -> str:
    """Space-separated names of the bsdl warning classes among the ``caught`` warnings."""
    return " ".join(
        sorted({w.category.__name__ for w in caught if w.category.__module__.startswith("bsdl")})
    )


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (no dependency on tabulate)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for values in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    return "\n".join(lines)


def show(frame: pd.DataFrame) -> str:
    """Print ``frame`` as a markdown table (after a blank line) and return the table."""
    table = to_markdown(frame)
    print()
    print(table)
    return table


def mean_sd(values: pd.Series, digits: int) -> str:
    """``"mean ± sd"`` of the non-missing values (sd 0 for one value), ``"NA"`` for none."""
    values = values.dropna()
    if values.empty:
        return "NA"
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"


def selected_sets(column: pd.Series) -> list[set[int]]:
    """The space-separated selections of a results column (``"1 3 7"``) as sets of ints."""
    return [set(map(int, s.split())) if s else set() for s in column]


def share_with(sets: list[set[int]], j: int) -> float:
    """Share of the selections that contain ``j``."""
    return float(np.mean([j in s for s in sets]))


def failed_fit_lines(failures: pd.DataFrame) -> list[str]:
    """The report's "Failed fits" section (nothing when no fit failed)."""
    if failures.empty:
        return []
    lines = ["## Failed fits", ""]
    lines += [
        f"* {r.design}, n = {r.n}, replicate {r.rep}: `{r.error}`"
        for r in failures.itertuples(index=False)
    ]
    return lines + [""]


def write_report(
    out: Path,
    lines: list[str],
    figures: list[Path],
    seconds: float,
    *,
    time_detail: str = "",
    environment_extra: tuple[str, ...] = (),
) -> Path:
    """Add the figures and the run line to ``lines``, write ``out/report.md`` and say so."""
    lines = [*lines, "## Figures", ""]
    lines += [f"![{p.stem}]({p.name})" for p in figures]
    lines += [
        "",
        "## Run",
        "",
        f"Total time {seconds / 60:.1f} min{time_detail}; " + environment(*environment_extra),
        "Per-fit results: `results.csv`.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"\nwrote {path} and {', '.join(p.name for p in figures)} in {seconds:.1f} s")
    return path


# ----------------------------------------------------------------------------- figures


def method_styles(methods: list[str]) -> dict[str, dict]:
    """Colour and marker per method, in the order given (C0 o, C1 s, C2 ^, ...)."""
    markers = "os^Dv"
    return {m: dict(color=f"C{i}", marker=markers[i % len(markers)]) for i, m in enumerate(methods)}


def panels(nrows: int, ncols: int, panel_width: float, height: float):
    """``(fig, axes)`` with ``axes`` always 2-D, ``panel_width`` inches per column."""
    import matplotlib.pyplot as plt

    return plt.subplots(
        nrows, ncols, figsize=(panel_width * ncols, height), constrained_layout=True, squeeze=False
    )


def log_n_axis(ax, ns: list[int], label: str) -> None:
    """A log x axis with a tick at each n of the design and no minor ticks."""
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.minorticks_off()
    ax.set_xlabel(label)


def dodged_errorbar(ax, x, mean, sd, method: str, dodge: dict, style: dict) -> None:
    """Mean ± sd of one method against n, shifted by ``dodge[method]`` on the log axis."""
    ax.errorbar(
        np.asarray(x) * dodge[method], mean, yerr=sd, capsize=3, label=method, **style[method]
    )


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (PNG, 120 dpi), close it and return the path."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
