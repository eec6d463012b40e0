"""AWS ingest through `dg.materialize` on a temporary home: the real legacy CUR export passes the
GE suite into raw aws_cur; an unchanged export is skipped; a period without a manifest is named."""

from decimal import Decimal
import csv

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import build_definitions

SAMPLE = "billing/aws-cur-legacy-csv/sample-anonymous-aws-export-dataset.csv"


def _config(tmp_path, sources: str) -> str:
    path = tmp_path / "aispend.yaml"
    path.write_text(f"start_date: '2023-01-01'\nsources:\n{sources}")
    return str(path)


def _run(defs, partition_key: str):
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "aws_cur"])], resources=defs.resources,
                          partition_key=partition_key, raise_on_error=False)


def _meta(res) -> dict:
    (m,) = res.get_asset_materialization_events()
    return {k: v.value for k, v in m.materialization.metadata.items()}


def test_real_legacy_cur_passes_the_suite_into_raw_aws_cur(shared_data, tmp_path):
    sample = shared_data / SAMPLE
    with sample.open(newline="") as f:
        expected = sum(Decimal(r["lineItem/UnblendedCost"]) for r in csv.DictReader(f))
    home = tmp_path / "home"
    defs = build_definitions(_config(tmp_path, f"  - {{name: legacy, type: aws_cur_legacy, uri: '{sample}'}}\n"),
                             str(home))
    res = _run(defs, "2023-11")
    assert res.success
    checks = [e for e in res.get_asset_check_evaluations()]
    assert [c.passed for c in checks] == [True]
    part = home / "lake/raw/aws_cur/source=legacy/billing_period=2023-11/part-00000.parquet"
    t = pq.read_table(part)
    assert t.num_rows == 1281
    assert round(pc.sum(t["line_item_unblended_cost"]).as_py(), 10) == float(expected) == 1.6823086974
    assert set(t["_partition"].to_pylist()) == {"2023-11"} and "_extra" in t.column_names

    again = _run(defs, "2023-11")  # unchanged file: skipped, not re-read
    assert again.success and _meta(again)["partitions_unchanged"] == 1 and _meta(again)["rows"] == 0
    assert pq.read_table(part).num_rows == 1281

    none = _run(defs, "2023-10")  # no export for that period: said so, nothing written
    assert none.success
    assert _meta(none)["partitions_without_export"] == "legacy/2023-10" and _meta(none)["rows"] == 0
    assert not (home / "lake/raw/aws_cur/source=legacy/billing_period=2023-10").exists()
