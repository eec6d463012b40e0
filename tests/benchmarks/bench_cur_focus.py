"""Benchmark: N CUR 2.0 rows (Parquet export) → raw zone → `focus_costs`, against bare DuckDB.

Target (issue "Cloud bills flow in correctly"): the whole aispend path — manifest discovery, the
connector, the Great Expectations suite, the atomic raw-zone swap, the dbt build and the publish —
within 3× the wall time of a bare DuckDB ``COPY (SELECT <the FOCUS projection>) TO … (FORMAT
parquet)`` over the same files, measured side by side in the same run; peak RSS under 2 GiB.

Both sides run as child processes of a small wrapper that reports the child's wall time and peak
RSS (``getrusage(RUSAGE_CHILDREN)``), so one does not inherit the other's memory. The export is
the demo organisation's October CUR 2.0 table tiled to N rows (fresh line-item ids, same map
columns and value mix) and split into files of 500k rows, in the real Data Exports layout.

    python tests/benchmarks/bench_cur_focus.py [--rows 5000000] [--dir /tmp/aispend-bench]

The same run on a 10k-row export (``--floor-rows``) is measured too: the fixed cost (interpreter
and library start-up, Dagster, the dbt build of every model and test, the publish) that no speed on
the data path removes, reported as a multiple of the COPY.

Not a test: timings vary by machine; the ratios are what to compare. Results are printed and
written to ``<dir>/results-cur-focus.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from _measure import measure, table  # noqa: E402

PERIOD = "2026-10"
FILE_ROWS = 500_000

# The bare-DuckDB side: the same FOCUS projection the dbt models compute for AWS (casts to
# DECIMAL, UTC timestamps, charge/service mapping joins from the same seeds, effective cost by
# line-item type, tag attribution from JSON), straight from the export files to Parquet.
_BASELINE = r"""
import sys, duckdb
files, seeds, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("set TimeZone = 'UTC'")
con.execute(f"create table charge_map as select * from read_csv('{seeds}/charge_category_map.csv', all_varchar=true)")
con.execute(f"create table service_map as select * from read_csv('{seeds}/service_category_map.csv', all_varchar=true)")
con.execute(f"create table gpu_map as select * from read_csv('{seeds}/cloud_gpu_instances.csv', all_varchar=true)")
con.execute(f'''
copy (
  select
    cast(line_item_unblended_cost as decimal(38,10))                       as BilledCost,
    case when line_item_line_item_type = 'SavingsPlanCoveredUsage'
           then cast(coalesce(savings_plan_savings_plan_effective_cost, line_item_unblended_cost) as decimal(38,10))
         when line_item_line_item_type = 'DiscountedUsage'
           then cast(coalesce(reservation_effective_cost, line_item_unblended_cost) as decimal(38,10))
         when line_item_line_item_type = 'SavingsPlanNegation' then cast(0 as decimal(38,10))
         else cast(line_item_unblended_cost as decimal(38,10)) end          as EffectiveCost,
    cast(coalesce(pricing_public_on_demand_cost, line_item_unblended_cost) as decimal(38,10)) as ListCost,
    bill_payer_account_id                                                  as BillingAccountId,
    line_item_currency_code                                                as BillingCurrency,
    bill_billing_period_start_date                                         as BillingPeriodStart,
    bill_billing_period_end_date                                           as BillingPeriodEnd,
    line_item_usage_start_date                                             as ChargePeriodStart,
    line_item_usage_end_date                                               as ChargePeriodEnd,
    coalesce(c.charge_category, 'Usage')                                   as ChargeCategory,
    line_item_line_item_description                                        as ChargeDescription,
    line_item_usage_amount                                                 as ConsumedQuantity,
    pricing_unit                                                           as PricingUnit,
    bill_invoice_id                                                        as InvoiceId,
    'AWS'                                                                  as ProviderName,
    product_region_code                                                    as RegionId,
    product['location']                                                    as RegionName,
    nullif(line_item_resource_id, '')                                      as ResourceId,
    coalesce(s.service_category, 'Other')                                  as ServiceCategory,
    coalesce(s.service_name, line_item_product_code)                       as ServiceName,
    product_sku                                                            as SkuId,
    line_item_usage_type                                                   as SkuMeter,
    line_item_usage_account_id                                             as SubAccountId,
    to_json(resource_tags)                                                 as Tags,
    resource_tags['user_team']                                             as x_team,
    resource_tags['user_application']                                      as x_application,
    g.gpu_model                                                            as x_gpu_model,
    md5(concat_ws('|', identity_line_item_id, identity_time_interval))     as x_line_id
  from read_parquet('{files}') as cur
  left join charge_map c on c.provider = 'aws' and c.line_item_type = cur.line_item_line_item_type
  left join service_map s on s.provider = 'aws' and s.service_code = cur.line_item_product_code
  left join gpu_map g on g.provider = 'aws' and g.instance_type = cur.product_instance_type
) to '{out}' (format parquet)
''')
"""


def make_export(root: Path, rows: int) -> float:
    """The demo's October CUR 2.0 tiled to `rows` rows, in files of FILE_ROWS; returns Σ unblended."""
    from demo import aws_cur
    from demo._common import Window

    tables, _ = aws_cur.build(7, Window(date(2026, 10, 1), date(2026, 10, 31)), last_closed=PERIOD)
    base = tables[PERIOD]
    reps = -(-rows // base.num_rows)
    big = pa.concat_tables([base] * reps).slice(0, rows)
    # unique line items: the tiled copies would otherwise share identity_line_item_id
    ids = pc.binary_join_element_wise(big.column("identity_line_item_id"),
                                      pa.array([str(i) for i in range(rows)], pa.string()), "-")
    big = big.set_column(big.schema.get_field_index("identity_line_item_id"), "identity_line_item_id", ids)
    # the demo's own manifest writer first (it also writes part 00001, which ours then replaces)
    aws_cur.write_period(root, PERIOD, base.slice(0, 0))
    data_dir = aws_cur.data_path(root, PERIOD).parent
    keys = []
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        name = f"{aws_cur.EXPORT_NAME}-{i + 1:05d}.snappy.parquet"
        pq.write_table(big.slice(start, FILE_ROWS), data_dir / name, compression="snappy")
        keys.append(f"s3://{aws_cur.BUCKET}/{aws_cur.PREFIX}/{aws_cur.EXPORT_NAME}/data/BILLING_PERIOD={PERIOD}/{name}")
    mp = aws_cur.manifest_path(root, PERIOD)
    manifest = json.loads(mp.read_text())
    manifest["dataFiles"] = keys
    mp.write_text(json.dumps(manifest, indent=2))
    return float(pc.sum(big.column("line_item_unblended_cost")).as_py())


def run_aispend(work: Path, rows: int) -> tuple[dict, Path, float]:
    """`aispend run` (fresh home) on an export of `rows` rows under `work`: (measure, home, Σ unblended)."""
    shutil.rmtree(work, ignore_errors=True)
    export, home = work / "export", work / "home"
    t = time.monotonic()
    total = make_export(export, rows)
    print(f"export: {rows:,} CUR 2.0 rows in {len(list(export.rglob('*.parquet')))} files "
          f"({sum(f.stat().st_size for f in export.rglob('*.parquet')) / 2**20:.0f} MiB), "
          f"Σ unblended {total:,.2f} USD, generated in {time.monotonic() - t:.1f}s")
    home.mkdir(parents=True)
    config = work / "aispend.yaml"
    config.write_text(f"home: {home}\nstart_date: 2026-10-01\nsources:\n"
                      f"  - {{name: aws, type: aws_cur, uri: {export}}}\n")
    env = {**os.environ, "AISPEND_HOME": str(home)}
    res = measure([sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--end", "2026-10-31"], env)
    return res, home, total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 5_000_000)))
    ap.add_argument("--floor-rows", type=int, default=10_000,
                    help="also run aispend on an export this small: its fixed cost (start-up, Dagster, the "
                         "dbt build of every model and test, publish), whatever the data; 0 skips it")
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp/aispend-bench"))
    args = ap.parse_args()
    work = Path(args.dir) / "cur-focus"
    aispend, home, total = run_aispend(work, args.rows)
    export = work / "export"
    files = str(export / "data" / "*" / "*.parquet")
    baseline = measure([sys.executable, "-c", _BASELINE, files, str(REPO / "dbt" / "seeds"),
                        str(work / "baseline.parquet")])
    floor = run_aispend(Path(args.dir) / "cur-focus-floor", args.floor_rows)[0] if args.floor_rows else None

    import duckdb
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    n, billed = con.execute("select count(*), sum(BilledCost) from main.focus_costs "
                            "where x_source = 'aws_cur'").fetchone()
    con.close()
    if n != args.rows or abs(float(billed) - total) > 0.01:
        sys.exit(f"focus_costs disagrees with the export: {n} rows, {billed} USD vs {args.rows} rows, {total:.2f} USD")

    ratio_t = aispend["wall_s"] / baseline["wall_s"]
    ratio_m = aispend["peak_rss_mib"] / baseline["peak_rss_mib"]
    rows = [("bare DuckDB COPY", baseline), ("aispend run (ingest+dbt+publish)", aispend)]
    if floor:
        rows.append((f"aispend run on {args.floor_rows:,} rows", floor))
    print("\n" + table(rows))
    print(f"{'ratio aispend / DuckDB':34}{ratio_t:>10.2f}{ratio_m:>15.2f}")
    for line in aispend["output"].splitlines():
        print("   ", line.strip())
    if floor:
        # what no amount of speed on the data path removes: the same run with (almost) no data
        print(f"fixed cost: aispend on {args.floor_rows:,} rows takes {floor['wall_s']:.1f}s = "
              f"{floor['wall_s'] / baseline['wall_s']:.2f}× the COPY of {args.rows:,} rows; "
              f"the data-dependent part is {aispend['wall_s'] - floor['wall_s']:.1f}s = "
              f"{(aispend['wall_s'] - floor['wall_s']) / baseline['wall_s']:.2f}× the COPY")
    print(f"targets: time ratio ≤ 3 ({'met' if ratio_t <= 3 else 'NOT met'}), "
          f"peak RSS < 2048 MiB ({'met' if aispend['peak_rss_mib'] < 2048 else 'NOT met'}); "
          f"focus_costs holds {n:,} AWS lines = {float(billed):,.2f} USD (matches the export)")
    (Path(args.dir) / "results-cur-focus.json").write_text(json.dumps({
        "rows": args.rows, "baseline": baseline, "aispend": {k: v for k, v in aispend.items() if k != "output"},
        **({"floor_rows": args.floor_rows, "floor": {k: v for k, v in floor.items() if k != "output"}}
           if floor else {}),
        "time_ratio": round(ratio_t, 2), "rss_ratio": round(ratio_m, 2)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
