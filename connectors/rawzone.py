"""The one raw-zone writer: partition folders swapped in atomically, lineage on every row, load log.

Layout: ``<home>/lake/raw/<raw_table>/source=<name>/<partition_col>=<key>/part-00000.parquet``.
A load writes a temp folder outside `lake/raw` and swaps it with the old one in one atomic
step (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere rename-aside + rename), so a reader never
sees a half-written, missing or doubled partition, and re-running a
partition *replaces* it — never duplicates. Every load appends one row per partition to the load
log (one small Parquet file per load, so appends are atomic too).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TS = pa.timestamp("us", tz="UTC")
LINEAGE_FIELDS = [pa.field("_source_name", pa.string()), pa.field("_ingested_at", TS),
                  pa.field("_load_id", pa.string()), pa.field("_partition", pa.string())]


@dataclass(frozen=True)
class LoadRecord:
    """One (raw_table, source, partition) load, as written to the load log."""

    load_id: str
    run_id: str | None
    raw_table: str
    source_name: str
    partition: str
    rows: int
    status: str
    started_at: datetime
    finished_at: datetime
    fingerprint: str | None
    path: str


LOAD_LOG_SCHEMA = pa.schema([("load_id", pa.string()), ("run_id", pa.string()), ("raw_table", pa.string()),
                             ("source_name", pa.string()), ("partition", pa.string()), ("rows", pa.int64()),
                             ("status", pa.string()), ("started_at", TS), ("finished_at", TS),
                             ("fingerprint", pa.string()), ("path", pa.string())])


def raw_root(home: Path) -> Path:
    """``<home>/lake/raw``: the tree dbt globs."""
    return Path(home) / "lake" / "raw"


def full_schema(schema: pa.Schema) -> pa.Schema:
    """Declared source schema plus the writer's lineage columns."""
    names = set(schema.names)
    return pa.schema(list(schema) + [f for f in LINEAGE_FIELDS if f.name not in names])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast to exactly `schema`: missing columns become null, extra columns are dropped."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def ensure_schema_file(home: Path, raw_table: str, schema: pa.Schema) -> Path:
    """A zero-row file with the full schema, so readers of `<raw_table>/**/*.parquet` always resolve."""
    path = raw_root(home) / raw_table / "_schema" / "empty.parquet"
    target = full_schema(schema)
    if path.exists() and pq.read_schema(path).equals(target, check_metadata=False):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _scratch(Path(home), "staging").with_suffix(".parquet")
    pq.write_table(target.empty_table(), tmp)
    os.replace(tmp, path)
    return path


def partition_dir(home: Path, raw_table: str, source_name: str, partition_col: str, key: str) -> Path:
    """``lake/raw/<raw_table>/source=<source_name>/<partition_col>=<key>``.

    Each part must be one plain folder name: a partition key can come from data (a billing period
    read from a file), and ``../..`` or ``a/b`` in it would write, swap or delete outside the lake.
    """
    for what, value in (("raw table", raw_table), ("source name", source_name),
                        ("partition column", partition_col), ("partition key", key)):
        if not isinstance(value, str) or value in ("", ".", "..") or any(c in value for c in "/\\\0"):
            raise ValueError(f"raw zone: {what} {value!r} is not a single folder name")
    return raw_root(home) / raw_table / f"source={source_name}" / f"{partition_col}={key}"


def scratch_root(home: Path) -> Path:
    return Path(home) / "lake" / "_scratch"


def _scratch(home: Path, kind: str) -> Path:
    # Temp and retired folders live outside lake/raw (same filesystem, so renames stay atomic):
    # readers glob `lake/raw/<table>/**/*.parquet` and must never match a half-written folder.
    d = scratch_root(home) / kind / uuid.uuid4().hex
    d.parent.mkdir(parents=True, exist_ok=True)
    return d


def remove_scratch(home: Path) -> list[Path]:
    """Delete every scratch folder / file and load-log temp file; returns what was removed.

    A load removes its own scratch when it commits, fails or is interrupted; what is left was left
    by a process that died (kill -9). Only call this while no load can run: holding the home lock.
    """
    gone = [p for p in scratch_root(home).glob("*/*")]
    gone += list(_load_log_dir(home).glob("*/.*.tmp"))
    for p in gone:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    return gone


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(home: Path, tmp_dir: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and _exchange(tmp_dir, final):
        # the new folder is in place in one step; tmp_dir now holds the old contents
        shutil.rmtree(tmp_dir, ignore_errors=True)
    elif final.exists():
        # portable fallback: a microsecond window in which the partition is absent (never half)
        aside = _scratch(home, "retired")
        os.rename(final, aside)
        os.rename(tmp_dir, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(tmp_dir, final)


class StagedPartition:
    """A partition being loaded: parts written to scratch as they come, swapped in on `commit`.

    Lets a large billing period stream through in bounded memory (one batch at a time) while
    readers keep seeing the previous partition until the whole load has been written and
    validated; `discard` (or never committing) leaves the previous partition untouched.
    """

    def __init__(self, home: Path, raw_table: str, source_name: str, partition_col: str, key: str,
                 schema: pa.Schema, load_id: str):
        self.home, self.raw_table, self.source_name, self.key = Path(home), raw_table, source_name, key
        self.schema, self.load_id = schema, load_id
        self.final = partition_dir(self.home, raw_table, source_name, partition_col, key)
        self.started = datetime.now(timezone.utc)
        self.rows, self.parts = 0, 0
        self._tmp: Path | None = _scratch(self.home, "staging")
        self._tmp.mkdir()

    def write(self, table: pa.Table) -> None:
        """Append one part (conformed to the schema, lineage added)."""
        if self._tmp is None:
            raise RuntimeError(f"{self.final}: load already committed or discarded")
        t = conform(table, self.schema)
        n = t.num_rows
        # pa.repeat, not a Python list per row: ~50× faster on a million-row part
        t = (t.append_column(LINEAGE_FIELDS[0], pa.repeat(pa.scalar(self.source_name, pa.string()), n))
              .append_column(LINEAGE_FIELDS[1], pa.repeat(pa.scalar(self.started, TS), n))
              .append_column(LINEAGE_FIELDS[2], pa.repeat(pa.scalar(self.load_id, pa.string()), n))
              .append_column(LINEAGE_FIELDS[3], pa.repeat(pa.scalar(self.key, pa.string()), n)))
        pq.write_table(t, self._tmp / f"part-{self.parts:05d}.parquet", compression="zstd")
        self.parts += 1
        self.rows += n

    def seal(self, mark: bool = False) -> Path:
        """Finish the staged folder without swapping it in; its path. `mark`: tag it with the load
        id, so a recovery can tell it from the old folder a swap leaves in its place."""
        if self._tmp is None:
            raise RuntimeError(f"{self.final}: load already committed or discarded")
        if self.parts == 0:
            self.write(self.schema.empty_table())  # an empty partition still replaces stale rows
        if mark:
            (self._tmp / _mark(self.load_id)).touch()
        return self._tmp

    def commit(self, run_id: str | None, fingerprint: str | None = None) -> LoadRecord:
        """Swap the written parts in as the partition (atomically) and record the load."""
        self.seal()
        try:
            _swap_in(self.home, self._tmp, self.final)
        except BaseException:
            self.discard()
            raise
        self._tmp = None
        rec = LoadRecord(self.load_id, run_id, self.raw_table, self.source_name, self.key, self.rows, "ok",
                         self.started, datetime.now(timezone.utc), fingerprint, str(self.final))
        _append_load_log(self.home, rec)
        return rec

    def discard(self) -> None:
        """Drop the scratch parts; the previous partition stays. No-op once committed."""
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _commits_dir(home: Path) -> Path:
    return Path(home) / "lake" / "_commits"


def _mark(load_id: str) -> str:
    # hidden, not *.parquet: readers glob `**/*.parquet` and never see it; it tells a partition
    # folder swapped in by this load from the old folder the swap left in scratch
    return f".load-{load_id}"


def commit_together(home: Path, load_id: str, staged: list[StagedPartition], run_id: str | None,
                    fingerprints: list[str | None]) -> list[LoadRecord]:
    """Swap in every staged partition of one load (several raw tables of a source), or none.

    Called only once all of them were written and validated. Each swap is atomic; across them an
    intent file (`lake/_commits/<load_id>.json`, durable before the first swap, removed after the
    last load-log row) lists every (staged folder, partition): a process killed between two swaps
    leaves it, and the next run (`recover_commits`, holding the home) finishes the remaining swaps
    from the staged folders, so the source ends whole at the new load, never half old, half new.
    """
    if not staged:
        return []
    entries = []
    for sp, fp in zip(staged, fingerprints):
        tmp = sp.seal(mark=True)
        entries.append({"tmp": str(tmp), "final": str(sp.final), "load_id": sp.load_id, "run_id": run_id,
                        "raw_table": sp.raw_table, "source_name": sp.source_name, "partition": sp.key,
                        "rows": sp.rows, "started_at": sp.started.isoformat(), "fingerprint": fp})
    d = _commits_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    intent, tmp = d / f"{load_id}.json", d / f".{load_id}.json.tmp"
    with open(tmp, "w") as f:
        json.dump(entries, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, intent)
    fsync_dir(d)
    records = [sp.commit(run_id, fp) for sp, fp in zip(staged, fingerprints)]
    intent.unlink()
    return records


def recover_commits(home: Path) -> tuple[int, list[str]]:
    """Finish the multi-table commits a killed process left half done; returns (partitions swapped
    in now, partitions that could not be: their staged folder is gone). Call holding the home
    exclusively, before `remove_scratch` (the staged folders live in scratch)."""
    d = _commits_dir(home)
    done, lost = 0, []
    for intent in sorted(d.glob("*.json")) if d.is_dir() else []:
        for e in json.loads(intent.read_text()):
            final, tmp, mark = Path(e["final"]), Path(e["tmp"]), _mark(e["load_id"])
            if (final / mark).exists():
                continue  # swapped in before the kill (its load-log row may be missing: not re-added)
            if not (tmp / mark).exists():
                lost.append(f"{e['raw_table']}/{e['source_name']}/{e['partition']}")
                continue
            _swap_in(Path(home), tmp, final)
            _append_load_log(Path(home), LoadRecord(
                e["load_id"], e["run_id"], e["raw_table"], e["source_name"], e["partition"], e["rows"], "ok",
                datetime.fromisoformat(e["started_at"]), datetime.now(timezone.utc), e["fingerprint"], str(final)))
            done += 1
        intent.unlink()
    return done, lost


def write_partitions(home: Path, raw_table: str, source_name: str, partition_col: str,
                     parts: dict[str, pa.Table], schema: pa.Schema, load_id: str, run_id: str | None,
                     fingerprint: str | None = None) -> list[LoadRecord]:
    """Write each partition's table (conformed to `schema` + lineage) and swap it in atomically."""
    ensure_schema_file(Path(home), raw_table, schema)
    records = []
    for key, table in parts.items():
        staged = StagedPartition(home, raw_table, source_name, partition_col, key, schema, load_id)
        try:
            staged.write(table)
        except BaseException:
            staged.discard()
            raise
        records.append(staged.commit(run_id, fingerprint))
    return records


def _load_log_dir(home: Path) -> Path:
    return Path(home) / "lake" / "_loads"


def _append_load_log(home: Path, rec: LoadRecord) -> None:
    d = _load_log_dir(home) / rec.raw_table
    d.mkdir(parents=True, exist_ok=True)
    t = pa.Table.from_pylist([asdict(rec)], schema=LOAD_LOG_SCHEMA)
    name = f"{rec.finished_at:%Y%m%dT%H%M%S%f}-{rec.source_name}-{rec.partition}-{rec.load_id}.parquet"
    tmp = d / f".{name}.tmp"
    pq.write_table(t, tmp)
    os.replace(tmp, d / name)


COMPACTED = "log.parquet"  # one per raw table: every load before the last compaction


def _read_log_files(d: Path) -> pa.Table:
    """The load log of one raw table folder: its compacted file plus the loads appended since.

    A compaction (another process) may remove a file between the listing and the read: then the
    folder is read again. A crash between a compaction's rename and its deletes leaves rows in both
    the compacted file and the small files: each load is kept once.
    """
    for _ in range(5):
        try:
            tables = [pq.read_table(f, schema=LOAD_LOG_SCHEMA) for f in sorted(d.glob("*.parquet"))]
            break
        except FileNotFoundError:
            continue
    else:
        raise RuntimeError(f"{d}: the load log kept changing while it was read")
    if not tables:
        return LOAD_LOG_SCHEMA.empty_table()
    t = pa.concat_tables(tables)
    keys = ["load_id", "source_name", "partition", "status"]
    first = t.append_column("_i", pa.array(range(t.num_rows), pa.int64())).group_by(keys).aggregate([("_i", "min")])
    idx = first.column("_i_min")
    t = t.take(pc.take(idx, pc.sort_indices(idx)))
    return t.take(pc.sort_indices(t, [("finished_at", "ascending")]))


def read_load_log(home: Path) -> pa.Table:
    """Every load ever recorded (all raw tables), one row per (raw_table, source, partition) load."""
    dirs = sorted(p for p in _load_log_dir(home).glob("*") if p.is_dir())
    if not dirs:
        return LOAD_LOG_SCHEMA.empty_table()
    return pa.concat_tables([_read_log_files(d) for d in dirs])


def compact_load_log(home: Path) -> tuple[int, int]:
    """Fold each raw table's load log into one file (`log.parquet`); returns (files before, after).

    A load appends one small file per partition it writes (atomic without a lock), so the log grows
    by hundreds of files a run; compaction keeps every row in one file per raw table. Only call this
    holding the home exclusively (no load appends meanwhile).
    """
    before = after = 0
    for d in sorted(p for p in _load_log_dir(home).glob("*") if p.is_dir()):
        files = sorted(d.glob("*.parquet"))
        before += len(files)
        after += 1 if files else 0
        if len(files) <= 1 and all(f.name == COMPACTED for f in files):
            continue
        t = _read_log_files(d)
        tmp = d / f".{COMPACTED}.tmp"
        pq.write_table(t, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, d / COMPACTED)
        fsync_dir(d)  # the compacted file is durable before the files it replaces are deleted
        for f in files:
            if f.name != COMPACTED:
                f.unlink()
    return before, after


def fsync_dir(path: Path) -> None:
    """Make a rename / create inside `path` durable (POSIX: fsync the directory itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def last_fingerprint(home: Path, raw_table: str, source_name: str, partition: str) -> str | None:
    """Fingerprint of the latest successful load of this partition that is still on disk."""
    d = _load_log_dir(home) / raw_table
    if not d.exists():
        return None
    if not partition_dir_exists(home, raw_table, source_name, partition):
        return None
    t = _read_log_files(d)
    mask = pc.and_(pc.and_(pc.equal(t.column("source_name"), source_name), pc.equal(t.column("partition"), partition)),
                   pc.equal(t.column("status"), "ok"))
    hits = t.filter(mask)
    return hits.column("fingerprint")[hits.num_rows - 1].as_py() if hits.num_rows else None


def read_partition(home: Path, raw_table: str, source_name: str, partition_col: str, key: str) -> pa.Table | None:
    """The rows of one partition as last swapped in (lineage columns included); None if absent."""
    d = partition_dir(home, raw_table, source_name, partition_col, key)
    files = sorted(d.glob("*.parquet")) if d.is_dir() else []
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")


def partition_dir_exists(home: Path, raw_table: str, source_name: str, partition: str) -> bool:
    """Whether a partition folder for this source and key is on disk (any partition column)."""
    base = raw_root(home) / raw_table / f"source={source_name}"
    return any(base.glob(f"*={partition}"))


def has_rows(home: Path, raw_table: str, source_name: str) -> bool:
    """Whether any partition of this source in this raw table holds a row (Parquet footers only)."""
    base = raw_root(home) / raw_table / f"source={source_name}"
    return any(pq.read_metadata(f).num_rows > 0 for f in base.glob("*=*/*.parquet"))


def _split(table: pa.Table, ts_column: str, fmt: str) -> dict[str, pa.Table]:
    if table.num_rows == 0:
        return {}
    keys = pc.strftime(table.column(ts_column), format=fmt)
    if keys.null_count:
        raise ValueError(f"{ts_column} has null timestamps; cannot assign rows to partitions")
    out = {}
    for key in pc.unique(keys).to_pylist():
        out[key] = table.filter(pc.equal(keys, key))
    return out


def split_by_day(table: pa.Table, ts_column: str) -> dict[str, pa.Table]:
    """{YYYY-MM-DD (UTC): rows} by a timestamp column."""
    return _split(table, ts_column, "%Y-%m-%d")


def split_by_month(table: pa.Table, ts_column: str) -> dict[str, pa.Table]:
    """{YYYY-MM (UTC): rows} by a timestamp column."""
    return _split(table, ts_column, "%Y-%m")
