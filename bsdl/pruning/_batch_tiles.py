"""Cache-sized batch tiles for the compiled CSR products (layer L4, pruning).

The compiled product ``out = W @ X`` (``X`` of shape ``(in, n)``, the batch as the inner
loop) reads one row of ``X`` (``n`` values) for every kept weight. While ``X`` fits in a
core's L2 cache those reads hit it; for a large ``n`` (an LSTM's input projection over all
steps, ``n = T * B``, or a large batch through a Linear stack) it does not, and every read
goes to L3. So the batch is cut into tiles of ``tile`` columns such that the ``in * tile``
values of a tile fill at most half of L2: each tile is copied to a contiguous block,
multiplied and copied back. BENCHMARKS.md ("Sparse inference") has the measured effect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["l2_bytes", "tile_columns", "tiled_product"]

#: L2 size assumed where the operating system does not report one
DEFAULT_L2_BYTES = 1 << 20
#: the fewest columns of a tile: below this the per-weight work (index, value, address) is
#: shared by too few multiply-adds
MIN_TILE = 64


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    return int(text.rstrip("KMG")) * scale


@functools.cache
def l2_bytes() -> int:
    """The L2 cache of one core in bytes, from Linux's sysfs; :data:`DEFAULT_L2_BYTES`
    where that is not available.

    Examples
    --------
    >>> l2_bytes() > 0
    True
    """
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    try:
        for index in sorted(root.glob("index*")):
            if (index / "level").read_text().strip() == "2":
                return _size((index / "size").read_text())
    except (OSError, ValueError):
        pass
    return DEFAULT_L2_BYTES


def tile_columns(n_in: int, itemsize: int) -> int:
    """Columns per tile: a multiple of 16 whose ``n_in`` rows fill at most half of L2,
    at least :data:`MIN_TILE`.

    Examples
    --------
    >>> tile_columns(1024, 4) % 16, tile_columns(10**6, 4)
    (0, 64)
    """
    fit = (l2_bytes() // 2) // max(1, n_in * itemsize)
    return max(MIN_TILE, fit // 16 * 16)


def tiled_product(
    run: Callable[[np.ndarray, int, np.ndarray], object],
    xt: np.ndarray,
    out: np.ndarray,
    tile: int,
) -> np.ndarray:
    """Call ``run(x, w, o)`` on column tiles: ``x`` the flat contiguous ``(in, w)`` block
    of the tile's columns of ``xt`` (``(in, n)``), ``o`` a flat ``(rows, w)`` block that
    ``run`` fills; the blocks are copied into the same columns of ``out`` (``(rows, n)``,
    C-contiguous, filled in place and returned). One call on ``xt`` and ``out`` themselves
    when ``n <= tile``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.arange(6.0).reshape(2, 3)
    >>> xt = np.arange(30.0).reshape(3, 10)
    >>> def run(x, n, o):
    ...     o[:] = (w @ x.reshape(3, n)).reshape(-1)
    >>> out = tiled_product(run, xt, np.empty((2, 10)), tile=4)
    >>> bool(np.array_equal(out, w @ xt))
    True
    """
    n = xt.shape[1]
    if n <= tile:
        run(np.ascontiguousarray(xt).reshape(-1), n, out.reshape(-1))
        return out
    block = np.empty(out.shape[0] * tile, dtype=out.dtype)
    for start in range(0, n, tile):
        w = min(tile, n - start)
        x = np.ascontiguousarray(xt[:, start : start + w]).reshape(-1)
        o = block[: out.shape[0] * w]
        run(x, w, o)
        out[:, start : start + w] = o.reshape(out.shape[0], w)
    return out
