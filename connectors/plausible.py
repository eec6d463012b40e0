"""Plausible-range checks on billing money and quantity columns, per source and configurable.

Cast overflow (a FOCUS ``1e30`` that pyarrow's text → decimal cast turned into 1.9e19 without a
word) is caught where the cast happens; this is the second line: a value that parses but cannot
be a real billing line (a garbled export, a unit or scale bug, a float that overflowed upstream)
stops the load with one error naming the source, the file, the data row, the column and the value.

Bounds are absolute values per line (credits and refunds are negative) and are set per source with
the options `max_abs_cost` and `max_abs_quantity`:

* cost (money, in the line's billing currency): 1e9. The largest single lines real exports hold
  are upfront fees of reservation / savings-plan purchases and enterprise commitments, tens of
  millions of USD; a billion per line is beyond any of them. Sources billed in a currency worth
  far less than a dollar (JPY, KRW, IDR, ...) should raise it.
* quantity (usage amounts, in the export's own unit): 1e24. GCP meters storage per hourly line
  in byte-seconds (100 PB for an hour ≈ 3.6e20) and token counts reach 1e13; 1e24 passes all
  of them and still stops exponent-notation garbage. (FOCUS quantities are DECIMAL(38,18) and
  stop at 1e20 in the cast anyway.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import SourceError

COST_OPTION, QUANTITY_OPTION = "max_abs_cost", "max_abs_quantity"
DEFAULT_MAX_ABS_COST = 10**9
DEFAULT_MAX_ABS_QUANTITY = 10**24


@dataclass(frozen=True)
class Limits:
    """Largest plausible |value| of one line's money (`cost`) and quantity (`quantity`) columns."""

    cost: int = DEFAULT_MAX_ABS_COST
    quantity: int = DEFAULT_MAX_ABS_QUANTITY

    @classmethod
    def from_options(cls, options) -> "Limits":
        return cls(int(options.get(COST_OPTION) or DEFAULT_MAX_ABS_COST),
                   int(options.get(QUANTITY_OPTION) or DEFAULT_MAX_ABS_QUANTITY))


DEFAULT = Limits()


def _bad(col: pa.Array | pa.ChunkedArray, limit: int) -> pa.Array:
    """True where |value| > limit, and where a float is NaN or infinite (an overflowed number)."""
    if pa.types.is_decimal(col.type):
        if len(str(limit)) > col.type.precision - col.type.scale:  # no value of the type can exceed it
            return pa.repeat(pa.scalar(False), len(col))
        return pc.fill_null(pc.greater(pc.abs(col), pa.scalar(limit, pa.decimal128(38, 0)).cast(col.type)), False)
    f = col.cast(pa.float64())
    return pc.fill_null(pc.or_(pc.greater(pc.abs(f), float(limit)), pc.invert(pc.is_finite(f))), False)


def check(t: pa.Table, source: str, columns: dict[str, Iterable[str]], limits: Limits = DEFAULT,
          *, row_offset: int = 0, rows: str | None = None) -> None:
    """Raise SourceError at the first value of `columns` ({"cost": [...], "quantity": [...]}) outside its bound.

    The file is the row's `_source_uri`; its data row (1-based) is the column `rows` when given,
    else the row's index + 1 + `row_offset` (one file read in batches: the rows before this one).
    """
    for kind, names in columns.items():
        limit = getattr(limits, kind)
        option = COST_OPTION if kind == "cost" else QUANTITY_OPTION
        for name in names:
            if name not in t.column_names:
                continue
            col = t.column(name)
            if not (pa.types.is_decimal(col.type) or pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                continue
            bad = _bad(col, limit)
            if not pc.any(bad).as_py():
                continue
            i = pc.index(bad, True).as_py()
            row = t.column(rows)[i].as_py() if rows else i + 1 + row_offset
            where, value = t.column("_source_uri")[i].as_py(), col[i].as_py()
            raise SourceError(source, where, f"data row {row}, column {name}: {_fmt(value)} is outside the "
                                             f"plausible range ±{limit:.0e} (source option {option})")


def check_batches(batches: Iterable[pa.Table], source: str, columns: dict[str, Iterable[str]],
                  limits: Limits = DEFAULT) -> Iterator[pa.Table]:
    """`check` on each batch of a reader that yields each file's rows in order, one file per batch."""
    seen: dict[str, int] = {}
    for t in batches:
        if t.num_rows:
            f = t.column("_source_uri")[0].as_py()
            check(t, source, columns, limits, row_offset=seen.get(f, 0))
            seen[f] = seen.get(f, 0) + t.num_rows
        yield t


def check_value(value, source: str, where: str, name: str, kind: str, limits: Limits = DEFAULT) -> None:
    """One value of a row-by-row reader (GCP's export rows); None passes."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value) or abs(value) > getattr(limits, kind):
        option = COST_OPTION if kind == "cost" else QUANTITY_OPTION
        raise SourceError(source, where, f"column {name}: {_fmt(value)} is outside the plausible range "
                                         f"±{getattr(limits, kind):.0e} (source option {option})")


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def negative_usage(t: pa.Table, kind_col: str, amount_col: str, currency_col: str,
                   usage: str = "Usage") -> tuple[int, float, str | None]:
    """(count, Σ amount, currency or None when several) of the `usage` lines with a negative amount.

    Providers do write them (credits, refunds, corrections booked as Usage): they are loaded as
    they are, and the run summary counts them so a sign flip in an export does not pass unseen.
    """
    neg = pc.fill_null(pc.and_(pc.equal(t.column(kind_col), usage),
                               pc.less(t.column(amount_col).cast(pa.float64()), 0.0)), False)
    n = pc.sum(neg).as_py() or 0
    if not n:
        return 0, 0.0, None
    rows = t.filter(neg)
    currencies = pc.unique(rows.column(currency_col)).to_pylist()
    return n, pc.sum(rows.column(amount_col).cast(pa.float64())).as_py(), \
        currencies[0] if len(currencies) == 1 else None
