"""The layer order of docs/ARCHITECTURE.md, checked statically for every module under bsdl/.

Each module (or the package it belongs to) has a layer in ``LAYERS``. Every import of a bsdl
module, absolute or relative, at module level or inside a function, must point to the same layer
or a lower one. A module that is not in the table fails the test: a new module must be classified.
The files are parsed with :mod:`ast`; nothing is imported, so the check has no side effects.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "bsdl"

TOP = 6  # bsdl/__init__.py: the public names, above every layer

# Module or package -> layer (docs/ARCHITECTURE.md, "Layers"). A module inherits the layer of the
# closest package listed here. Entries for modules that do not exist yet are harmless.
LAYERS: dict[str, int] = {
    # L0: no bsdl imports above L0
    "bsdl.exceptions": 0,
    "bsdl._validation": 0,
    "bsdl._version": 0,
    "bsdl._series": 0,
    "bsdl.results": 0,
    "bsdl.summary": 0,
    # L1: building blocks
    "bsdl.priors": 1,
    "bsdl.likelihoods": 1,
    "bsdl.nn": 1,
    "bsdl.datasets": 1,
    "bsdl.conformal": 1,
    "bsdl.metrics": 1,
    # L2: training and pruning
    "bsdl.inference": 2,
    "bsdl.inference.nuts": 2,  # pyro's NUTS reference sampler (issue 16)
    "bsdl.sparsify": 2,
    "bsdl.pruning": 2,
    # L3: inference on the fitted network
    "bsdl.intervals": 3,
    "bsdl.timeseries": 3,
    # L4: the public estimators
    "bsdl.models": 4,
    # L5: tools built on the estimators
    "bsdl.selection": 5,
    "bsdl.baselines": 5,
    "bsdl.plotting": 5,
    "bsdl.compare": 5,
    "bsdl._compare_run": 5,
    "bsdl.onestep": 5,
    "bsdl.garch": 5,
    "bsdl.cli": 5,
    "bsdl.demo": 5,
    "bsdl.__main__": 5,
    # the package itself
    "bsdl": TOP,
}

# Packages that stay numpy-only: no module in them imports torch, directly or through the bsdl
# modules it imports.
NO_TORCH = ("bsdl.conformal", "bsdl.datasets")

# Known violations of today's code, each named as (importing module, imported module), with the
# reason. Issue 13 removes them; when one is fixed, the test asks for its entry to be deleted.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the bsdl module (or package) it imports
    line: int


def module_name(path: Path, root: Path) -> str:
    """Dotted name of the module in ``path`` (a package's ``__init__.py`` names the package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(root: Path) -> dict[str, Path]:
    """Every module under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The module or package that ``from name import ...`` / ``import name`` loads."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str, path: Path, modules: dict[str, Path], top: str) -> list[Import]:
    """The bsdl modules and the torch imports of one module (absolute, relative, nested)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root_name = alias.name.split(".")[0]
                if root_name == top:
                    found.append(Import(module, _resolve(alias.name, modules), node.lineno))
                elif root_name == "torch":
                    found.append(Import(module, "torch", node.lineno))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:  # relative: from . import x, from ..y import z
            base = package.split(".")
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        root_name = source.split(".")[0]
        if root_name == "torch":
            found.append(Import(module, "torch", node.lineno))
            continue
        if root_name != top:
            continue
        for alias in node.names:
            # `from bsdl import datasets` loads a submodule, `from bsdl import load` the package
            candidate = f"{source}.{alias.name}"
            target = candidate if candidate in modules else _resolve(source, modules)
            found.append(Import(module, target, node.lineno))
    return found


def layer_of(module: str, table: dict[str, int]) -> int | None:
    """Layer of ``module``: its own entry or that of its closest listed package (not the top)."""
    if module in table:
        return table[module]
    parts = module.split(".")
    for i in range(len(parts) - 1, 1, -1):
        prefix = ".".join(parts[:i])
        if prefix in table:
            return table[prefix]
    return None


def check_layers(root: Path, table: dict[str, int]) -> tuple[list[str], list[Import]]:
    """Unclassified modules and imports that point up, for the package in ``root``."""
    modules = all_modules(root)
    top = root.name
    unclassified = [
        f"{name} ({path.relative_to(root.parent)}) has no layer: add it to LAYERS in "
        "tests/test_layers.py and to the layer table of docs/ARCHITECTURE.md"
        for name, path in modules.items()
        if layer_of(name, table) is None
    ]
    upward = []
    for name, path in modules.items():
        own = layer_of(name, table)
        for imp in imports_of(name, path, modules, top):
            if imp.target == "torch":
                continue
            target_layer = layer_of(imp.target, table)
            if target_layer is None:
                unclassified.append(f"{name}:{imp.line} imports unknown module {imp.target}")
            elif own is not None and target_layer > own:
                upward.append(imp)
    return unclassified, upward


def torch_users(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Modules in ``packages`` that import torch, directly or through bsdl modules they import."""
    modules = all_modules(root)
    edges = {name: imports_of(name, path, modules, root.name) for name, path in modules.items()}

    def chain_to_torch(start: str) -> list[str] | None:
        seen = {start}
        stack = [[start]]
        while stack:
            chain = stack.pop()
            for imp in edges.get(chain[-1], []):
                if imp.target == "torch":
                    return [*chain, f"torch (line {imp.line})"]
                if imp.target not in seen:
                    seen.add(imp.target)
                    stack.append([*chain, imp.target])
        return None

    bad = []
    for name in modules:
        if any(name == p or name.startswith(p + ".") for p in packages):
            chain = chain_to_torch(name)
            if chain is not None:
                bad.append(" -> ".join(chain))
    return bad


def _describe(imp: Import, table: dict[str, int]) -> str:
    return (
        f"{imp.module} (L{layer_of(imp.module, table)}) imports {imp.target} "
        f"(L{layer_of(imp.target, table)}) at line {imp.line}"
    )


def test_every_module_has_a_layer():
    unclassified, _ = check_layers(PACKAGE_DIR, LAYERS)
    assert not unclassified, "\n".join(unclassified)


def test_imports_point_down_the_layers():
    _, upward = check_layers(PACKAGE_DIR, LAYERS)
    new = [imp for imp in upward if (imp.module, imp.target) not in KNOWN_VIOLATIONS]
    assert not new, "imports that point up the layers:\n" + "\n".join(
        _describe(imp, LAYERS) for imp in new
    )


def test_known_violations_are_still_there():
    """An entry of KNOWN_VIOLATIONS that is fixed must leave the list (so it only shrinks)."""
    _, upward = check_layers(PACKAGE_DIR, LAYERS)
    present = {(imp.module, imp.target) for imp in upward}
    fixed = sorted(set(KNOWN_VIOLATIONS) - present)
    assert not fixed, f"fixed, remove from KNOWN_VIOLATIONS: {fixed}"


def test_conformal_and_datasets_import_no_torch():
    bad = torch_users(PACKAGE_DIR, NO_TORCH)
    assert not bad, "numpy-only packages reach torch:\n" + "\n".join(bad)


# The checker itself, on a small package written to tmp_path: each rule must catch its case.


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


TOY_TABLE = {"pkg": 3, "pkg.low": 0, "pkg.mid": 1, "pkg.high": 2}


@pytest.mark.parametrize(
    "source",
    [
        "import pkg.high\n",
        "from pkg.high import thing\n",
        "from pkg import high\n",
        "from pkg import public_name\n",  # a name of the package top: the top layer
        "from .. import high\n",
        "from ..high import thing\n",
        "def f():\n    from ..high.deep import thing\n    return thing\n",
    ],
)
def test_checker_flags_an_upward_import(tmp_path, source):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "",
            "mid/__init__.py": "",
            "mid/inner.py": source,
            "high/__init__.py": "",
            "high/deep.py": "",
        },
    )
    _, upward = check_layers(root, TOY_TABLE)
    line = 1 + next(i for i, text in enumerate(source.splitlines()) if "import" in text)
    assert [(imp.module, imp.line) for imp in upward] == [("pkg.mid.inner", line)]


def test_checker_accepts_downward_and_same_layer_imports(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "from pkg.high import x\n",
            "low.py": "",
            "mid/__init__.py": "from .inner import y\nfrom . import other\n",
            "mid/inner.py": "import pkg.low\nfrom ..low import z\n",
            "mid/other.py": "from pkg.mid.inner import y\n",
            "high/__init__.py": "from pkg.mid import y\n",
        },
    )
    unclassified, upward = check_layers(root, TOY_TABLE)
    assert unclassified == [] and upward == []


def test_checker_flags_an_unclassified_module(tmp_path):
    root = _write(tmp_path, {"__init__.py": "", "low.py": "", "new.py": "import pkg.low\n"})
    unclassified, _ = check_layers(root, TOY_TABLE)
    assert len(unclassified) == 1 and "pkg.new" in unclassified[0]
    assert "add it to LAYERS" in unclassified[0]


def test_checker_finds_torch_through_another_module(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "def f():\n    import torch.nn\n",
            "mid/__init__.py": "",
            "mid/inner.py": "from ..low import f\n",
            "mid/clean.py": "import numpy\n",
        },
    )
    bad = torch_users(root, ("pkg.mid",))
    assert bad == ["pkg.mid.inner -> pkg.low -> torch (line 2)"]
