"""One factory turns a raw-table spec into a partitioned, idempotent Dagster ingest asset.

Per-source modules only declare *what* differs (which connector call, which schema, what the
data means); fetching, validating, writing and reporting are the same code for every source.

Flow of every ingest asset (one run may cover a whole partition range — single-run backfills):
  fetch through the connector → split per partition → Great Expectations suite (blocking check)
  → only if it passed: atomic raw-zone swap per partition + load-log rows → row counts.
A failed suite writes nothing: the previous good partitions stay, downstream dbt and publish
are skipped, and the failure names the expectation and the files.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import dagster as dg
import pyarrow as pa

from connectors import rawzone
from pipelines.config import AispendConfig, SourceConfig
from pipelines.quality.ge import validate
from pipelines.resources import AispendResource

CHECK_NAME = "raw_suite"

# fetch(source, start, end) -> table for [start, end)   (daily)
DailyFetch = Callable[[SourceConfig, datetime, datetime], pa.Table]


@dataclass(frozen=True)
class MonthlyExport:
    """What a billing source offers for one period: a fingerprint (skip if unchanged) + reader."""

    fingerprint: str | None
    read: Callable[[], pa.Table]


# periods(source) -> {YYYY-MM: MonthlyExport}
MonthlyDiscover = Callable[[SourceConfig], dict[str, MonthlyExport]]


@dataclass(frozen=True)
class RawSpec:
    raw_table: str
    source_type: str
    cadence: str  # "daily" | "monthly" | "snapshot"
    schema: pa.Schema
    description: str
    daily_fetch: DailyFetch | None = None
    ts_column: str | None = None
    monthly_discover: MonthlyDiscover | None = None
    snapshot: Callable[[], dict[str, pa.Table]] | None = None
    snapshot_schemas: dict[str, pa.Schema] = field(default_factory=dict)

    @property
    def partition_col(self) -> str:
        return {"daily": "day", "monthly": "billing_period", "snapshot": "snapshot"}[self.cadence]


def day_window(keys: list[str]) -> tuple[datetime, datetime]:
    """UTC [start, end) covering daily partition keys (inclusive of the last day)."""
    first, last = date.fromisoformat(min(keys)), date.fromisoformat(max(keys))
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc) + timedelta(days=1)
    return start, end


def _with_partition(parts: dict[str, pa.Table]) -> pa.Table | None:
    tables = [t.append_column("_partition", pa.array([k] * t.num_rows, pa.string())) for k, t in parts.items()]
    return pa.concat_tables(tables) if tables else None


def _fail(spec: RawSpec, source: SourceConfig | None, problem: str):
    where = f"source '{source.name}' ({source.type})" if source else spec.raw_table
    return dg.Failure(description=f"{spec.raw_table}: {where}: {problem}", allow_retries=False)


def _collect(spec: RawSpec, cfg: AispendConfig, keys: list[str], context: dg.AssetExecutionContext):
    """Fetch every enabled source of this type into {source: {partition_key: table}}."""
    out: dict[SourceConfig, dict[str, pa.Table]] = {}
    fingerprints: dict[tuple[str, str], str | None] = {}
    skipped: list[str] = []
    for src in cfg.sources_of_type(spec.source_type):
        if spec.cadence == "daily":
            start, end = day_window(keys)
            table = spec.daily_fetch(src, start, end)
            parts = rawzone.split_by_day(table, spec.ts_column)
            # Every requested day is written, empty or not, so a rerun replaces stale rows.
            out[src] = {k: parts.get(k, spec.schema.empty_table()) for k in keys}
            unexpected = sorted(set(parts) - set(keys))
            if unexpected:
                raise _fail(spec, src, f"connector returned rows outside the window: {unexpected[:3]}")
        else:  # monthly
            offered = spec.monthly_discover(src)
            parts = {}
            for k in keys:
                export = offered.get(k)
                if export is None:
                    continue
                last = rawzone.last_fingerprint(cfg.home, spec.raw_table, src.name, k)
                if export.fingerprint and last == export.fingerprint:
                    skipped.append(f"{src.name}/{k}")
                    continue
                parts[k] = export.read()
                fingerprints[(src.name, k)] = export.fingerprint
            out[src] = parts
    if skipped:
        context.log.info(f"{spec.raw_table}: unchanged since last load, not downloaded: {', '.join(skipped)}")
    return out, fingerprints, skipped


def build_raw_asset(spec: RawSpec, partitions_def: dg.PartitionsDefinition | None) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", spec.raw_table])
    snapshot_keys = list(spec.snapshot_schemas) or [spec.raw_table]

    @dg.asset(
        key=key,
        group_name="raw",
        description=spec.description,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None,
        check_specs=[dg.AssetCheckSpec(CHECK_NAME, asset=key, blocking=True,
                                       description="Great Expectations suite: declared columns and types, "
                                                   "non-null keys, value ranges, rows inside the partition window")],
        kinds={"parquet", "python"},
        tags={"aispend/source_type": spec.source_type},
    )
    def _asset(context: dg.AssetExecutionContext, aispend: AispendResource):
        cfg = aispend.load()
        load_id = uuid.uuid4().hex[:16]
        if spec.cadence == "snapshot":
            snap_key = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            tables = spec.snapshot()
            outcomes = [validate(name, _with_partition({snap_key: t}), spec.snapshot_schemas[name]) for name, t in tables.items()]
            failed = [o for o in outcomes if not o.success]
            yield dg.AssetCheckResult(check_name=CHECK_NAME, passed=not failed,
                                      metadata={"summary": "; ".join(o.summary() for o in outcomes)})
            if failed:
                raise _fail(spec, None, "; ".join(o.summary() for o in failed))
            rows = {}
            for name, t in tables.items():
                rawzone.ensure_schema_file(cfg.home, name, spec.snapshot_schemas[name])
                # A snapshot replaces the previous one: only the latest catalogue is read by dbt.
                rawzone.write_partitions(cfg.home, name, "genai-prices", "snapshot", {"latest": t},
                                         spec.snapshot_schemas[name], load_id, context.run_id)
                rows[name] = t.num_rows
            yield dg.MaterializeResult(metadata={"rows": sum(rows.values()), **{f"rows_{k}": v for k, v in rows.items()},
                                                 "load_id": load_id})
            return

        keys = context.partition_keys
        collected, fingerprints, skipped = _collect(spec, cfg, keys, context)
        combined = [_with_partition(parts) for parts in collected.values()]
        combined = [t for t in combined if t is not None]
        rawzone.ensure_schema_file(cfg.home, spec.raw_table, spec.schema)
        if combined:
            outcome = validate(spec.raw_table, pa.concat_tables(combined), spec.schema)
            yield dg.AssetCheckResult(check_name=CHECK_NAME, passed=outcome.success,
                                      metadata={"summary": outcome.summary(), "rows": outcome.rows,
                                                "expectations": outcome.expectations})
            if not outcome.success:
                raise _fail(spec, None, "nothing written, previous data kept: " + outcome.summary())
        else:
            yield dg.AssetCheckResult(check_name=CHECK_NAME, passed=True,
                                      metadata={"summary": "no new data to validate", "rows": 0})

        rows_by_source: dict[str, int] = {}
        partitions_written = 0
        for src, parts in collected.items():
            for k, t in parts.items():
                rawzone.write_partitions(cfg.home, spec.raw_table, src.name, spec.partition_col, {k: t}, spec.schema,
                                         load_id, context.run_id, fingerprints.get((src.name, k)))
                partitions_written += 1
            rows_by_source[src.name] = sum(t.num_rows for t in parts.values())
        yield dg.MaterializeResult(metadata={
            "rows": sum(rows_by_source.values()),
            "partitions_written": partitions_written,
            "partitions_unchanged": len(skipped),
            "load_id": load_id,
            **{f"rows_{s}": n for s, n in rows_by_source.items()},
        })

    return _asset
