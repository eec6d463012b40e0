"""Benchmark: N GPUs × 1 day of collector files at 10 s → raw zone → `fct_gpu_hours`, against bare DuckDB.

Target (issue "On-prem GPUs are measured truthfully and priced fully"): 1,000 GPUs × 1 day at 10 s
(8.64M samples) → fct_gpu_hours in under 60 s, peak RSS under 2 GiB. Measured in three child
processes, each with its own wall time and peak RSS (``getrusage(RUSAGE_CHILDREN)``):
  ingest   the connector (``connectors.gpu_telemetry.read_samples`` over the collector tree, DuckDB's
           JSON reader) → the Great Expectations suite → the raw-zone writer (one day partition);
  dbt      ``dbt build --select +fct_gpu_hours`` (seeds, staging, intervals, hours, mart, their tests);
  baseline bare DuckDB: the same aggregation (lag per GPU, counter deltas with reset/gap rules, busy
           fraction, hourly cost from the same seeds) from the same raw Parquet to a Parquet file.
Ingest is one configured source per rack of RACK_HOSTS hosts (``<prefix>/rack-NN/<host>/...``, as a
fleet is configured: one source per rack / S3 prefix), loaded one after another: the connector and
the GE suite hold a source-day in memory, so peak RSS scales with the rack, not the fleet (one
source of 1,000 GPUs-days = 8.64M rows needed > 6 GiB when tried).
The collector files (125 hosts × 8 GPUs × 24 hourly gzip JSON-lines files, format v1) are written
by DuckDB from a deterministic pattern: utilisation/SM activity bursts, power 70–700 W, an energy
counter that integrates power, and one driver reload (counter reset) per host at 12:00.

    python tests/benchmarks/bench_gpu_hours.py [--gpus 1000] [--dir /tmp/aispend-bench]

Not a test: timings vary by machine; the ratios are what to compare. Results are printed and
written to ``<dir>/results-gpu-hours.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DAY = "2026-11-10"
GPUS_PER_HOST = 8
RACK_HOSTS = 16  # 128 GPUs, 1.1M samples per source-day

_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:]).returncode
wall = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall_s": round(wall, 2), "peak_rss_mib": round(rss, 1), "rc": rc}))
"""

# connector → GE suite → raw zone, with per-phase timings on stdout
_INGEST = r"""
import sys, time
from datetime import datetime, timezone
sys.path.insert(0, sys.argv[3])
from connectors import gpu_telemetry, rawzone
from pipelines.quality.ge import validate
import pyarrow as pa
from pathlib import Path
root, home = Path(sys.argv[1]), sys.argv[2]
start = datetime.fromisoformat(sys.argv[4] + "T00:00:00+00:00")
end = datetime.fromisoformat(sys.argv[5] + "T00:00:00+00:00")
schema = gpu_telemetry.SCHEMAS["gpu_samples"]
rawzone.ensure_schema_file(home, "gpu_samples", schema)
rows = 0
t_read = t_ge = t_write = 0.0
for rack in sorted(p for p in root.iterdir() if p.is_dir()):
    t = time.monotonic()
    table = gpu_telemetry.read_samples(str(rack), start, end)
    t_read += time.monotonic() - t
    parts = rawzone.split_by_day(table, "ts")
    t = time.monotonic()
    outcome = validate("gpu_samples", pa.concat_tables(
        [p.append_column("_partition", pa.array([k] * p.num_rows, pa.string())) for k, p in parts.items()]), schema)
    t_ge += time.monotonic() - t
    if not outcome.success:
        sys.exit(outcome.summary())
    t = time.monotonic()
    rawzone.write_partitions(home, "gpu_samples", rack.name, "day", parts, schema, "bench-load", None)
    t_write += time.monotonic() - t
    rows += table.num_rows
    del table, parts
print(f"ingest rows={rows} read_s={t_read:.1f} ge_s={t_ge:.1f} write_s={t_write:.1f}")
"""

# the same aggregation as int_gpu_samples__intervals + int_gpu_hours, straight from raw Parquet
_BASELINE = r"""
import sys, duckdb
raw, seeds, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("set TimeZone = 'UTC'")
con.execute(f"create table gpu_models as select * from read_csv('{seeds}/gpu_models.csv')")
con.execute(f"create table sites as select * from read_csv('{seeds}/sites.csv')")
con.execute(f"create table host_sites as select * from read_csv('{seeds}/host_sites.csv')")
con.execute(f'''
copy (
with s as (
  select ts, host, gpu_uuid, name, util_gpu_pct, gpm_sm_activity_pct, power_w, energy_mj / 1000.0 as e
  from read_parquet('{raw}/gpu_samples/**/*.parquet', union_by_name=true)
), l as (
  select *, lag(ts) over w as t0, lag(e) over w as e0, lag(power_w) over w as p0
  from s window w as (partition by gpu_uuid order by ts)
), i as (
  select *, epoch_ms(ts) / 1000.0 - epoch_ms(t0) / 1000.0 as dt, e - e0 as de from l where t0 is not null
), n as (
  select *, median(dt) over (partition by gpu_uuid) as nom from i
), c as (
  select gpu_uuid, host, name, date_trunc('hour', t0) as hour_at, least(dt, 3 * nom) as cs,
    case when de >= 0 and dt <= 3 * nom then de
         else (coalesce(p0, power_w) + power_w) / 2 * least(dt, 3 * nom) end as ej,
    coalesce(gpm_sm_activity_pct, util_gpu_pct) / 100.0 * least(dt, 3 * nom) as bs
  from n
), h as (
  select gpu_uuid, hour_at, max(host) as host, max(name) as name, sum(cs) as observed_s, sum(bs) as busy_s,
         sum(ej) as energy_j from c group by all
)
select h.*, busy_s / observed_s as busy_fraction, energy_j / 3.6e6 as energy_kwh,
  (g.purchase_price_usd + g.server_overhead_usd_per_gpu) / (g.useful_life_years * 8760)
  + energy_j / 3.6e6 * st.usd_per_kwh * st.pue + st.colo_usd_per_kw_month * g.tdp_w / 1000 / 730
  + st.ops_usd_per_gpu_month / 730 as cost_total_usd
from h join gpu_models g on h.name like g.nvml_name_pattern
left join host_sites hs on hs.host = h.host
join sites st on st.site = coalesce(hs.site, 'default')
) to '{out}' (format parquet)
''')
"""


def make_collector_files(root: Path, gpus: int) -> int:
    """Collector format v1 files for `gpus` GPUs × 8,640 samples; returns the sample count."""
    import duckdb
    hosts = -(-gpus // GPUS_PER_HOST)
    tmp = root / "_duck"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = false")
    # Samples at the end of each 10 s window; a GPU is busy in bursts (hash pattern), power follows
    # SM activity, the energy counter is the running integral of power and resets at 12:00.
    con.execute(f"""
    copy (
      with base as (
        select g, i,
          'node-' || lpad(cast(g // {GPUS_PER_HOST} as varchar), 3, '0') as host,
          timestamptz '{DAY} 00:00:00+00' + to_seconds(10 * (i + 1)) as ts,
          (hash(g * 100003 + i // 30) % 100) as r
        from range({gpus}) t(g), range(8640) u(i)
      ), m as (
        select *, case when r < 30 then 40 + r * 2 else 0 end as util,
                  case when r < 30 then 10 + r else 0 end as sm
        from base
      ), p as (
        select *, round(70 + 6.3 * sm * 1.5, 1) as power from m
      )
      select 'gpu' as record, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') as ts, host,
        'GPU-' || md5(cast(g as varchar)) as gpu_uuid, cast(g % {GPUS_PER_HOST} as integer) as gpu_index,
        'NVIDIA H100 80GB HBM3' as name, cast(util as double) as util_gpu_pct, cast(sm / 2 as double) as util_mem_pct,
        cast(70000000000 as bigint) as mem_used_bytes, cast(85520809984 as bigint) as mem_total_bytes,
        power as power_w, 700.0 as power_limit_w,
        cast(sum(round(power * 10000)) over (partition by g, i >= 4320 order by i) as bigint) as energy_mj,
        round(29 + 0.058 * power) as temp_c, 1980.0 as sm_clock_mhz, cast(sm as double) as gpm_sm_activity_pct,
        cast(sm * 0.55 as double) as gpm_tensor_activity_pct, false as mig_mode, '550.90.07' as driver_version,
        '12.550.90.07' as nvml_version, '0.1.0' as collector_version,
        host as h_dir, strftime(ts - interval 1 microsecond, '%Y%m%dT%H') as hour_key
      from p
    ) to '{tmp}' (format json, compression gzip, partition_by (h_dir, hour_key), write_partition_columns false)
    """)
    con.close()
    n = 0
    for f in tmp.rglob("*.gz"):
        host = f.parent.parent.name.split("=", 1)[1]
        hour = f.parent.name.split("=", 1)[1]
        rack = f"rack-{int(host.split('-')[1]) // RACK_HOSTS:02d}"
        dest = root / rack / host / DAY / f"{host}-{hour}.jsonl.gz"
        dest.parent.mkdir(parents=True, exist_ok=True)
        f.rename(dest)
        n += 1
    shutil.rmtree(tmp)
    return gpus * 8640 if n == hosts * 24 else -1


def _measure(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    if out.returncode != 0:
        sys.exit(f"measure failed: {out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        sys.exit(f"{cmd[:3]} failed (rc {res['rc']}): {out.stdout[-3000:]} {out.stderr[-3000:]}")
    res["output"] = "\n".join(out.stdout.strip().splitlines()[:-1])
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpus", type=int, default=int(os.environ.get("BENCH_GPUS", 1000)))
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp/aispend-bench"))
    ap.add_argument("--reuse-files", action="store_true",
                    help="keep collector files of a previous run of the same size")
    args = ap.parse_args()
    work = Path(args.dir) / "gpu-hours"
    files, home = work / "collector", work / "home"
    hosts = -(-args.gpus // GPUS_PER_HOST)
    reuse = args.reuse_files and files.is_dir() and len(list(files.rglob("*.jsonl.gz"))) == hosts * 24
    for p in ([home, work / "build.duckdb", work / "baseline.parquet"] if reuse else [work]):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    files.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True)

    t = time.monotonic()
    samples = args.gpus * 8640 if reuse else make_collector_files(files, args.gpus)
    if samples < 0:
        sys.exit("collector files: unexpected file count")
    size = sum(f.stat().st_size for f in files.rglob("*.gz"))
    print(f"collector files: {args.gpus:,} GPUs × 8,640 samples = {samples:,} samples in "
          f"{len(list(files.rglob('*.gz')))} hourly files ({size / 2**20:.0f} MiB gzip), "
          + ("reused" if reuse else f"written in {time.monotonic() - t:.1f}s"))

    ingest = _measure([sys.executable, "-c", _INGEST, str(files), str(home), str(REPO), DAY, "2026-11-11"])
    raw = home / "lake" / "raw"
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "AISPEND_RAW_ROOT": str(raw), "AISPEND_DBT_DB_PATH": str(work / "build.duckdb"),
           "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt_run = _measure([str(dbt) if dbt.exists() else "dbt", "build", "--select", "+fct_gpu_hours",
                        "--exclude-resource-type", "unit_test", "--project-dir", str(REPO / "dbt"),
                        "--profiles-dir", str(REPO / "dbt"), "--quiet"], env, cwd=REPO / "dbt")
    baseline = _measure([sys.executable, "-c", _BASELINE, str(raw), str(REPO / "dbt" / "seeds"),
                         str(work / "baseline.parquet")])

    import duckdb
    con = duckdb.connect(str(work / "build.duckdb"), read_only=True)
    n, busy, kwh, total, idle = con.execute(
        "select count(*), avg(busy_fraction), sum(energy_kwh), sum(cost_total_usd), sum(cost_idle_usd) "
        "from main.fct_gpu_hours").fetchone()
    con.close()
    bn, bkwh, btotal = duckdb.connect().execute(
        "select count(*), sum(energy_kwh), sum(cost_total_usd) from read_parquet(?)",
        [str(work / "baseline.parquet")]).fetchone()
    if n != args.gpus * 24 or bn != n or abs(kwh - bkwh) > 1e-6 * kwh or abs(float(total) - btotal) > 1e-6 * btotal:
        sys.exit(f"fct_gpu_hours disagrees with the baseline: {n} vs {bn} rows, {kwh} vs {bkwh} kWh, "
                 f"{total} vs {btotal} USD")

    total_s = ingest["wall_s"] + dbt_run["wall_s"]
    peak = max(ingest["peak_rss_mib"], dbt_run["peak_rss_mib"])
    print(f"\n{'':34}{'wall s':>10}{'peak RSS MiB':>15}")
    print(f"{'ingest (connector→GE→raw zone)':34}{ingest['wall_s']:>10.1f}{ingest['peak_rss_mib']:>15.0f}")
    print(f"    {ingest['output'].strip()}")
    print(f"{'dbt build +fct_gpu_hours':34}{dbt_run['wall_s']:>10.1f}{dbt_run['peak_rss_mib']:>15.0f}")
    print(f"{'bare DuckDB (same aggregation)':34}{baseline['wall_s']:>10.1f}{baseline['peak_rss_mib']:>15.0f}")
    print(f"{'ratio dbt / DuckDB':34}{dbt_run['wall_s'] / baseline['wall_s']:>10.2f}"
          f"{dbt_run['peak_rss_mib'] / baseline['peak_rss_mib']:>15.2f}")
    print(f"{'ratio (ingest+dbt) / DuckDB':34}{total_s / baseline['wall_s']:>10.2f}")
    print(f"targets: samples → fct_gpu_hours < 60 s ({total_s:.1f} s: {'met' if total_s < 60 else 'NOT met'}), "
          f"peak RSS < 2048 MiB ({peak:.0f}: {'met' if peak < 2048 else 'NOT met'}); fct_gpu_hours: {n:,} GPU-hours, "
          f"mean busy {busy:.3f}, {kwh:,.1f} kWh, {float(total):,.2f} USD of which idle {float(idle):,.2f} "
          f"(= bare DuckDB's {btotal:,.2f})")
    (Path(args.dir) / "results-gpu-hours.json").write_text(json.dumps({
        "gpus": args.gpus, "samples": samples, "ingest": {k: v for k, v in ingest.items()},
        "dbt": {k: v for k, v in dbt_run.items() if k != "output"},
        "baseline": {k: v for k, v in baseline.items() if k != "output"},
        "dbt_time_ratio": round(dbt_run["wall_s"] / baseline["wall_s"], 2)}, indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
