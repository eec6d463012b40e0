"""One factory turns a raw-table spec into a partitioned, idempotent Dagster ingest asset.

Per-source modules only declare *what* differs (which connector call, which schema, what the
data means); fetching, validating, writing and reporting are the same code for every source.

Flow of every ingest asset (one run may cover a whole partition range — single-run backfills):
  fetch through the connector → split per partition → Great Expectations suite on groups of up
  to VALIDATE_ROWS rows (blocking check) → each validated group staged to scratch → only once
  every group passed: atomic raw-zone swap per partition + load-log rows → row counts.
The raw tables one source type feeds (OpenAI usage + costs) are one step: each table is fetched,
validated and staged in turn, and the swaps of all of them start only once every table staged
(`rawzone.commit_together`), so a source is committed as a whole or not at all.
A billing period that a connector streams as batches never sits in memory whole. A failed suite
writes nothing: the previous good partitions stay, downstream dbt and publish are skipped, and
the failure names the expectation and the files.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

import dagster as dg
import pyarrow as pa

from connectors import rawzone
from connectors.errors import SourceError
from pipelines.config import AispendConfig, SourceConfig
from pipelines.homelock import holding_home
from pipelines.quality.ge import slim, validate
from pipelines.resources import AispendResource

CHECK_NAME = "raw_suite"
# Rows validated by one Great Expectations pass. Each fetched piece is staged to scratch as it
# comes (readers still see the previous partitions) and only its `slim` columns — the few the
# suite's row checks read, ~40 bytes a row — wait for validation, so memory stays at one piece
# plus VALIDATE_ROWS slim rows however large the period, and a 5M-line billing period is 5 GE
# passes, not ~90 passes over 64 MiB groups of whole rows. Nothing is committed before every
# pass succeeded.
VALIDATE_ROWS = 1_000_000
SNAPSHOT_SOURCE = "catalogue"

# fetch(source, start, end) -> rows for [start, end), one table or a stream of tables   (daily)
DailyFetch = Callable[[SourceConfig, datetime, datetime], "pa.Table | Iterable[pa.Table]"]


@dataclass(frozen=True)
class MonthlyExport:
    """What a billing source offers for one period: a fingerprint (skip if unchanged) + reader.

    `read_incremental`, when given, is called instead of `read` if the period already has a raw
    partition: it receives those rows and returns the period's whole new content (old ∪ new),
    so an append-only source reads only what it has not seen (GCP's ``export_time`` watermark).
    """

    fingerprint: str | None
    read: Callable[[], pa.Table]
    read_incremental: Callable[[pa.Table], pa.Table] | None = None
    # the same rows as `read`, as a stream of tables (bounded memory for multi-million-row periods)
    read_batches: Callable[[], Iterable[pa.Table]] | None = None


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
    # per configured source (None = this source does not enable it); written under source=<name>
    source_snapshot: Callable[[SourceConfig], dict[str, pa.Table] | None] | None = None
    snapshot_schemas: dict[str, pa.Schema] = field(default_factory=dict)
    # more source types feeding the same raw table (e.g. focus_files + aws_focus → focus_lines)
    extra_source_types: tuple[str, ...] = ()
    # daily sources whose provider finalises days late: every run also re-reads this many days
    # before the first requested one (source option `refetch_days` overrides)
    refetch_days: int = 0
    # lines that are allowed but worth a word in the run summary: rows -> (count, amount, currency
    # or None when mixed), e.g. negative Usage lines (credits, refunds, corrections)
    negative_usage: Callable[[pa.Table], tuple[int, float, str | None]] | None = None

    @property
    def source_types(self) -> tuple[str, ...]:
        return (self.source_type, *self.extra_source_types)

    @property
    def partition_col(self) -> str:
        return {"daily": "day", "monthly": "billing_period", "snapshot": "snapshot"}[self.cadence]


def day_window(keys: list[str]) -> tuple[datetime, datetime]:
    """UTC [start, end) covering daily partition keys (inclusive of the last day)."""
    if not keys:  # a run launched before its first day has ended: Dagster has no partition to give it
        raise ValueError("no daily partition in this run: a day's partition exists once that UTC day has ended")
    first, last = date.fromisoformat(min(keys)), date.fromisoformat(max(keys))
    start = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
    end = datetime(last.year, last.month, last.day, tzinfo=timezone.utc) + timedelta(days=1)
    return start, end


def with_trailing_days(keys: list[str], n: int, first_allowed: str | None = None) -> list[str]:
    """`keys` plus the `n` days before the earliest one (not before `first_allowed`), sorted."""
    first = date.fromisoformat(min(keys))
    extra = [(first - timedelta(days=i)).isoformat() for i in range(1, n + 1)]
    if first_allowed:
        extra = [k for k in extra if k >= first_allowed]
    return sorted(set(keys) | set(extra))


def _refetch_days(spec: RawSpec, src: SourceConfig) -> int:
    raw = src.options.get("refetch_days", spec.refetch_days)
    try:
        n = int(raw)
    except (TypeError, ValueError):
        n = -1
    if n < 0 or n > 366:
        raise _fail(spec, src, f"option refetch_days: {raw!r} must be a whole number of days from 0 to 366")
    return n


def source_metadata(per_source: dict[str, dict[str, int]]) -> dict[str, object]:
    """Materialization metadata of one load per configured source: `rows_<source>` and the
    `sources` JSON ({source: {rows, partitions_written, partitions_unchanged, ...}}) that the CLI
    sums into its end-of-run report."""
    return {**{f"rows_{name}": c["rows"] for name, c in per_source.items()},
            **({"sources": dg.MetadataValue.json(per_source)} if per_source else {})}


def _with_partition(parts: dict[str, pa.Table]) -> pa.Table | None:
    tables = [t.append_column("_partition", pa.repeat(pa.scalar(k, pa.string()), t.num_rows)) for k, t in parts.items()]
    return pa.concat_tables(tables) if tables else None


def _fail(spec: RawSpec, source: SourceConfig | None, problem: str):
    where = f"source '{source.name}' ({source.type})" if source else spec.raw_table
    return dg.Failure(description=f"{spec.raw_table}: {where}: {problem}", allow_retries=False)


@dataclass
class _Piece:
    """Rows of one (source, partition) from one fetch; a partition may come in several pieces."""

    source: str
    key: str
    fingerprint: str | None
    table: pa.Table


@dataclass
class _Skips:
    unchanged: list[str] = field(default_factory=list)  # fingerprint equal to the last load's
    absent: list[str] = field(default_factory=list)     # no complete export offered


def _pieces(spec: RawSpec, cfg: AispendConfig, keys: list[str], skips: _Skips) -> Iterator[_Piece]:
    """Every enabled source of this type, fetched lazily as pieces of partitions."""
    for src in cfg.sources_of_type(*spec.source_types):
        try:
            yield from _source_pieces(spec, cfg, src, keys, skips)
        except SourceError as e:
            # name the configured source too: one config may hold several exports of a type
            raise _fail(spec, src, f"nothing written, previous data kept: {e}") from e


def _source_pieces(spec: RawSpec, cfg: AispendConfig, src: SourceConfig, keys: list[str],
                   skips: _Skips) -> Iterator[_Piece]:
    """One configured source: a window fetch split per day, or each offered billing period."""
    if spec.cadence == "daily":
        # late finalisation: the trailing days are re-read and rewritten with the requested ones,
        # so a bucket the provider corrected replaces its stale copy (whole partitions: no duplicates)
        keys = with_trailing_days(keys, _refetch_days(spec, src), cfg.start_date)
        start, end = day_window(keys)
        fetched = spec.daily_fetch(src, start, end)
        seen: set[str] = set()
        # a connector may return one table or stream batches (a fleet's day of GPU samples)
        for batch in ([fetched] if isinstance(fetched, pa.Table) else fetched):
            parts = rawzone.split_by_day(batch, spec.ts_column)
            unexpected = sorted(set(parts) - set(keys))
            if unexpected:
                raise _fail(spec, src, f"connector returned rows outside the window: {unexpected[:3]}")
            seen.update(parts)
            for k, t in parts.items():
                yield _Piece(src.name, k, None, t)
        # Every requested day is written, empty or not, so a rerun replaces stale rows.
        for k in keys:
            if k not in seen:
                yield _Piece(src.name, k, None, spec.schema.empty_table())
        return
    offered = spec.monthly_discover(src)
    for k in keys:
        export = offered.get(k)
        if export is None:
            skips.absent.append(f"{src.name}/{k}")
            continue
        last = rawzone.last_fingerprint(cfg.home, spec.raw_table, src.name, k)
        if export.fingerprint and last == export.fingerprint:
            skips.unchanged.append(f"{src.name}/{k}")
            continue
        previous = (rawzone.read_partition(cfg.home, spec.raw_table, src.name, spec.partition_col, k)
                    if export.read_incremental else None)
        if previous is not None:
            tables: Iterable[pa.Table] = [export.read_incremental(previous)]
        elif export.read_batches is not None:
            tables = export.read_batches()
        else:
            tables = [export.read()]
        empty = True
        for t in tables:
            empty = False
            yield _Piece(src.name, k, export.fingerprint, t)
        if empty:  # an export with no rows still replaces the period
            yield _Piece(src.name, k, export.fingerprint, spec.schema.empty_table())


def _add_negatives(acc: dict, count: int, amount: float, currency: str | None) -> None:
    """Sum one piece's negative Usage lines into a source's `negative_usage_*` metadata."""
    if not count:
        return
    before = acc.get("negative_usage_currency", currency) if acc else currency
    acc["negative_usage_lines"] = acc.get("negative_usage_lines", 0) + count
    acc["negative_usage_amount"] = acc.get("negative_usage_amount", 0.0) + amount
    acc["negative_usage_currency"] = currency if currency == before else None


def _piece_with_partition(p: _Piece) -> pa.Table:
    return p.table.append_column("_partition", pa.repeat(pa.scalar(p.key, pa.string()), p.table.num_rows))


def _snapshot_loads(spec: RawSpec, cfg: AispendConfig) -> dict[str, dict[str, pa.Table]]:
    """A global catalogue (`snapshot`), or one snapshot per configured source that enables it."""
    if spec.source_snapshot is None:
        return {SNAPSHOT_SOURCE: spec.snapshot()}
    loads = {}
    for src in cfg.sources_of_type(spec.source_type):
        try:
            got = spec.source_snapshot(src)
        except SourceError as e:
            raise _fail(spec, src, f"nothing written, previous data kept: {e}") from e
        if got is not None:
            loads[src.name] = got
    return loads


def build_snapshot_asset(spec: RawSpec) -> dg.AssetsDefinition:
    """A catalogue snapshot (several raw tables, one fetch): replaced whole on every run."""
    keys = {name: dg.AssetKey(["raw", name]) for name in spec.snapshot_schemas}

    @dg.multi_asset(
        specs=[dg.AssetSpec(k, group_name="raw", description=spec.description, kinds={"parquet", "python"})
               for k in keys.values()],
        check_specs=[dg.AssetCheckSpec(CHECK_NAME, asset=k, blocking=True,
                                       description="Great Expectations suite: declared columns and types, "
                                                   "non-null keys, value ranges") for k in keys.values()],
        name=f"raw_{spec.raw_table}_snapshot",
    )
    @holding_home(exclusive=False)
    def _snapshot(context: dg.AssetExecutionContext, aispend: AispendResource):
        cfg = aispend.load()
        load_id = uuid.uuid4().hex[:16]
        loads = _snapshot_loads(spec, cfg)  # {source name: {raw table: table}}
        names = list(spec.snapshot_schemas)
        if not loads:
            for name in names:
                rawzone.ensure_schema_file(cfg.home, name, spec.snapshot_schemas[name])
                yield dg.AssetCheckResult(asset_key=keys[name], check_name=CHECK_NAME, passed=True,
                                          metadata={"summary": "no source enabled"})
                yield dg.MaterializeResult(asset_key=keys[name], metadata={"rows": 0, "load_id": load_id})
            return
        outcomes = {name: validate(name, pa.concat_tables([_with_partition({"latest": tables[name]})
                                                           for tables in loads.values()]), spec.snapshot_schemas[name])
                    for name in names}
        for name, o in outcomes.items():
            yield dg.AssetCheckResult(asset_key=keys[name], check_name=CHECK_NAME, passed=o.success,
                                      metadata={"summary": o.summary()})
        failed = [o.summary() for o in outcomes.values() if not o.success]
        if failed:
            raise _fail(spec, None, "nothing written, previous data kept: " + "; ".join(failed))
        # Only the latest catalogue matters: one fixed partition per table, replaced each run, every
        # table of the snapshot together (a catalogue is never half this run's, half the last's).
        staged = []
        try:
            for name in names:
                rawzone.ensure_schema_file(cfg.home, name, spec.snapshot_schemas[name])
                for source_name, tables in loads.items():
                    sp = rawzone.StagedPartition(cfg.home, name, source_name, "snapshot", "latest",
                                                 spec.snapshot_schemas[name], load_id)
                    staged.append(sp)
                    sp.write(tables[name])
            rawzone.commit_together(cfg.home, load_id, staged, context.run_id, [None] * len(staged))
        finally:
            for sp in staged:
                sp.discard()
        for name in names:
            per_source = {src: {"rows": tables[name].num_rows, "partitions_written": 1}
                          for src, tables in loads.items()}
            yield dg.MaterializeResult(asset_key=keys[name], metadata={
                "rows": sum(t[name].num_rows for t in loads.values()), "load_id": load_id,
                **source_metadata(per_source)})

    return _snapshot


def _stage(spec: RawSpec, cfg: AispendConfig, context: dg.AssetExecutionContext, load_id: str,
           staged: dict[tuple[str, str], rawzone.StagedPartition], fingerprints: dict[tuple[str, str], str | None]
           ) -> Iterator[dg.AssetCheckResult | dict]:
    """Fetch, validate and stage one raw table's partitions into `staged` (nothing swapped in).

    Yields the table's check results; its last item is the metadata (a dict) of its
    MaterializeResult, given once every partition of the table staged and validated.
    """
    key = dg.AssetKey(["raw", spec.raw_table])
    rawzone.ensure_schema_file(cfg.home, spec.raw_table, spec.schema)
    skips = _Skips()
    mine: set[tuple[str, str]] = set()
    rows_by_source: dict[str, int] = {}
    negatives: dict[str, dict] = {}
    validated, expectations = 0, 0
    pending: list[pa.Table] = []  # slim rows staged but not yet validated
    sample: pa.Table | None = None  # whole rows for the column-level checks

    def check(rows: pa.Table) -> Iterator[dg.AssetCheckResult]:
        nonlocal validated, expectations
        outcome = validate(spec.raw_table, rows, spec.schema, sample=sample)
        if not outcome.success:
            yield dg.AssetCheckResult(asset_key=key, check_name=CHECK_NAME, passed=False,
                                      metadata={"summary": outcome.summary(), "rows": validated + outcome.rows,
                                                "expectations": outcome.expectations})
            raise _fail(spec, None, "nothing written, previous data kept: " + outcome.summary())
        validated, expectations = validated + outcome.rows, outcome.expectations

    for p in _pieces(spec, cfg, context.partition_keys, skips):
        whole = _piece_with_partition(p)
        if sample is None or sample.num_rows == 0 or whole.schema != sample.schema:
            if pending:  # rows so far, under the columns they came with
                yield from check(pa.concat_tables(pending))
                pending.clear()
            # a new column layout: its column-level checks (exact set, types) pass before
            # any of it is written, so a mistyped column fails the suite, not the writer
            sample = whole.slice(0, 1_000)
            yield from check(slim(spec.raw_table, whole.slice(0, 0)))
        sp = staged.get((spec.raw_table, p.source, p.key))
        if sp is None:  # staged to scratch; readers still see the previous partitions
            sp = staged[(spec.raw_table, p.source, p.key)] = rawzone.StagedPartition(
                cfg.home, spec.raw_table, p.source, spec.partition_col, p.key, spec.schema, load_id)
            mine.add((p.source, p.key))
        sp.write(p.table)
        fingerprints[(spec.raw_table, p.source, p.key)] = p.fingerprint
        rows_by_source[p.source] = rows_by_source.get(p.source, 0) + p.table.num_rows
        if spec.negative_usage is not None and p.table.num_rows:
            _add_negatives(negatives.setdefault(p.source, {}), *spec.negative_usage(p.table))
        pending.append(slim(spec.raw_table, whole))
        if sum(t.num_rows for t in pending) >= VALIDATE_ROWS:
            yield from check(pa.concat_tables(pending))
            pending.clear()
    if pending:
        yield from check(pa.concat_tables(pending))
    summary = (f"{spec.raw_table}: {expectations} expectations passed on {validated} rows" if mine
               else "no new data to validate")
    yield dg.AssetCheckResult(asset_key=key, check_name=CHECK_NAME, passed=True,
                              metadata={"summary": summary, "rows": validated, "expectations": expectations})
    if skips.unchanged:
        context.log.info(f"{spec.raw_table}: unchanged since last load, not downloaded: "
                         f"{', '.join(skips.unchanged)}")
    if skips.absent:
        context.log.warning(f"{spec.raw_table}: no complete export (no manifest) for: "
                            f"{', '.join(skips.absent)}; nothing loaded for it, previous data kept")
    per_source = {src.name: {"rows": rows_by_source.get(src.name, 0),
                             "partitions_written": sum(1 for name, _ in mine if name == src.name),
                             "partitions_unchanged": sum(1 for k in skips.unchanged if k.startswith(f"{src.name}/")),
                             "partitions_without_export": sum(1 for k in skips.absent
                                                              if k.startswith(f"{src.name}/")),
                             **negatives.get(src.name, {})}
                  for src in cfg.sources_of_type(*spec.source_types)}
    yield {
        "rows": sum(rows_by_source.values()),
        "partitions_written": len(mine),
        "partitions_unchanged": len(skips.unchanged),
        **({"partitions_without_export": ", ".join(skips.absent)} if skips.absent else {}),
        "load_id": load_id,
        **source_metadata(per_source),
    }


def build_raw_assets(specs: list[RawSpec], partitions: dict[str, dg.PartitionsDefinition]) -> list[dg.AssetsDefinition]:
    """One asset per snapshot spec; one per source type and cadence for the others, so the raw
    tables a source feeds together (OpenAI usage + costs) commit together."""
    groups: dict[tuple[str, tuple[str, ...]], list[RawSpec]] = {}
    out = []
    for s in specs:
        if s.cadence == "snapshot":
            out.append(build_snapshot_asset(s))
        else:
            groups.setdefault((s.cadence, s.source_types), []).append(s)
    return out + [build_source_asset(g, partitions.get(g[0].cadence)) for g in groups.values()]


def build_source_asset(specs: list[RawSpec], partitions_def: dg.PartitionsDefinition | None) -> dg.AssetsDefinition:
    """One ingest step for the raw tables one source type feeds together (OpenAI usage + costs).

    Every selected table is fetched, validated and staged first; only when all of them staged does
    any partition swap in (`rawzone.commit_together`), so a failure on the second endpoint leaves
    the first table's previous partitions in place too: a source is committed as a whole or not.
    """
    keys = {s.raw_table: dg.AssetKey(["raw", s.raw_table]) for s in specs}
    first = specs[0]

    @dg.multi_asset(
        specs=[dg.AssetSpec(keys[s.raw_table], group_name="raw", description=s.description,
                            kinds={"parquet", "python"}, tags={"aispend/source_type": s.source_type})
               for s in specs],
        check_specs=[dg.AssetCheckSpec(CHECK_NAME, asset=keys[s.raw_table], blocking=True,
                                       description="Great Expectations suite: declared columns and types, non-null "
                                                   "keys, value ranges, rows inside the partition window")
                     for s in specs],
        name=f"raw__{first.raw_table}" if len(specs) == 1 else f"raw__{first.source_type}",
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None,
        can_subset=len(specs) > 1,
    )
    @holding_home(exclusive=False)
    def _asset(context: dg.AssetExecutionContext, aispend: AispendResource):
        cfg = aispend.load()
        load_id = uuid.uuid4().hex[:16]
        staged: dict[tuple[str, str, str], rawzone.StagedPartition] = {}
        fingerprints: dict[tuple[str, str, str], str | None] = {}
        results: list[dg.MaterializeResult] = []
        try:
            for spec in specs:
                if keys[spec.raw_table] not in context.selected_asset_keys:
                    continue
                for item in _stage(spec, cfg, context, load_id, staged, fingerprints):
                    if isinstance(item, dict):
                        results.append(dg.MaterializeResult(asset_key=keys[spec.raw_table], metadata=item))
                    else:
                        yield item
            rawzone.commit_together(cfg.home, load_id, list(staged.values()), context.run_id,
                                    [fingerprints[k] for k in staged])
        finally:
            for sp in staged.values():
                sp.discard()  # no-op for committed partitions
        yield from results

    return _asset
