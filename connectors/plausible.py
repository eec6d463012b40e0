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

Usage sources (LLM APIs, gateway and request logs, agent runs) use the same check with their own
defaults (`USAGE`: money 1e9, tokens 1e12 per record — a day of an organisation's tokens per model
is ~1e10 at the largest public scale; a single request's context is < 1e7). Readers without data
rows (API pages, streams) name the record by its identity columns instead. GPU telemetry has
physical bounds (`GPU_BOUNDS`: utilisation 0..100 %, power 0..`max_power_w` W per GPU, ...).
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
USAGE_MAX_ABS_QUANTITY = 10**12  # tokens / requests per record of a usage source (see above)
POWER_OPTION, DEFAULT_MAX_POWER_W = "max_power_w", 5_000


@dataclass(frozen=True)
class Limits:
    """Largest plausible |value| of one line's money (`cost`) and quantity (`quantity`) columns."""

    cost: int = DEFAULT_MAX_ABS_COST
    quantity: int = DEFAULT_MAX_ABS_QUANTITY

    @classmethod
    def from_options(cls, options, default: "Limits | None" = None) -> "Limits":
        d = default or DEFAULT
        return cls(int(options.get(COST_OPTION) or d.cost), int(options.get(QUANTITY_OPTION) or d.quantity))


DEFAULT = Limits()
USAGE = Limits(quantity=USAGE_MAX_ABS_QUANTITY)

# Physical bounds of one GPU sample (both ends inclusive): utilisations are percentages; board
# power of the largest accelerators is ~1-2 kW (B200/MI355X 1.4 kW), so `max_power_w` (default 5 kW)
# only stops unit / scale bugs (mW read as W); memory 1e13 B (10 TB, 30x the largest HBM);
# the energy counter (mJ since driver load) 1e18 (5 kW for 6 years is 9.5e17).
GPU_BOUNDS = {"util_gpu_pct": (0, 100), "util_mem_pct": (0, 100), "power_w": (0, POWER_OPTION),
              "power_limit_w": (0, POWER_OPTION), "mem_used_bytes": (0, 10**13), "mem_total_bytes": (0, 10**13),
              "energy_mj": (0, 10**18)}


def _bad(col: pa.Array | pa.ChunkedArray, lo, hi) -> pa.Array:
    """True outside [lo, hi], and where a float is NaN or infinite (an overflowed number)."""
    if pa.types.is_decimal(col.type) and -lo == hi and isinstance(hi, int):
        if len(str(hi)) > col.type.precision - col.type.scale:  # no value of the type can exceed it
            return pa.repeat(pa.scalar(False), len(col))
        return pc.fill_null(pc.greater(pc.abs(col), pa.scalar(hi, pa.decimal128(38, 0)).cast(col.type)), False)
    f = col.cast(pa.float64())
    return pc.fill_null(pc.or_(pc.or_(pc.greater(f, float(hi)), pc.less(f, float(lo))), pc.invert(pc.is_finite(f))),
                        False)


def check(t: pa.Table, source: str, columns: dict[str, Iterable[str]], limits: Limits = DEFAULT,
          *, row_offset: int = 0, rows: str | None = None, ident: tuple[str, ...] = (),
          scale: dict[str, int] | None = None) -> None:
    """Raise SourceError at the first value of `columns` ({"cost": [...], "quantity": [...]}) outside its bound.

    The file is the row's `_source_uri`; its data row (1-based) is the column `rows` when given,
    else the row's index + 1 + `row_offset` (one file read in batches: the rows before this one);
    with `ident` (readers without rows: API pages) the record is named by those columns' values.
    `scale` divides a column before the comparison (Anthropic's cents); text columns are read as numbers.
    """
    for kind, names in columns.items():
        limit = getattr(limits, kind)
        option = COST_OPTION if kind == "cost" else QUANTITY_OPTION
        for name in names:
            div = (scale or {}).get(name, 1)
            shown = f"±{limit:.0e}" if div == 1 else f"±{limit * div:.0e} ({option} × {div}: the column is in 1/{div})"
            _first_outside(t, source, name, -limit * div, limit * div, shown, option if div == 1 else None,
                           row_offset=row_offset, rows=rows, ident=ident)


def check_bounds(t: pa.Table, source: str, bounds: dict[str, tuple], options, *, ident: tuple[str, ...]) -> None:
    """`check` with [lo, hi] per column; a bound that is an option name is that option's value (default in
    OPTION_DEFAULTS)."""
    for name, (lo, hi) in bounds.items():
        option = hi if isinstance(hi, str) else None
        if option:
            hi = int(options.get(option) or OPTION_DEFAULTS[option])
        _first_outside(t, source, name, lo, hi, f"{lo:g}..{hi:g}", option, ident=ident)


OPTION_DEFAULTS = {POWER_OPTION: DEFAULT_MAX_POWER_W}


def _first_outside(t: pa.Table, source: str, name: str, lo, hi, shown: str, option: str | None, *,
                   row_offset: int = 0, rows: str | None = None, ident: tuple[str, ...] = ()) -> None:
    if name not in t.column_names or not t.num_rows:
        return
    col = t.column(name)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = _numbers(t, source, name, rows=rows, row_offset=row_offset, ident=ident)
    if not (pa.types.is_decimal(col.type) or pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        return
    bad = _bad(col, lo, hi)
    if not pc.any(bad).as_py():
        return
    i = pc.index(bad, True).as_py()
    value = t.column(name)[i].as_py()
    raise SourceError(source, t.column("_source_uri")[i].as_py(),
                      f"{_record(t, i, rows, row_offset, ident)}, column {name}: {_fmt(value)} is outside the "
                      f"plausible range {shown}" + (f" (source option {option})" if option else ""))


def _record(t: pa.Table, i: int, rows: str | None, row_offset: int, ident: tuple[str, ...]) -> str:
    if ident:
        vals = [(c, v) for c in ident if (v := t.column(c)[i].as_py()) is not None]
        return "record " + ", ".join(f"{c}={v.isoformat() if hasattr(v, 'isoformat') else v}" for c, v in vals)
    return f"data row {t.column(rows)[i].as_py() if rows else i + 1 + row_offset}"


def _numbers(t: pa.Table, source: str, name: str, **where) -> pa.Array:
    """A text column of numbers (Anthropic's decimal-string amounts) as float64; a non-number is an error."""
    out = []
    for i, v in enumerate(t.column(name).to_pylist()):
        try:
            out.append(None if v is None else float(v))
        except ValueError:
            raise SourceError(source, t.column("_source_uri")[i].as_py(),
                              f"{_record(t, i, where['rows'], where['row_offset'], where['ident'])}, column "
                              f"{name}: {v!r} is not a number") from None
    return pa.array(out, pa.float64())


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


def checked(result, check_one) -> pa.Table | Iterator[pa.Table]:
    """`check_one(table)` on a reader's result: one table, or a stream of batches (checked as they pass)."""
    if isinstance(result, pa.Table):
        check_one(result)
        return result

    def stream():
        for t in result:
            check_one(t)
            yield t
    return stream()


def guard(result, source: str, options, columns: dict[str, Iterable[str]], *, ident: tuple[str, ...],
          scale: dict[str, int] | None = None, default: Limits = USAGE):
    """A usage reader's result under `check` with the source's options (`max_abs_cost` / `max_abs_quantity`)."""
    limits = Limits.from_options(options, default)
    return checked(result, lambda t: check(t, source, columns, limits, ident=ident, scale=scale))


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
