"""Great Expectations suites for the raw zone, built from `suites.yml` + the connector's schema.

Validation runs on the Arrow table a load is about to publish, *before* the raw-zone swap, so a
failing load leaves the previous good partition in place. The outcome names each failed
expectation and the source files (from the `_source_uri` lineage column) holding offending rows.

One validation per raw table per run (all partitions of the run together): the "row inside its
partition window" rule is expressed as two column-pair expectations against per-row window
bounds derived from `_partition`, so 90 daily partitions cost one GE pass, not ninety.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import yaml

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

SUITES_FILE = Path(__file__).with_name("suites.yml")
_LINEAGE = {"_source_uri", "_source_name", "_ingested_at", "_load_id", "_partition"}


@dataclass
class ValidationOutcome:
    raw_table: str
    success: bool
    rows: int
    expectations: int
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"{self.raw_table}: {self.expectations} expectations passed on {self.rows} rows"
        return f"{self.raw_table}: " + "; ".join(self.failures)


@lru_cache(maxsize=1)
def load_suites() -> dict[str, dict]:
    # libyaml's loader when built (5× the pure-Python one); the same safe subset either way
    return yaml.load(SUITES_FILE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def window_bounds(partition: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a partition key: 'YYYY-MM-DD' (day) or 'YYYY-MM' (billing period)."""
    if len(partition) == 10:
        d = date.fromisoformat(partition)
        start = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        end = datetime.fromordinal(d.toordinal() + 1).replace(tzinfo=timezone.utc)
        return start, end
    y, m = (int(x) for x in partition.split("-"))
    start = datetime(y, m, 1, tzinfo=timezone.utc)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def _pandas_type_names(t: pa.DataType) -> list[str]:
    """Pandas dtype names a declared Arrow type may arrive as in the validated frame.

    Timestamps are handed to GE as naive UTC and strings as object columns (see `_to_pandas`),
    because GE compares dtypes through numpy and cannot express tz-aware or pandas-3 string dtypes.
    Integer columns with nulls become float64 in pandas. Lists arrive as Python lists, structs and
    maps as dicts; what they hold is checked path by path (`_nested_checks`).
    """
    if pa.types.is_timestamp(t):
        return [f"datetime64[{t.unit}]", "datetime64[ns]"]
    if pa.types.is_integer(t):
        return ["int64", "int32", "float64"]
    if pa.types.is_floating(t):
        return ["float64", "float32"]
    if pa.types.is_boolean(t):
        return ["bool", "object"]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ["object", "str"]
    if pa.types.is_decimal(t):  # exact money (focus_lines): object columns of decimal.Decimal
        return ["object", "Decimal"]
    if _is_list(t):  # Python lists (see `_to_pandas`); the elements' type is checked in `_nested`
        return ["list"]
    if pa.types.is_struct(t) or pa.types.is_map(t):
        return ["dict"]
    return ["object"]


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _to_pandas(table: pa.Table):
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = col.cast(pa.timestamp(col.type.unit))
        cols[name] = col
    nested = {n for n, c in cols.items() if pa.types.is_nested(c.type)}
    df = pa.table({n: c for n, c in cols.items() if n not in nested}).to_pandas()
    for name, col in cols.items():
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            df[name] = df[name].astype(object)
    if not nested:
        return df
    # lists / structs / maps as Python lists / dicts: pandas would hand GE numpy arrays, whose
    # values no type name matches. Only the column-level sample carries nested columns (row
    # checks read slimmed stand-ins), so converting value by value costs ~1,000 rows.
    import pandas as pd
    index = pd.RangeIndex(table.num_rows)
    values = {n: pd.Series(cols[n].to_pylist(maps_as_pydicts="lossy"), index=index, dtype=object) for n in nested}
    return pd.DataFrame({n: values[n] if n in nested else df[n].set_axis(index) for n in cols}, index=index)


def _nested(path: str, declared: pa.DataType, values: pa.Array, expected: list[str],
            found: dict[str, tuple[pa.DataType | None, pa.Array]]) -> None:
    """What a list / struct / map column holds, level by level, for the nested-values checks.

    Paths: ``prompt_chars[]`` a list's elements, ``usage.input`` a struct's field, ``tags{key}`` /
    ``tags{value}`` a map's keys and values. `expected` collects the paths the declared type has
    (where the values are of another kind, its first level: they are then missing, and the
    exact-set check fails); `found` the values present, each with its declared type (None: a
    struct field the schema does not declare).
    """
    if _is_list(declared):
        kids = [(f"{path}[]", declared.value_type, values.flatten() if _is_list(values.type) else None)]
    elif pa.types.is_map(declared):
        kv = values.flatten() if pa.types.is_map(values.type) else None
        kids = [(f"{path}{{key}}", declared.key_type, kv and kv.field(0)),
                (f"{path}{{value}}", declared.item_type, kv and kv.field(1))]
    elif pa.types.is_struct(declared):
        got = (dict(zip([f.name for f in values.type], values.flatten())) if pa.types.is_struct(values.type) else {})
        names = {f.name for f in declared}
        found.update({f"{path}.{k}": (None, v) for k, v in got.items() if k not in names})
        kids = [(f"{path}.{f.name}", f.type, got.get(f.name)) for f in declared]
    else:
        return
    for kid_path, kid_type, kid_values in kids:
        expected.append(kid_path)
        if kid_values is not None:
            found[kid_path] = (kid_type, kid_values)
            _nested(kid_path, kid_type, kid_values, expected, found)


def _nested_checks(gxe, schema: pa.Schema, sample: pa.Table) -> tuple[list[tuple[str, object]], pa.Table | None]:
    """Checks on the values inside the sample's nested columns: exactly the declared paths, each of
    its declared type. One frame holds every path, each padded with nulls to the longest."""
    expected: list[str] = []
    found: dict[str, tuple[pa.DataType | None, pa.Array]] = {}
    for f in schema:
        if pa.types.is_nested(f.type) and f.name in sample.column_names:
            _nested(f.name, f.type, sample.column(f.name).combine_chunks(), expected, found)
    if not expected:
        return [], None
    n = max([len(v) for _, v in found.values()], default=0)
    frame = pa.table({p: pa.concat_arrays([v, pa.nulls(n - len(v), v.type)]) for p, (_, v) in found.items()})
    checks: list[tuple[str, object]] = [(f"nested values exactly {len(expected)} declared",
                                         gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=True))]
    checks += [(f"type of {p}", gxe.ExpectColumnValuesToBeInTypeList(column=p, type_list=_pandas_type_names(t)))
               for p, (t, _) in found.items() if t is not None]
    return checks, frame


def _files_for(table: pa.Table, index: list[int] | None, limit: int = 3) -> str:
    if not index or "_source_uri" not in table.column_names:
        return ""
    uris = table.column("_source_uri").take(pa.array(index[:50])).to_pylist()
    uniq = list(dict.fromkeys(u for u in uris if u))[:limit]
    return f" (e.g. in {', '.join(uniq)})" if uniq else ""


# Row-level expectations run on slices of this many rows (of `slim` columns, ~80 bytes a row in
# pandas): bounded memory for a multi-million-row billing period, and few enough GE calls
# (~0.07 s of fixed cost each) that the suite is not the slow part of a load.
CHUNK_ROWS = 500_000
# Column-level expectations (exact column set, each column's type) hold for every slice of a
# table, since the frame's dtypes come from the Arrow schema: they run once on a small sample.
SAMPLE_ROWS = 1_000


def _window_columns(table: pa.Table, window_col: str) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Per-row [start, end) of each row's partition, computed once per distinct partition key."""
    enc = pc.dictionary_encode(table.column("_partition")).combine_chunks()
    bounds = [window_bounds(k) for k in enc.dictionary.to_pylist()]
    ts_type = table.schema.field(window_col).type
    starts = pa.array([b[0] for b in bounds], ts_type).take(enc.indices)
    ends = pa.array([b[1] for b in bounds], ts_type).take(enc.indices)
    return pa.chunked_array([starts]), pa.chunked_array([ends])


# Built suites, by (name, check labels): building one costs seconds (GE serialises every
# expectation into its store), and a large billing period is validated in many groups.
_SUITES: dict[tuple, tuple] = {}
# Column-level outcomes (column set, each column's type) by (raw table, Arrow schema): they
# depend only on the schema (the frame's dtypes come from it), so later groups of a load reuse them.
_COLUMN_OUTCOMES: dict[tuple, dict] = {}


def _suite(gx, name: str, checks: list[tuple[str, object]]):
    key = (name, tuple(label for label, _ in checks))
    if key not in _SUITES:
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
        batch_def = (ctx.data_sources.add_pandas(f"raw_{name}").add_dataframe_asset(name)
                     .add_batch_definition_whole_dataframe("load"))
        for label, exp in checks:
            exp.meta = {"label": label}
        # the whole suite in one store write: adding expectations one by one to a registered suite
        # re-serialises it each time (~0.1 s per expectation)
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"raw_{name}", expectations=[exp for _, exp in checks]))
        _SUITES[key] = (batch_def, suite)
    return _SUITES[key]


def _run_suite(gx, name: str, checks: list[tuple[str, object]], frames):
    """Validate `checks` on each frame of `frames` ((offset, DataFrame) pairs); merge per check."""
    batch_def, suite = _suite(gx, name, checks)
    merged: dict[str, dict] = {}
    for offset, df in frames:
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        # pass/fail first (BOOLEAN_ONLY skips GE's unexpected-value metrics: ~⅓ of a clean run);
        # the counts and offending rows the failure messages need only when something failed
        result = batch.validate(suite, result_format="BOOLEAN_ONLY")
        if not result.success:
            result = batch.validate(suite, result_format="SUMMARY")
        for r in result.results:
            label = (r.expectation_config.meta or {}).get("label", r.expectation_config.type)
            m = merged.setdefault(label, {"success": True, "unexpected_count": None, "index": [], "observed": None})
            res = r.result or {}
            if not r.success:
                m["success"] = False
                m["observed"] = res.get("observed_value")
            if "unexpected_count" in res:
                m["unexpected_count"] = (m["unexpected_count"] or 0) + (res["unexpected_count"] or 0)
                m["index"] += [offset + i for i in (res.get("partial_unexpected_index_list") or [])]
    return merged


def slim(raw_table: str, table: pa.Table) -> pa.Table:
    """The part of `table` its row-level expectations read: checked columns, `_partition`, `_source_uri`.

    A column only checked for nulls becomes a null-mask stand-in (int8: null where the column is
    null): GE converts and hashes every value of its frame, and a string column costs ~10× its
    Arrow size in pandas. Floats keep their values (pandas counts NaN as null too). Idempotent, so
    a load can slim each batch as it streams by and validate many batches together (`validate`
    with `sample`): a few bytes a row instead of the whole row.
    """
    suite_def = load_suites()[raw_table]
    ranged = set(suite_def.get("ranges") or {}) | {suite_def.get("window")}
    wanted = list(dict.fromkeys([*(suite_def.get("not_null") or []), *(suite_def.get("ranges") or {}),
                                 *([suite_def["window"]] if suite_def.get("window") else []),
                                 "_partition", "_source_uri"]))
    out = table.select([c for c in wanted if c in table.column_names])
    for i, name in enumerate(out.column_names):
        col = out.column(i)
        if name == "_source_uri":
            if not pa.types.is_dictionary(col.type):  # one file name per batch, not per row
                out = out.set_column(i, name, pc.dictionary_encode(col))
        elif name not in ranged and name != "_partition" and not pa.types.is_floating(col.type) \
                and col.type != pa.int8():
            out = out.set_column(i, name, pc.if_else(pc.is_valid(col), pa.scalar(0, pa.int8()),
                                                     pa.scalar(None, pa.int8())))
    return out


def validate(raw_table: str, table: pa.Table, schema: pa.Schema, *,
             sample: pa.Table | None = None) -> ValidationOutcome:
    """Run the raw table's suite on `table` (declared columns + `_partition`).

    With `sample` (a few whole rows of the same load), `table` may be `slim(...)` of the load's
    rows: column-level expectations (exact column set, types) run on the sample, row-level ones on
    `table`.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    suite_def = load_suites()[raw_table]
    expected_cols = [f.name for f in schema if f.name not in _LINEAGE]
    if sample is None:
        sample = table.slice(0, SAMPLE_ROWS)
    present = set(sample.column_names)

    column_checks: list[tuple[str, object]] = []
    row_checks: list[tuple[str, object]] = []
    for f in schema:
        if f.name in _LINEAGE or f.name not in present:
            continue
        column_checks.append((f"type of {f.name}", gxe.ExpectColumnValuesToBeInTypeList(
            column=f.name, type_list=_pandas_type_names(f.type))))
    for col in suite_def.get("not_null") or []:
        row_checks.append((f"{col} not null", gxe.ExpectColumnValuesToNotBeNull(column=col)))
    for col, rng in (suite_def.get("ranges") or {}).items():
        row_checks.append((f"{col} within [{rng.get('min')}, {rng.get('max')}]",
                           gxe.ExpectColumnValuesToBeBetween(column=col, min_value=rng.get("min"),
                                                             max_value=rng.get("max"))))

    slimmed = slim(raw_table, table)
    rows_table = slimmed.drop_columns([c for c in ("_partition", "_source_uri") if c in slimmed.column_names])
    window_col = suite_def.get("window")
    if window_col and "_partition" in slimmed.column_names and table.num_rows:
        starts, ends = _window_columns(slimmed, window_col)
        rows_table = rows_table.append_column("_window_start", starts).append_column("_window_end", ends)
        row_checks.append((f"{window_col} on or after its partition's start",
                           gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=window_col, column_B="_window_start",
                                                                       or_equal=True)))
        row_checks.append((f"{window_col} before its partition's end",
                           gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="_window_end", column_B=window_col)))
    # the column-level checks judge the sample: failures name its files (every row shares its schema)
    sample_files = _files_for(sample, list(range(min(sample.num_rows, 50))))
    # _source_uri and the other lineage columns are not data: outside the exact column-set check.
    sample = sample.select([c for c in sample.column_names if c in expected_cols]).slice(0, SAMPLE_ROWS)
    column_checks.insert(0, (f"columns exactly {len(expected_cols)} declared",
                             gxe.ExpectTableColumnsToMatchSet(column_set=expected_cols, exact_match=True)))
    nested_checks, nested_frame = _nested_checks(gxe, schema, sample)

    col_key = (raw_table, sample.schema, tuple(label for label, _ in column_checks + nested_checks))
    if col_key not in _COLUMN_OUTCOMES:
        outcomes = _run_suite(gx, f"{raw_table}_columns", column_checks, [(0, _to_pandas(sample))])
        if nested_checks:
            outcomes.update(_run_suite(gx, f"{raw_table}_nested", nested_checks, [(0, _to_pandas(nested_frame))]))
        _COLUMN_OUTCOMES[col_key] = outcomes
    merged = {label: {**m, "index": list(m["index"])} for label, m in _COLUMN_OUTCOMES[col_key].items()}
    if row_checks and table.num_rows:
        frames = ((off, _to_pandas(rows_table.slice(off, CHUNK_ROWS))) for off in range(0, table.num_rows, CHUNK_ROWS))
        merged.update(_run_suite(gx, raw_table, row_checks, frames))

    of_sample, of_nested = {label for label, _ in column_checks}, {label for label, _ in nested_checks}
    failures: list[str] = []
    for label, m in merged.items():
        if m["success"]:
            continue
        if m["unexpected_count"] is None:
            failures.append(f"expectation '{label}' failed (observed {m['observed']!r}){sample_files}")
        elif label in of_sample:
            failures.append(f"expectation '{label}' failed on {m['unexpected_count']} of {sample.num_rows} "
                            f"sampled rows{sample_files}")
        elif label in of_nested:
            failures.append(f"expectation '{label}' failed on {m['unexpected_count']} nested value(s) in "
                            f"{sample.num_rows} sampled rows{sample_files}")
        else:
            failures.append(f"expectation '{label}' failed on {m['unexpected_count']} of {table.num_rows} rows"
                            f"{_files_for(slimmed, m['index'])}")
    return ValidationOutcome(raw_table, not failures, table.num_rows,
                             len(column_checks) + len(nested_checks) + len(row_checks), failures)
