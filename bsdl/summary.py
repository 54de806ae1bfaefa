"""Statsmodels-style text and HTML summary tables (layer L0).

A :class:`Summary` is a title plus a list of blocks. A block is either a list
of ``(label, value)`` pairs, laid out in two columns like the top table of a
statsmodels regression summary, or a :class:`pandas.DataFrame` printed as a
coefficient-style table. Plain Python; no statsmodels dependency.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

__all__ = ["Summary", "format_value"]

_MIN_WIDTH = 78
_GAP = 3  # spaces between the left and right halves of a pair table
_SEP = 2  # minimum spaces between DataFrame columns


def format_value(value) -> str:
    """Format one cell: integers as is, floats with 4 decimals (scientific if tiny or huge).

    Examples
    --------
    >>> from bsdl.summary import format_value
    >>> [format_value(v) for v in (3, 0.05, 1.23456e-7, 2.5e8, float("nan"), "AR(2)", None)]
    ['3', '0.0500', '1.235e-07', '2.500e+08', 'nan', 'AR(2)', '']
    """
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        x = float(value)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0 or 1e-4 <= abs(x) < 1e6:
            return f"{x:.4f}"
        return f"{x:.3e}"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return str(value)


def _check_pairs(table, position: int) -> list[tuple[str, str]]:
    pairs = []
    for i, item in enumerate(table):
        try:
            label, value = item
        except (TypeError, ValueError):
            raise ValueError(
                f"tables[{position}][{i}] must be a (label, value) pair, got {item!r}"
            ) from None
        pairs.append((str(label), format_value(value)))
    return pairs


class Summary:
    """A titled stack of key/value and tabular blocks, printable as text or HTML.

    Parameters
    ----------
    title : str, default ""
        Centered above the first rule.
    tables : sequence, optional
        Blocks, each a list of ``(label, value)`` pairs or a DataFrame.
    notes : sequence of str, optional
        Lines printed after the last rule (warnings, references).

    Attributes
    ----------
    title : str
    tables : list
        Each entry is a list of ``(label, formatted value)`` pairs or a DataFrame.
    table_titles : list of str or None
    notes : list of str

    Examples
    --------
    >>> from bsdl.summary import Summary
    >>> import pandas as pd
    >>> s = Summary("Sparse MLP Results", [[("Model:", "SparseMLPRegressor"),
    ...                                     ("No. Observations:", 200),
    ...                                     ("Kept weights:", 12),
    ...                                     ("BIC:", 123.456)]])
    >>> _ = s.add_table(pd.DataFrame({"weight": [0.51, -1.2]}, index=["x0", "x3"]))
    >>> _ = s.add_note("Intervals assume asymptotic normality.")
    >>> print(s)  # doctest: +NORMALIZE_WHITESPACE
                                   Sparse MLP Results
    ==============================================================================
    Model:               SparseMLPRegressor   Kept weights:                     12
    No. Observations:                   200   BIC:                        123.4560
    ------------------------------------------------------------------------------
                                                                            weight
    ------------------------------------------------------------------------------
    x0                                                                      0.5100
    x3                                                                     -1.2000
    ==============================================================================
    Intervals assume asymptotic normality.
    """

    def __init__(self, title: str = "", tables: Sequence | None = None, notes=None) -> None:
        self.title = str(title)
        self.tables: list = []
        self.table_titles: list[str | None] = []
        self.notes: list[str] = []
        for table in tables or ():
            self.add_table(table)
        if isinstance(notes, str):
            notes = [notes]
        for note in notes or ():
            self.add_note(note)

    # ------------------------------------------------------------- building
    def add_table(self, table, title: str | None = None) -> Summary:
        """Append a block: a list of ``(label, value)`` pairs, a dict, or a DataFrame.

        Returns ``self`` so calls can be chained.
        """
        if isinstance(table, pd.Series):
            table = table.to_frame()
        if isinstance(table, pd.DataFrame):
            self.tables.append(table.copy())
        elif isinstance(table, dict):
            self.tables.append(_check_pairs(table.items(), len(self.tables)))
        elif isinstance(table, Sequence) and not isinstance(table, str):
            self.tables.append(_check_pairs(table, len(self.tables)))
        else:
            raise TypeError(
                "table must be a list of (label, value) pairs, a dict or a DataFrame, "
                f"got {type(table).__name__}"
            )
        self.table_titles.append(None if title is None else str(title))
        return self

    def add_note(self, text: str) -> Summary:
        """Append a line of text printed below the tables. Returns ``self``."""
        self.notes.append(str(text))
        return self

    # ------------------------------------------------------------- text
    @staticmethod
    def _split_pairs(pairs):
        half = math.ceil(len(pairs) / 2)
        return pairs[:half], pairs[half:]

    def _pair_width(self, pairs) -> int:
        left, right = self._split_pairs(pairs)

        def need(side):
            return max((len(k) + len(v) + 1 for k, v in side), default=0)

        return 2 * max(need(left), need(right)) + _GAP

    @staticmethod
    def _frame_cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
        header = [""] + [str(c) for c in frame.columns]
        rows = [
            [str(idx)] + [format_value(v) for v in row]
            for idx, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True)
        ]
        return header, rows

    def _frame_widths(self, frame) -> list[int]:
        header, rows = self._frame_cells(frame)
        return [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]

    def _width(self) -> int:
        width = max(_MIN_WIDTH, len(self.title))
        for table, title in zip(self.tables, self.table_titles, strict=True):
            if title:
                width = max(width, len(title))
            if isinstance(table, pd.DataFrame):
                widths = self._frame_widths(table)
                width = max(width, sum(widths) + _SEP * (len(widths) - 1))
            else:
                width = max(width, self._pair_width(table))
        return width

    @staticmethod
    def _render_pairs(pairs, width: int) -> list[str]:
        left, right = Summary._split_pairs(pairs)
        lw = (width - _GAP) // 2
        rw = width - _GAP - lw
        lines = []
        for i in range(len(left)):
            k, v = left[i]
            line = k + v.rjust(lw - len(k))
            if i < len(right):
                k2, v2 = right[i]
                line += " " * _GAP + k2 + v2.rjust(rw - len(k2))
            lines.append(line.rstrip())
        return lines

    def _render_frame(self, frame, width: int) -> list[str]:
        header, rows = self._frame_cells(frame)
        widths = self._frame_widths(frame)
        ncol = len(widths)
        extra = width - (sum(widths) + _SEP * (ncol - 1))
        if ncol > 1:
            share, rest = divmod(extra, ncol - 1)
            widths = [widths[0] + rest] + [w + share for w in widths[1:]]
        else:
            widths[0] += extra

        def fmt(cells):
            out = cells[0].ljust(widths[0])
            for c, w in zip(cells[1:], widths[1:], strict=True):
                out += " " * _SEP + c.rjust(w)
            return out.rstrip()

        return [fmt(header), "-" * width, *(fmt(r) for r in rows)]

    def as_text(self) -> str:
        """The summary as fixed-width text.

        Examples
        --------
        >>> from bsdl.summary import Summary
        >>> print(Summary("T", [[("a:", 1)]]).as_text().splitlines()[0].strip())
        T
        """
        width = self._width()
        lines = [self.title.center(width).rstrip(), "=" * width]
        for i, (table, title) in enumerate(zip(self.tables, self.table_titles, strict=True)):
            if i > 0:
                lines.append("-" * width)
            if title:
                lines.append(title.center(width).rstrip())
            if isinstance(table, pd.DataFrame):
                lines.extend(self._render_frame(table, width))
            else:
                lines.extend(self._render_pairs(table, width))
        lines.append("=" * width)
        lines.extend(self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    # ------------------------------------------------------------- HTML
    def as_html(self) -> str:
        """The summary as HTML tables (class ``simpletable``, as in statsmodels).

        Examples
        --------
        >>> from bsdl.summary import Summary
        >>> "<td>1</td>" in Summary("T", [[("a:", 1)]]).as_html()
        True
        """
        esc = html.escape
        parts = []
        for i, (table, title) in enumerate(zip(self.tables, self.table_titles, strict=True)):
            caption = self.title if i == 0 else title
            out = ['<table class="simpletable">']
            if caption:
                out.append(f"<caption>{esc(caption)}</caption>")
            if isinstance(table, pd.DataFrame):
                header, rows = self._frame_cells(table)
                out.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in header) + "</tr>")
                for r in rows:
                    cells = f"<th>{esc(r[0])}</th>" + "".join(f"<td>{esc(c)}</td>" for c in r[1:])
                    out.append(f"<tr>{cells}</tr>")
            else:
                left, right = self._split_pairs(table)
                for j, (k, v) in enumerate(left):
                    cells = f"<th>{esc(k)}</th><td>{esc(v)}</td>"
                    if j < len(right):
                        cells += f"<th>{esc(right[j][0])}</th><td>{esc(right[j][1])}</td>"
                    out.append(f"<tr>{cells}</tr>")
            out.append("</table>")
            parts.append("\n".join(out))
        if not self.tables and self.title:
            parts.append(f"<p><b>{esc(self.title)}</b></p>")
        if self.notes:
            parts.append("<br/>".join(esc(n) for n in self.notes))
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()
