"""GPU telemetry written by the aispend collector (format v1): hourly gzip JSON-lines files.

Layout: ``<root>/<host>/YYYY-MM-DD/<host>-YYYYMMDDTHH.jsonl.gz``; lines are ``record`` = ``meta``
(one, first), ``process`` and ``gpu`` (one per GPU per sample). Only files whose hour falls in
the window are opened; only ``gpu`` records are returned (keyed by GPU UUID, never index).
Unknown record kinds and fields are ignored so newer collectors stay readable; declared fields
a collector did not write are null (``sm_active`` / ``tensor_active`` are read as aliases of the
GPM activity fields).
`root` is a local directory or an ``s3://bucket/prefix`` holding many hosts' trees (read through
the AWS connector's store: same client options, same errors).
DuckDB's JSON reader does the parsing: ~2 M samples per month read in seconds, not minutes.

``read_alibaba_gentd26`` adapts the public Alibaba GenAI serving trace (GenTD26: per-pod GPU duty
cycle + memory CSVs in tar.gz) to the same samples (source option ``format: alibaba_gentd26``).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tarfile
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.aws_cur import s3_objects
from connectors.errors import SourceError

SOURCE = "gpu_telemetry"
TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {"gpu_samples": pa.schema([
    ("ts", TS), ("host", pa.string()), ("gpu_uuid", pa.string()), ("gpu_index", pa.int32()), ("name", pa.string()),
    ("util_gpu_pct", pa.float64()), ("util_mem_pct", pa.float64()), ("mem_used_bytes", pa.int64()),
    ("mem_total_bytes", pa.int64()), ("power_w", pa.float64()), ("power_limit_w", pa.float64()),
    ("energy_mj", pa.int64()), ("temp_c", pa.float64()), ("sm_clock_mhz", pa.float64()),
    ("gpm_sm_activity_pct", pa.float64()), ("gpm_tensor_activity_pct", pa.float64()), ("mig_mode", pa.bool_()),
    ("driver_version", pa.string()), ("nvml_version", pa.string()), ("collector_version", pa.string()),
    # DCGM-exporter only (null from the collector): DCGM_FI_PROF_GR_ENGINE_ACTIVE in %, and the
    # samples of metrics aispend does not read whose value was not a number (skipped, counted)
    ("gr_engine_active_pct", pa.float64()), ("unparsed_values", pa.int64()),
    ("_source_uri", pa.string())])}
PARTITION_TS_COLUMN = {"gpu_samples": "ts"}
# a sample is named by IDENTITY in range errors (connectors.plausible.GPU_BOUNDS)
IDENTITY = ("host", "gpu_uuid", "ts")

_DUCK_TYPES = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.int64(): "BIGINT", pa.int32(): "INTEGER",
               pa.bool_(): "BOOLEAN", TS: "VARCHAR"}
_HOUR = re.compile(r"(\d{8}T\d{2})\.jsonl(\.gz)?$")


def _in_window(name: str, start: datetime, end: datetime) -> bool:
    m = _HOUR.search(name)
    if not m:
        return True
    hour = datetime.strptime(m.group(1), "%Y%m%dT%H").replace(tzinfo=timezone.utc)
    # a sample's ts is the end of its window, so the first sample of the next hour file
    # can belong to this hour's boundary: include neighbours, filter by ts below
    return start - timedelta(hours=1) <= hour < end


def hourly_files(uri: str, start: datetime, end: datetime) -> list[str]:
    """Local collector files whose hour overlaps [start, end) (by name; unnamed files are always read)."""
    root = Path(uri)
    if not root.exists():
        raise SourceError(SOURCE, uri, "telemetry directory not found")
    return [str(f) for f in ([root] if root.is_file() else sorted(root.rglob("*.jsonl*")))
            if _in_window(f.name, start, end)]


def _read_json(files: list[str], start: datetime, end: datetime) -> pa.Table:
    schema = SCHEMAS["gpu_samples"]
    # integer counters are read as DOUBLE (exact below 2**53, ~285 years at 1 kW in mJ) and rounded,
    # so a collector writing 1.5e12 or 123.0 does not fail the file
    columns = {"record": "VARCHAR", "sm_active": "DOUBLE", "tensor_active": "DOUBLE",
               **{f.name: "DOUBLE" if f.type == pa.int64() else _DUCK_TYPES[f.type]
                  for f in schema if f.name != "_source_uri"}}
    col_sql = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    exprs = {"ts": "cast(ts as timestamptz)", "_source_uri": "filename",
             **{f.name: f"cast(round({f.name}) as bigint)" for f in schema if f.type == pa.int64()},
             "gpm_sm_activity_pct": "coalesce(gpm_sm_activity_pct, sm_active)",
             "gpm_tensor_activity_pct": "coalesce(gpm_tensor_activity_pct, tensor_active)"}
    select = ", ".join(f"{exprs.get(f.name, f.name)} as {f.name}" for f in schema)
    con = duckdb.connect()
    try:
        con.execute("set timezone = 'UTC'")
        con.execute("set enable_progress_bar = false")  # a library: never draw on the caller's terminal
        # no ORDER BY: rows keep file order (files sorted, insertion order preserved); sorting a
        # day of a fleet doubled read time and peak memory (1.1M rows: 5.5 → 2.8 s, 938 → 546 MiB)
        sql = (f"select {select} from read_json(?, format='newline_delimited', columns={col_sql}, "
               f"filename=true, compression='auto') where record = 'gpu' and cast(ts as timestamptz) >= ? "
               f"and cast(ts as timestamptz) < ?")
        return con.sql(sql, params=[files, start, end]).to_arrow_table()
    finally:
        con.close()


def _bad_file(files: list[str], start: datetime, end: datetime) -> str | None:
    """The first file that fails alone (only called after a failed read, to name the culprit)."""
    for f in files:
        try:
            _read_json([f], start, end)
        except duckdb.Error:
            return f
    return None


def read_samples(uri: str, start: datetime, end: datetime, *, s3_client=None, fmt: str | None = None) -> pa.Table:
    """GPU samples (``record == "gpu"``) with ts in [start, end) from a collector tree (``gpu_samples``).

    `uri`: a local directory / file, or an ``s3://bucket/prefix`` with ``<host>/...`` below it
    (`s3_client` from ``connectors.aws_cur.s3_client``). Only hour files overlapping the window
    are opened (S3 objects are downloaded to a temporary folder; ``_source_uri`` keeps the s3://
    URI). Declared fields a collector did not write are null; other record kinds and unknown
    fields are ignored. A corrupt or truncated file raises SourceError naming that file; an S3
    prefix with no collector files at all raises too. ``fmt='alibaba_gentd26'`` reads that trace.
    """
    if fmt == "alibaba_gentd26":
        return read_alibaba_gentd26(uri, start, end)
    if fmt not in (None, "collector"):
        raise SourceError(SOURCE, uri, f"unknown format {fmt!r} (collector | alibaba_gentd26)")
    tables = list(iter_samples(uri, start, end, s3_client=s3_client))
    return pa.concat_tables(tables) if tables else SCHEMAS["gpu_samples"].empty_table()


# Hour files read together: one day of 8 GPUs' hour files is 24 files, ~70k rows; a fleet's day is
# read in slices of this many files, so memory stays bounded whatever the number of hosts.
FILES_PER_BATCH = 96


def iter_samples(uri: str, start: datetime, end: datetime, *, s3_client=None) -> Iterator[pa.Table]:
    """Collector samples in [start, end) as batches of FILES_PER_BATCH hour files (see read_samples)."""
    if not uri.startswith("s3://"):
        files = hourly_files(uri, start, end)
        for i in range(0, len(files), FILES_PER_BATCH):
            yield _read_files(uri, files[i:i + FILES_PER_BATCH], start, end, {})
        return
    store, keys = s3_objects(uri, s3_client, (".jsonl", ".jsonl.gz"), source=SOURCE)
    keys = [k for k in keys if _in_window(k.rsplit("/", 1)[-1], start, end)]
    for b in range(0, len(keys), FILES_PER_BATCH):
        with tempfile.TemporaryDirectory(prefix="aispend-gpu-") as tmp:
            local: dict[str, str] = {}
            for i, k in enumerate(keys[b:b + FILES_PER_BATCH]):
                path = os.path.join(tmp, f"{i:06d}-{k.rsplit('/', 1)[-1]}")
                try:
                    data = store.read_bytes(k)
                except SourceError as e:
                    raise SourceError(SOURCE, e.where, e.problem) from None
                with open(path, "wb") as fh:
                    fh.write(data)
                local[path] = k
            yield _read_files(uri, list(local), start, end, local)


def _read_files(uri: str, files: list[str], start: datetime, end: datetime, rename: dict[str, str]) -> pa.Table:
    schema = SCHEMAS["gpu_samples"]
    if not files:
        return schema.empty_table()
    try:
        t = _read_json(files, start, end)
    except duckdb.Error as e:
        bad = _bad_file(files, start, end)
        where = rename.get(bad, bad) if bad else uri
        raise SourceError(SOURCE, where, f"cannot read collector file (truncated or corrupt?): "
                                         f"{str(e).splitlines()[0][:300]}") from None
    if rename and t.num_rows:
        paths = list(rename)
        idx = pc.index_in(t["_source_uri"], value_set=pa.array(paths))
        t = t.set_column(t.schema.get_field_index("_source_uri"), "_source_uri",
                         pc.take(pa.array([rename[p] for p in paths]), idx))
    return pa.Table.from_arrays([t.column(f.name).cast(f.type) for f in schema], schema=schema)


# --- Alibaba GenTD26 trace adapter ----------------------------------------------------------------
ALIBABA_FILES = {"duty": "pod_gpu_duty_cycle_anon.tar.gz", "mem": "pod_gpu_memory_used_bytes_anon.tar.gz"}
ALIBABA_GPU_NAME = "NVIDIA A100-SXM4-80GB"  # not stated by the trace; an assumption (memory ≤ 47 GiB used)


def _tar_csv(path: Path) -> csv.DictReader:
    try:
        tf = tarfile.open(path)
        member = next(m for m in tf.getmembers() if m.name.endswith(".csv"))
        return csv.DictReader(io.TextIOWrapper(tf.extractfile(member), encoding="utf-8"))
    except (OSError, tarfile.TarError, StopIteration) as e:
        raise SourceError(SOURCE, str(path), f"cannot open the trace archive ({type(e).__name__}: {e})") from None


def read_alibaba_gentd26(uri: str, start: datetime, end: datetime, *, gpu_name: str = ALIBABA_GPU_NAME) -> pa.Table:
    """Alibaba GenTD26 (``cluster-trace-v2026-GenAI``) as GPU samples: one GPU per pod.

    Reads ``pod_gpu_duty_cycle_anon.tar.gz`` (``value`` = GPU duty cycle %, ~57 s samples) and, when
    present, ``pod_gpu_memory_used_bytes_anon.tar.gz`` from the directory `uri`, in place.
    Mapping: pod (``container_ip``, an MD5) → host ``gentd26-<first 8 hex>`` and gpu_uuid
    ``GENTD26-<md5>``; ``timestamp_anon`` (unix s, shifted by the publisher) → ts; duty cycle →
    util_gpu_pct; memory → mem_used_bytes at the same (pod, timestamp). The trace has no power,
    energy or GPU model: those stay null (dbt then models energy from the GPU model's idle power
    and TDP) and ``name`` is `gpu_name` (an assumption; the trace does not say).
    """
    root = Path(uri)
    duty_path = root / ALIBABA_FILES["duty"]
    if not duty_path.is_file():
        raise SourceError(SOURCE, str(duty_path), "Alibaba GenTD26 duty-cycle archive not found")
    lo, hi = start.timestamp(), end.timestamp()
    mem: dict[tuple[str, float], int] = {}
    if (root / ALIBABA_FILES["mem"]).is_file():
        for n, r in enumerate(_tar_csv(root / ALIBABA_FILES["mem"]), 2):
            try:
                mem[(r["container_ip"], float(r["timestamp_anon"]))] = int(float(r["value"]))
            except (KeyError, TypeError, ValueError) as e:
                raise SourceError(SOURCE, f"{root / ALIBABA_FILES['mem']}:{n}", f"malformed row ({e})") from None
    ts, pods, util, used = [], [], [], []
    for n, r in enumerate(_tar_csv(duty_path), 2):
        try:
            t, pod, v = float(r["timestamp_anon"]), r["container_ip"], float(r["value"])
        except (KeyError, TypeError, ValueError) as e:
            raise SourceError(SOURCE, f"{duty_path}:{n}", f"malformed row ({e})") from None
        if not pod or not lo <= t < hi:
            continue
        ts.append(datetime.fromtimestamp(t, timezone.utc))
        pods.append(pod)
        util.append(v)
        used.append(mem.get((pod, t)))
    n = len(ts)
    schema = SCHEMAS["gpu_samples"]
    cols = {"ts": pa.array(ts, TS), "host": pa.array([f"gentd26-{p[:8]}" for p in pods], pa.string()),
            "gpu_uuid": pa.array([f"GENTD26-{p}" for p in pods], pa.string()),
            "gpu_index": pa.array([0] * n, pa.int32()), "name": pa.array([gpu_name] * n, pa.string()),
            "util_gpu_pct": pa.array(util, pa.float64()), "mem_used_bytes": pa.array(used, pa.int64()),
            "collector_version": pa.array(["alibaba_gentd26"] * n, pa.string()),
            "_source_uri": pa.array([str(duty_path)] * n, pa.string())}
    t = pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)
    return t.sort_by([("ts", "ascending"), ("gpu_uuid", "ascending")])
