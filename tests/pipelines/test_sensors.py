"""The billing manifest sensor against real local export directories (CUR 2.0 layout + a legacy glob)."""

import json
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.definitions import build_definitions
from pipelines.resources import AispendResource

NAME = "acme-cur"
TS = pa.timestamp("ms", tz="UTC")


def write_period(export: Path, period: str, files: list[list[float]], execution: str = "exec-1") -> None:
    """A CUR 2.0 period: Parquet data files + the manifest listing them (s3:// URIs, as AWS writes)."""
    y, m = map(int, period.split("-"))
    data_dir = export / "data" / f"BILLING_PERIOD={period}"
    meta_dir = export / "metadata" / f"BILLING_PERIOD={period}"
    data_dir.mkdir(parents=True, exist_ok=True)
    meta_dir.mkdir(parents=True, exist_ok=True)
    uris = []
    for i, costs in enumerate(files, 1):
        n = len(costs)
        pq.write_table(pa.table({
            "identity_line_item_id": [f"{period}-{execution}-{i}-{j}" for j in range(n)],
            "line_item_line_item_type": ["Usage"] * n,
            "line_item_usage_start_date": pa.array([datetime(y, m, 2, tzinfo=timezone.utc)] * n, TS),
            "line_item_usage_account_id": ["111122223333"] * n, "line_item_product_code": ["AmazonEC2"] * n,
            "line_item_unblended_cost": costs, "line_item_currency_code": ["USD"] * n,
        }), data_dir / f"{NAME}-{i:05d}.snappy.parquet")
        uris.append(f"s3://b/p/{NAME}/data/BILLING_PERIOD={period}/{NAME}-{i:05d}.snappy.parquet")
    (meta_dir / f"{NAME}-Manifest.json").write_text(json.dumps(
        {"executionId": execution, "exportName": NAME, "dataFiles": uris}))


def _tick(defs, resource):
    sensor = next(s for s in defs.sensors if s.name == "billing_manifest_sensor")
    data = sensor.evaluate_tick(dg.build_sensor_context(resources={"aispend": resource}, definitions=defs))
    return [(r.partition_key, r.run_key) for r in data.run_requests or []], data.skip_message


def test_sensor_requests_each_new_or_changed_period_once(tmp_path):
    export = tmp_path / "exports" / NAME
    write_period(export, "2026-10", [[1.0, 2.0]])
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: '2026-01-01'\nsources:\n  - {{name: cur, type: aws_cur, uri: '{export}'}}\n")
    home = tmp_path / "home"
    defs = build_definitions(str(cfg), str(home))
    resource = AispendResource(config_path=str(cfg), home=str(home))

    requests, _ = _tick(defs, resource)
    assert [p for p, _ in requests] == ["2026-10"]
    first_key = requests[0][1]
    assert first_key.startswith("2026-10:") and len(first_key) == len("2026-10:") + 64

    # the requested run loads the period; the same manifest then asks for nothing
    res = dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "aws_cur"])], resources=defs.resources,
                         partition_key="2026-10")
    assert res.success
    requests, skip = _tick(defs, resource)
    assert requests == [] and skip == "no new or changed manifest"

    # AWS rewrites the month (restatement) and delivers a new one: both are requested, once each
    write_period(export, "2026-10", [[1.0, 2.0], [3.0]], execution="exec-2")
    write_period(export, "2026-11", [[5.0]])
    requests, _ = _tick(defs, resource)
    assert [p for p, _ in requests] == ["2026-10", "2026-11"]
    assert requests[0][1] != first_key
    assert _tick(defs, resource)[0] == requests  # same run keys: Dagster will not launch them twice


def test_sensor_reports_a_broken_source_and_still_serves_the_others(tmp_path):
    good = tmp_path / "exports" / NAME
    write_period(good, "2026-10", [[1.0]])
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("start_date: '2026-01-01'\nsources:\n"
                   f"  - {{name: cur, type: aws_cur, uri: '{good}'}}\n"
                   f"  - {{name: gone, type: aws_cur_legacy, uri: '{tmp_path / 'missing-dir'}'}}\n")
    defs = build_definitions(str(cfg), str(tmp_path / "home"))
    resource = AispendResource(config_path=str(cfg), home=str(tmp_path / "home"))
    requests, _ = _tick(defs, resource)
    assert [p for p, _ in requests] == ["2026-10"]
    # the only source broken: the tick is skipped with the reason naming source and path
    cfg.write_text("start_date: '2026-01-01'\nsources:\n"
                   f"  - {{name: gone, type: aws_cur_legacy, uri: '{tmp_path / 'missing-dir'}'}}\n")
    requests, skip = _tick(defs, resource)
    assert requests == [] and "source 'gone' (aws_cur_legacy)" in skip and "export directory not found" in skip
