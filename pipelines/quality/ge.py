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
    return yaml.safe_load(SUITES_FILE.read_text())


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
    Integer columns with nulls become float64 in pandas.
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
    if pa.types.is_decimal(t):  # object column of decimal.Decimal values
        return ["object", "Decimal"]
    return ["object"]


def _to_pandas(table: pa.Table):
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = col.cast(pa.timestamp(col.type.unit))
        cols[name] = col
    df = pa.table(cols).to_pandas()
    for name, col in cols.items():
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            df[name] = df[name].astype(object)
    return df


def _files_for(table: pa.Table, index: list[int] | None, limit: int = 3) -> str:
    if not index or "_source_uri" not in table.column_names:
        return ""
    uris = table.column("_source_uri").take(pa.array(index[:50])).to_pylist()
    uniq = list(dict.fromkeys(u for u in uris if u))[:limit]
    return f" (e.g. in {', '.join(uniq)})" if uniq else ""


def validate(raw_table: str, table: pa.Table, schema: pa.Schema) -> ValidationOutcome:
    """Run the raw table's suite on `table` (declared columns + `_partition`)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    suite_def = load_suites()[raw_table]
    expected_cols = [f.name for f in schema if f.name not in _LINEAGE]

    checks: list[tuple[str, object]] = []
    checks.append((f"columns exactly {len(expected_cols)} declared",
                   gxe.ExpectTableColumnsToMatchSet(column_set=expected_cols, exact_match=True)))
    present = set(table.column_names)
    for f in schema:
        if f.name in _LINEAGE or f.name not in present:
            continue
        checks.append((f"type of {f.name}", gxe.ExpectColumnValuesToBeInTypeList(column=f.name, type_list=_pandas_type_names(f.type))))
    for col in suite_def.get("not_null") or []:
        checks.append((f"{col} not null", gxe.ExpectColumnValuesToNotBeNull(column=col)))
    for col, rng in (suite_def.get("ranges") or {}).items():
        checks.append((f"{col} within [{rng.get('min')}, {rng.get('max')}]",
                       gxe.ExpectColumnValuesToBeBetween(column=col, min_value=rng.get("min"), max_value=rng.get("max"))))

    cols = [c for c in table.column_names if c in expected_cols or c == "_source_uri"]
    df_table = table.select(cols)
    window_col = suite_def.get("window")
    if window_col and "_partition" in table.column_names and table.num_rows:
        parts = table.column("_partition").to_pylist()
        cache: dict[str, tuple[datetime, datetime]] = {}
        starts, ends = [], []
        for p in parts:
            b = cache.get(p) or cache.setdefault(p, window_bounds(p))
            starts.append(b[0])
            ends.append(b[1])
        ts_type = table.schema.field(window_col).type
        df_table = df_table.append_column("_window_start", pa.array(starts, ts_type)).append_column("_window_end", pa.array(ends, ts_type))
        checks.append((f"{window_col} on or after its partition's start",
                       gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=window_col, column_B="_window_start", or_equal=True)))
        checks.append((f"{window_col} before its partition's end",
                       gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="_window_end", column_B=window_col)))
        checks[0] = (checks[0][0], gxe.ExpectTableColumnsToMatchSet(
            column_set=expected_cols + ["_window_start", "_window_end"], exact_match=True))
    # _source_uri is lineage, not data: excluded from the exact column-set comparison.
    df = _to_pandas(df_table.drop_columns([c for c in ("_source_uri",) if c in df_table.column_names]))

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    batch_def = ctx.data_sources.add_pandas(f"raw_{raw_table}").add_dataframe_asset(raw_table).add_batch_definition_whole_dataframe("load")
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"raw_{raw_table}"))
    for label, exp in checks:
        exp.meta = {"label": label}
        suite.add_expectation(exp)
    result = batch_def.get_batch(batch_parameters={"dataframe": df}).validate(suite, result_format="SUMMARY")

    failures: list[str] = []
    for r in result.results:
        if r.success:
            continue
        label = (r.expectation_config.meta or {}).get("label", r.expectation_config.type)
        res = r.result or {}
        if "unexpected_count" in res:
            where = _files_for(table, res.get("partial_unexpected_index_list"))
            failures.append(f"expectation '{label}' failed on {res['unexpected_count']} of {len(df)} rows{where}")
        else:
            failures.append(f"expectation '{label}' failed (observed {res.get('observed_value')!r})")
    return ValidationOutcome(raw_table, not failures, table.num_rows, len(checks), failures)
