"""Any FOCUS export (1.0–1.3, CSV / gzip CSV / Parquet) → the FOCUS 1.2 column set.

Two entry points feed one raw table (``focus_lines``):

* ``focus_files``: a local directory (searched recursively), a single file or a glob.
* ``aws_focus``: AWS Data Exports "FOCUS 1.2 with AWS columns" in the Data Exports S3 layout
  (or a local copy of it); manifests, fingerprints and restatement come from
  ``connectors.aws_cur.discover`` and every listed data file goes through the same reader.

What differs between FOCUS versions (renamed, added, deprecated columns) lives in
``focus_columns.csv`` beside this module: one row per 1.2 column with its type, whether a file
without it is rejected, and the header names it may arrive under (first non-null wins, matched
case-insensitively: the 1.2 spec's own examples spell ``SkuPriceid``). A 1.2 column none of
whose names is present is null. Every other column (``x_*`` provider extensions, 1.3's
``HostProviderName``, anything new) is kept, per row, in one ``_extra`` JSON text column.

Real exports are accepted as they look: literal ``NULL``/``null`` → null, datetimes with or
without ``T``/``Z`` (no offset means UTC), ids always read as strings (leading zeros and ids
above 2^53 survive), a UTF-8 BOM on the header, ``Tags`` as JSON text (a Parquet map → JSON).
Money and quantities are DECIMAL(38,18) parsed from the text, never through a float.
"""

from __future__ import annotations

import csv
import glob as _glob
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connectors import aws_cur
from connectors._files import DistinctFiles, content_digest
from connectors._files import list_files as _list_files
from connectors._json import json_object, json_value
from connectors.errors import SourceError

SOURCE = "focus_files"
AWS_SOURCE = "aws_focus"
RAW_TABLE = "focus_lines"
TS = pa.timestamp("us", tz="UTC")
DEC = pa.decimal128(38, 18)
MAP_FILE = Path(__file__).with_name("focus_columns.csv")
# money and quantity columns under a plausible-range check (connectors.plausible), per source
PLAUSIBLE = {"cost": ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
                      "ContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
                      "PricingCurrencyContractedUnitPrice"),
             "quantity": ("ConsumedQuantity", "PricingQuantity", "CommitmentDiscountQuantity")}
NULL_TOKENS = ["", "NULL", "null", "Null"]
_SUFFIXES = (".csv", ".gz", ".parquet")
_TYPES = {"string": pa.string(), "decimal": DEC, "timestamp": TS}


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool
    sources: tuple[str, ...]


def _load_map() -> list[Column]:
    with MAP_FILE.open(encoding="utf-8") as fh:
        return [Column(r["column"], _TYPES[r["type"]], r["required"] == "true", tuple(r["sources"].split("|")))
                for r in csv.DictReader(fh)]


COLUMNS = _load_map()
SCHEMA = pa.schema([(c.name, c.type) for c in COLUMNS]
                   + [("_extra", pa.string()), ("_row_number", pa.int64()), ("_source_type", pa.string()),
                      ("_source_uri", pa.string())])


# --- one file ---------------------------------------------------------------------------------
def _is_parquet(raw: bytes, where: str) -> bool:
    return where.lower().endswith(".parquet") or raw[:4] == b"PAR1"


def _read_csv(raw: bytes, source: str, where: str) -> pa.Table:
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise SourceError(source, where, f"unreadable gzip ({e})") from None
    skip = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # BOM: Windows / Azure exports
    end = raw.find(b"\n")
    first = raw[skip:end if end >= 0 else len(raw)].decode("utf-8", errors="replace").rstrip("\r")
    header = next(csv.reader([first]), [])
    if not header or not any(h.strip() for h in header):
        raise SourceError(source, where, "empty file or no CSV header")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise SourceError(source, where, f"duplicate header column(s): {dup}")
    try:
        # Every column as text: ids must never pass through a number, money is parsed to DECIMAL
        # below, and one parser for all columns keeps type inference from guessing per file.
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(raw)[skip:]),  # zero-copy slice: exports can be GBs
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 null_values=NULL_TOKENS, strings_can_be_null=True,
                                                 quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise SourceError(source, where, f"unreadable CSV ({str(e)[:200]})") from None


def _read_parquet(raw: bytes, source: str, where: str) -> pa.Table:
    try:
        return pq.read_table(io.BytesIO(raw))
    except Exception as e:  # pyarrow raises several types for corrupt/truncated files
        raise SourceError(source, where, f"unreadable Parquet ({type(e).__name__}: {str(e)[:120]})") from None


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    t = col.type
    if pa.types.is_nested(t):
        return json_value(col)  # Parquet Tags / SkuPriceDetails as map<string,string> (or a struct)
    col = col.cast(pa.string())
    return pc.if_else(pc.is_in(col, value_set=pa.array(NULL_TOKENS[1:])), pa.scalar(None, pa.string()), col)


def _first_bad(col, parse, row_offset: int = 1) -> tuple[int, str]:
    for i, v in enumerate(col.to_pylist()):
        if v is None:
            continue
        try:
            parse(v)
        except Exception:
            return i + row_offset, v
    return 0, ""


_HAS_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})$"


def _to_timestamp(col, source: str, where: str, name: str) -> pa.Array:
    if pa.types.is_timestamp(col.type):
        return col.cast(TS) if col.type.tz else pc.assume_timezone(col.cast(pa.timestamp("us")), "UTC")
    if pa.types.is_date(col.type):
        return pc.assume_timezone(col.cast(pa.timestamp("us")), "UTC")
    text = pc.utf8_trim_whitespace(_as_text(col))
    # no offset means UTC (FOCUS datetimes are UTC; the official sample writes `YYYY-MM-DD HH:MM:SS`)
    text = pc.replace_substring_regex(text, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    text = pc.if_else(pc.match_substring_regex(text, _HAS_OFFSET), text, pc.binary_join_element_wise(text, "Z", ""))
    try:
        return text.cast(TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row, value = _first_bad(text, lambda v: pa.array([v]).cast(TS))
        raise SourceError(source, where,
                          f"column {name}: unparseable datetime {value[:-1]!r} in data row {row}") from None


# DECIMAL(38,18) holds |x| < 1e20; the context is wide enough that quantizing any such value is exact
_DEC_CONTEXT = Context(prec=60)
_DEC_LIMIT = Decimal(10) ** (DEC.precision - DEC.scale)


class _Overflow(ValueError):
    pass


def _decimal_from_text(v: str) -> Decimal:
    d = Decimal(v.strip())
    if not d.is_finite():
        raise InvalidOperation(v)
    if abs(d) >= _DEC_LIMIT:
        raise _Overflow(v)
    return d.quantize(Decimal("1e-18"), context=_DEC_CONTEXT)


def _to_decimal(col, source: str, where: str, name: str) -> pa.Array:
    t = col.type
    if pa.types.is_integer(t):
        return col.cast(DEC)
    if pa.types.is_decimal(t):
        try:
            return col.cast(DEC)
        except pa.ArrowInvalid:
            pass  # scale > 18: round through Python's Decimal below
    text = pc.utf8_trim_whitespace(_as_text(col))  # a float goes through its shortest repr, not binary
    # pyarrow's text → decimal cast wraps exponent notation beyond the precision without an error
    # ('1e30' → 18960114910927365649.47…): such values go through Python's Decimal, which is exact
    if not pc.any(pc.match_substring_regex(text, "[eE]")).as_py():
        try:
            return text.cast(DEC)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    values = []
    for i, v in enumerate(text.to_pylist()):
        if v is None:
            values.append(None)
            continue
        try:
            values.append(_decimal_from_text(v))
        except _Overflow:
            raise SourceError(source, where, f"data row {i + 1}, column {name}: {v!r} overflows DECIMAL(38,18) "
                                             f"(|value| < 1e20)") from None
        except (InvalidOperation, ValueError):
            raise SourceError(source, where, f"column {name}: not a number {v!r} in data row {i + 1}") from None
    return pa.array(values, DEC)


def _extra_json(t: pa.Table, names: list[str], strip_prefix: str = "",
                notes: dict[str, pa.Array] | None = None) -> pa.Array:
    """Per row, a JSON object of the non-null values of `names` (sorted keys); null when none.

    Values are kept as the export's text (literal NULL → null), nested ones as JSON. `notes` adds
    keys of our own after the file's (what the ingest filled in, per row; null where nothing).
    """
    names = sorted(names)
    # nested columns (maps, structs) are embedded as JSON, not as a string holding JSON
    values = [t.column(n) if pa.types.is_nested(t.column(n).type) else _as_text(t.column(n)) for n in names]
    notes = notes or {}
    return json_object([n[len(strip_prefix):] for n in names] + list(notes), values + list(notes.values()),
                       t.num_rows, empty=None)


# The `_extra` key recording that a row's BillingCurrency came from the source option, not the file.
CURRENCY_NOTE = "aispend_BillingCurrency_from"
CURRENCY_OPTION = "billing_currency"


def billing_currency_option(value, source: str = SOURCE) -> str | None:
    """The source option `billing_currency` (an ISO 4217 code such as USD), checked; None when unset."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise SourceError(source, f"option {CURRENCY_OPTION}", f"{value!r} is not a currency code "
                                                               "(ISO 4217: three capital letters, e.g. USD)")
    return value


def _billing_currency(t: pa.Table, arrays: list, currency: str | None, source: str, where: str) -> pa.Array | None:
    """BillingCurrency (never null in FOCUS) for rows whose file has none; returns the note column.

    With the source option `billing_currency`, rows where the column is absent or null take the
    option's value, and `_extra` records it (CURRENCY_NOTE). Without it, rows that have neither a
    BillingCurrency nor a PricingCurrency (focus_costs falls back on that) are an error naming the
    file: found here, at ingest, rather than as a failed test of the built mart.
    """
    i, j = SCHEMA.get_field_index("BillingCurrency"), SCHEMA.get_field_index("PricingCurrency")
    missing = pc.is_null(arrays[i])
    if not pc.any(missing).as_py():
        return None
    if currency:
        arrays[i] = pc.fill_null(arrays[i], currency)
        return pc.if_else(missing, pa.scalar(f"source option {CURRENCY_OPTION}"), pa.scalar(None, pa.string()))
    uncovered = pc.and_(missing, pc.is_null(arrays[j]))
    n = pc.sum(uncovered).as_py() or 0
    if n:
        row = pc.index(uncovered, True).as_py() + 1
        absent = not any(c.strip().lower() == "billingcurrency" for c in t.column_names)
        what = ("has no BillingCurrency column" if absent
                else f"column BillingCurrency is null in {n} of {t.num_rows} rows (e.g. data row {row})")
        raise SourceError(source, where, f"{what}, nor a PricingCurrency: FOCUS requires the billing currency on "
                                         f"every row. If the export's currency is known, name it with the source "
                                         f"option {CURRENCY_OPTION} (e.g. {CURRENCY_OPTION}: USD)")
    return None


def normalize(t: pa.Table, source: str, where: str, *, billing_currency: str | None = None,
              source_type: str | None = None) -> pa.Table:
    """A FOCUS table in any supported version → SCHEMA (1.2 columns + _extra + lineage).

    `source_type` (default: `source`) becomes `_source_type`, the line's `x_source` in focus_costs.
    `billing_currency`: the currency of a file that omits BillingCurrency (`_billing_currency`).
    """
    by_lower: dict[str, str] = {}
    for name in t.column_names:
        by_lower.setdefault(name.strip().lower(), name)
    for c in COLUMNS:  # a missing column is reported before any value in the file is judged
        if c.required and not any(s.lower() in by_lower for s in c.sources):
            raise SourceError(source, where, f"required FOCUS column {c.name} is missing "
                                             f"(looked for: {', '.join(c.sources)})")
    used: set[str] = set()
    arrays = []
    n = t.num_rows
    for c in COLUMNS:
        present = [by_lower[s.lower()] for s in c.sources if s.lower() in by_lower]
        used.update(present)
        if not present:
            arrays.append(pa.nulls(n, c.type))
            continue
        converted = []
        for name in present:
            col = t.column(name)
            if c.type == TS:
                converted.append(_to_timestamp(col, source, where, name))
            elif c.type == DEC:
                converted.append(_to_decimal(col, source, where, name))
            else:
                converted.append(_as_text(col))
        arr = converted[0] if len(converted) == 1 else pc.coalesce(*converted)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arrays.append(arr)
    note = _billing_currency(t, arrays, billing_currency, source, where)
    extra = [name for name in t.column_names if name not in used]
    arrays += [_extra_json(t, extra, notes={CURRENCY_NOTE: note} if note is not None else None),
               pa.array(range(1, n + 1), pa.int64()),
               pa.array([source_type or source] * n, pa.string()), pa.array([where] * n, pa.string())]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


# --- provider-native exports through a mapping kept as data ------------------------------------
MAPPINGS_DIR = Path(__file__).with_name("focus_mappings")


@dataclass(frozen=True)
class MapRule:
    focus_column: str
    natives: tuple[str, ...]
    transform: str
    arg: str


def mapping_names() -> tuple[str, ...]:
    """The mappings shipped in `focus_mappings/` (the values of a source's `mapping` option)."""
    return tuple(sorted(p.stem for p in MAPPINGS_DIR.glob("*.csv")))


def load_mapping(name: str) -> list[MapRule]:
    """`focus_mappings/<name>.csv`: per FOCUS column, the native column(s) and a transform."""
    path = MAPPINGS_DIR / f"{name}.csv"
    if not re.fullmatch(r"[a-z0-9_]+", name or "") or not path.is_file():
        raise SourceError(SOURCE, f"mapping '{name}'", f"unknown mapping (one of: {', '.join(mapping_names())})")
    with path.open(encoding="utf-8") as fh:
        return [MapRule(r["focus_column"], tuple(x for x in r["native"].split("|") if x), r["transform"], r["arg"])
                for r in csv.DictReader(fh)]


def _parse_dates(col, fmt: str, source: str, where: str, name: str) -> pa.Array:
    text = pc.utf8_trim_whitespace(_as_text(col))
    try:
        ts = pc.strptime(text, format=fmt, unit="us")
    except pa.ArrowInvalid:
        row, value = _first_bad(text, lambda v: pc.strptime(pa.array([v]), format=fmt, unit="us"))
        raise SourceError(source, where, f"column {name}: unparseable date {value!r} (expected {fmt}) "
                                         f"in data row {row}") from None
    return pc.assume_timezone(ts, "UTC")


LOOKUPS_DIR = MAPPINGS_DIR / "lookups"
_MONTH = re.compile(r"^(\d{4})-(\d{2})")


def _slug(text) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_lower(pc.utf8_trim_whitespace(text)), r"\s+", "")


def _regex(text, pattern: str, source: str, mapping: str) -> pa.Array:
    if "(?P<value>" not in pattern:
        raise SourceError(source, f"mapping '{mapping}'", f"regex {pattern!r} needs a group (?P<value>...)")
    matched = pc.extract_regex(pc.fill_null(text, ""), pattern)
    return pc.if_else(pc.is_valid(text), pc.struct_field(matched, "value"), pa.scalar(None, pa.string()))


def _check_month(v: str) -> None:
    m = _MONTH.match(v.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(v)


def _per_distinct(values, fn, type_: pa.DataType) -> pa.Array:
    """`fn` applied once per distinct non-null value (a file has few months, regions, ...)."""
    enc = pc.dictionary_encode(values)
    enc = enc.combine_chunks() if isinstance(enc, pa.ChunkedArray) else enc
    return pc.take(pa.array([fn(k) for k in enc.dictionary.to_pylist()], type_), enc.indices)


def _calendar_month(text, next_month: bool, source: str, where: str, name: str) -> pa.Array:
    """First instant (UTC) of the calendar month of each ISO date-time, or of the month after it."""
    def first_of(key: str) -> datetime:
        m = _MONTH.match(key)
        if not m or not 1 <= int(m.group(2)) <= 12:
            row, value = _first_bad(text, _check_month)
            raise SourceError(source, where, f"column {name}: {value!r} is not an ISO date-time (YYYY-MM-...) "
                                             f"in data row {row}")
        y, mo = int(m.group(1)), int(m.group(2))
        if next_month:
            y, mo = y + mo // 12, mo % 12 + 1
        return datetime(y, mo, 1, tzinfo=timezone.utc)

    return _per_distinct(pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(text), 0, 7), first_of, TS)


@lru_cache(maxsize=None)
def _lookup_table(name: str) -> dict[str, dict[str, str]]:
    path = LOOKUPS_DIR / f"{name}.csv"
    if not re.fullmatch(r"[a-z0-9_]+", name) or not path.is_file():
        raise FileNotFoundError(path)
    with path.open(encoding="utf-8") as fh:
        return {re.sub(r"\s+", "", r["key"].strip().lower()): r for r in csv.DictReader(fh)}


def _lookup(text, arg: str, source: str, mapping: str) -> pa.Array:
    name, _, column = arg.partition(":")
    try:
        table = _lookup_table(name)
    except FileNotFoundError:
        raise SourceError(source, f"mapping '{mapping}'", f"lookup file {name!r} not found in {LOOKUPS_DIR}") from None
    return _per_distinct(_slug(text), lambda k: (table.get(k) or {}).get(column) or None, pa.string())


def apply_mapping(t: pa.Table, mapping: str, source: str, where: str) -> pa.Table:
    """A provider-native table → FOCUS-named columns per `focus_mappings/<mapping>.csv`.

    Transforms: (blank) copy, first non-null of the listed natives; `const`; `date` / `date_next_day`
    (strptime format in `arg`, UTC; next day turns an inclusive date into an exclusive end);
    `month_start` / `next_month_start` (the calendar month of an ISO date-time: a billing period
    from a usage timestamp); `value_map` (`a=b;c=d`, case-insensitive, unmapped → null); `slug`
    (lower case, no whitespace: `Central US` → `centralus`); `regex` (the group `(?P<value>…)` of the
    pattern in `arg`, no match → null); `concat` (every listed native joined by `arg`, null if one is null);
    `lookup` (`arg` = `<file>:<column>`: the value of `column` in `focus_mappings/lookups/<file>.csv`
    for the native's slug, miss → null); `json_object_body` (Azure's `"k": "v",...` without braces);
    `prefix_json` (columns `<prefix>key` → one JSON object).
    Native columns no rule reads are kept as `x_<name>` (→ `_extra`).
    """
    required = {c.name for c in COLUMNS if c.required}
    n = t.num_rows
    out: dict[str, pa.Array] = {}
    consumed: set[str] = set()
    for rule in load_mapping(mapping):
        if rule.transform == "const":
            out[rule.focus_column] = pa.array([rule.arg] * n, pa.string())
            continue
        if rule.transform == "prefix_json":
            names = [c for c in t.column_names if c.startswith(rule.natives[0])]
            consumed.update(names)
            out[rule.focus_column] = _extra_json(t, names, strip_prefix=rule.natives[0])
            continue
        present = [c for c in rule.natives if c in t.column_names]
        consumed.update(present)
        if not present:
            if rule.focus_column in required:
                raise SourceError(source, where, f"native column {' or '.join(rule.natives)} (FOCUS "
                                                 f"{rule.focus_column}, mapping {mapping}) is missing")
            continue
        cols = [t.column(c) for c in present]
        if rule.transform == "concat":
            if len(present) != len(rule.natives):
                out[rule.focus_column] = pa.nulls(n, pa.string())
                continue
            val = pc.binary_join_element_wise(*[_as_text(c) for c in cols], rule.arg)
        elif rule.transform in ("month_start", "next_month_start"):
            text = pc.coalesce(*[_as_text(c) for c in cols])
            val = _calendar_month(text, rule.transform == "next_month_start", source, where, present[0])
        elif rule.transform in ("date", "date_next_day"):
            vals = [_parse_dates(c, rule.arg, source, where, name) for c, name in zip(cols, present)]
            val = vals[0] if len(vals) == 1 else pc.coalesce(*vals)
            if rule.transform == "date_next_day":
                val = pc.add(val, pa.scalar(timedelta(days=1), pa.duration("us")))
        else:
            texts = [_as_text(c) for c in cols]
            val = texts[0] if len(texts) == 1 else pc.coalesce(*texts)
            if rule.transform == "value_map":
                pairs = [kv.split("=", 1) for kv in rule.arg.split(";") if kv]
                keys, values = pa.array([k.strip().lower() for k, _ in pairs]), pa.array([v for _, v in pairs])
                val = pc.take(values, pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(val)), value_set=keys))
            elif rule.transform == "slug":
                val = _slug(val)
            elif rule.transform == "regex":
                val = _regex(val, rule.arg, source, mapping)
            elif rule.transform == "lookup":
                val = _lookup(val, rule.arg, source, mapping)
            elif rule.transform == "json_object_body":
                body = pc.utf8_trim_whitespace(val)
                braced = pc.if_else(pc.starts_with(body, "{"), body, pc.binary_join_element_wise("{", body, "}", ""))
                val = pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), braced)
            elif rule.transform:
                raise SourceError(source, f"mapping '{mapping}'", f"unknown transform {rule.transform!r}")
        out[rule.focus_column] = val.combine_chunks() if isinstance(val, pa.ChunkedArray) else val
    for c in t.column_names:
        if c not in consumed:
            out[f"x_{c}"] = t.column(c)
    return pa.table(out) if out else t


def read_bytes(raw: bytes, where: str, *, source: str = SOURCE, mapping: str | None = None,
               billing_currency: str | None = None) -> pa.Table:
    """One data file's bytes (CSV, gzip CSV or Parquet, told by name or magic) → SCHEMA.

    FOCUS files are read as they are; with `mapping`, a provider-native export is first renamed and
    derived into FOCUS columns by `focus_mappings/<mapping>.csv`.
    """
    t = _read_parquet(raw, source, where) if _is_parquet(raw, where) else _read_csv(raw, source, where)
    if mapping:
        # lines aispend converted itself are told apart from third-party FOCUS lines (x_source
        # 'mapped:<mapping>'): they are ours, so focus-check --converted-only checks them
        return normalize(apply_mapping(t, mapping, source, where), source, where, billing_currency=billing_currency,
                         source_type=f"mapped:{mapping}")
    return normalize(t, source, where, billing_currency=billing_currency)


# --- focus_files: a directory, file or glob -----------------------------------------------------
_NONE_FOUND = "no FOCUS files found (expected *.csv, *.csv.gz or *.parquet)"


def list_files(uri: str) -> list[str]:
    """FOCUS files under a directory (recursive), a single file, or a glob; sorted."""
    files = [f for f in _list_files(uri, _SUFFIXES)
             if f.lower().endswith((".csv", ".csv.gz", ".parquet")) or not Path(uri).is_dir()]
    if not files:
        if not Path(uri).exists() and not _glob.has_magic(uri):
            raise SourceError(SOURCE, uri, "no such file or directory")
        raise SourceError(SOURCE, uri, _NONE_FOUND)
    return files


def billing_periods(t: pa.Table) -> pa.Array:
    """YYYY-MM of BillingPeriodStart, falling back to ChargePeriodStart."""
    start = pc.coalesce(t.column("BillingPeriodStart"), t.column("ChargePeriodStart"))
    return pc.strftime(start, format="%Y-%m", locale="C")


def split_by_period(t: pa.Table) -> dict[str, pa.Table]:
    """Rows grouped by billing period (the raw table's monthly partition)."""
    periods = billing_periods(t)
    missing = pc.sum(pc.is_null(periods)).as_py() or 0
    if missing:
        idx = pc.index(pc.is_null(periods), True).as_py()
        raise SourceError(SOURCE, t.column("_source_uri")[idx].as_py(),
                          f"{missing} row(s) with neither BillingPeriodStart nor ChargePeriodStart "
                          f"(e.g. data row {t.column('_row_number')[idx].as_py()})")
    return {k: t.filter(pc.equal(periods, k)) for k in sorted(set(periods.to_pylist()))}


@dataclass(frozen=True)
class FocusPeriod:
    """One billing period of a FOCUS file set: its rows and a fingerprint of the files behind it."""

    billing_period: str
    fingerprint: str
    files: tuple[str, ...]
    table: pa.Table


def _lines_digest(t: pa.Table) -> str:
    """sha256 of a file's lines in one period, order and lineage (file, row number) left out: the
    same export re-written under another name, compression or format gives the same digest."""
    cols = [t.column(c).to_pylist() for c in t.column_names if c not in ("_source_uri", "_row_number")]
    return hashlib.sha256("\n".join(sorted(repr(r) for r in zip(*cols))).encode()).hexdigest()


def _fingerprint(files_fingerprint: str, currency: str | None) -> str:
    """A period's fingerprint; a currency option is part of it (changing it reloads the period)."""
    if not currency:
        return files_fingerprint
    return hashlib.sha256(f"{files_fingerprint}|{CURRENCY_OPTION}={currency}".encode()).hexdigest()


def discover(uri: str, *, mapping: str | None = None, s3_client=None,
             billing_currency: str | None = None) -> list[FocusPeriod]:
    """Read every FOCUS file under `uri` and group the rows by billing period, oldest first.

    `uri`: a local directory, file or glob, or an ``s3://bucket/prefix`` (`s3_client` from
    ``connectors.aws_cur.s3_client``, else boto3's default chain). `mapping` (e.g. ``azure_ea``,
    ``oci``) reads provider-native exports instead (apply_mapping). `billing_currency` names the
    currency of files that omit it (`normalize`). A period's fingerprint is the sha256 over (file,
    content hash) of the files with rows in it (and the currency option, when set), so an
    unchanged set of files is skipped and any changed file replaces its periods. Files must be
    read to know their periods, so this reads everything once.
    """
    currency = billing_currency_option(billing_currency)
    if uri.startswith("s3://"):  # the shared S3 store, under this source's name
        store, files = aws_cur.s3_objects(uri, s3_client, (".csv", ".csv.gz", ".parquet"), source=SOURCE,
                                          none_found=_NONE_FOUND)
        read = store.read_bytes
    else:
        files = list_files(uri)

        def read(f: str) -> bytes:
            try:
                return Path(f).read_bytes()
            except OSError as e:
                raise SourceError(SOURCE, f, f"cannot read ({e.strerror})") from None
    per_period: dict[str, list[pa.Table]] = {}
    hashes: dict[str, dict[str, str]] = {}
    distinct = DistinctFiles(SOURCE)  # FOCUS 1.0-1.2 lines have no id: a copied file is refused
    parts: dict[tuple[str, int], list[tuple[str, pa.Table]]] = {}  # (period, rows) → files' rows
    for f in files:
        raw = read(f)
        digest = hashlib.sha256(raw).hexdigest()
        t = read_bytes(raw, f, mapping=mapping, billing_currency=currency)
        if t.num_rows == 0:
            continue
        distinct.add(f, digest)
        for period, part in split_by_period(t).items():
            per_period.setdefault(period, []).append(part)
            hashes.setdefault(period, {})[f] = digest
            parts.setdefault((period, part.num_rows), []).append((f, part))
    for (period, _), same_size in parts.items():
        if len(same_size) > 1:  # only files with as many lines in a period as another are compared
            rows = DistinctFiles(SOURCE, f" (the same lines of billing period {period}, in another file)")
            for f, part in same_size:
                rows.add(f, _lines_digest(part))
    out = []
    for period in sorted(per_period):
        fp = _fingerprint(hashlib.sha256(json.dumps(sorted(hashes[period].items())).encode()).hexdigest(), currency)
        out.append(FocusPeriod(period, fp, tuple(sorted(hashes[period])), pa.concat_tables(per_period[period])))
    return out


# --- aws_focus: AWS Data Exports "FOCUS 1.2 with AWS columns" -----------------------------------
def discover_aws(uri: str, *, s3_client=None, billing_currency: str | None = None) -> list[aws_cur.ExportPeriod]:
    """Periods of an AWS FOCUS export that have a complete manifest (see connectors.aws_cur)."""
    currency = billing_currency_option(billing_currency, AWS_SOURCE)
    return [replace(p, fingerprint=_fingerprint(p.fingerprint, currency))
            for p in aws_cur.discover(uri, s3_client=s3_client)]


def read_aws_period(p: aws_cur.ExportPeriod, *, s3_client=None, billing_currency: str | None = None) -> pa.Table:
    """Exactly the files the period's manifest lists, each read as FOCUS, concatenated."""
    store = aws_cur._Store(p.export_uri, s3_client, source=AWS_SOURCE)
    distinct = DistinctFiles(AWS_SOURCE, f" (both listed by {p.manifest_uri})")
    tables = []
    for f in p.data_files:
        raw = store.read_bytes(f)
        tables.append(read_bytes(raw, f, source=AWS_SOURCE, billing_currency=billing_currency))
        if tables[-1].num_rows:
            distinct.add(f, content_digest(raw))
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()
