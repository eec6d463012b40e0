"""AWS ingest through `dg.materialize` on a temporary home: the real legacy CUR export passes the
GE suite into raw aws_cur; an unchanged export is skipped; a period without a manifest is named."""

import csv
import json
import socket
from decimal import Decimal
from pathlib import Path

import boto3
import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import build_definitions
from test_sensors import NAME, write_period

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
    part = home / "lake/raw/aws_cur/source=legacy/billing_period=2023-11"  # a part file per batch
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


@pytest.fixture
def moto_endpoint(monkeypatch):
    """A moto S3 *server* on loopback; the source reaches it through `endpoint_url` + the default chain."""
    from moto.server import ThreadedMotoServer
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _upload(s3, local_export: Path, bucket: str, prefix: str) -> None:
    for f in local_export.rglob("*"):
        if f.is_file():
            s3.upload_file(str(f), bucket, f"{prefix}/{local_export.name}/{f.relative_to(local_export)}")


def test_restatement_on_s3_replaces_the_period_and_unchanged_is_not_downloaded(moto_endpoint, tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="billing")
    first = tmp_path / "v1" / NAME
    write_period(first, "2026-10", [[1.0, 2.0], [3.0]], execution="exec-1")
    _upload(s3, first, "billing", "cur2")
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("start_date: '2026-01-01'\nsources:\n"
                   f"  - {{name: prod, type: aws_cur, uri: 's3://billing/cur2/{NAME}', "
                   f"endpoint_url: '{moto_endpoint}'}}\n")
    home = tmp_path / "home"
    defs = build_definitions(str(cfg), str(home))
    part = home / "lake/raw/aws_cur/source=prod/billing_period=2026-10"  # a part file per batch

    assert _run(defs, "2026-10").success
    t = pq.read_table(part)
    assert (t.num_rows, pc.sum(t["line_item_unblended_cost"]).as_py()) == (3, 6.0)

    # AWS rewrites the month: new data files under new names, the manifest now lists only those
    for o in s3.list_objects_v2(Bucket="billing")["Contents"]:
        s3.delete_object(Bucket="billing", Key=o["Key"])
    restated = tmp_path / "v2" / NAME
    write_period(restated, "2026-10", [[1.5, 2.0], [3.0, 4.0], [0.25]], execution="exec-2")
    _upload(s3, restated, "billing", "cur2")
    res = _run(defs, "2026-10")
    assert res.success and _meta(res)["rows"] == 5
    t = pq.read_table(part)
    assert (t.num_rows, pc.sum(t["line_item_unblended_cost"]).as_py()) == (5, 10.75)
    ids = t["identity_line_item_id"].to_pylist()
    assert len(set(ids)) == 5 and all("exec-2" in i for i in ids)  # replaced, no v1 row left, no duplicate

    # unchanged manifest: skipped without downloading (its data files are gone, yet the run succeeds)
    for o in s3.list_objects_v2(Bucket="billing", Prefix=f"cur2/{NAME}/data/")["Contents"]:
        s3.delete_object(Bucket="billing", Key=o["Key"])
    res = _run(defs, "2026-10")
    assert res.success and _meta(res)["partitions_unchanged"] == 1 and _meta(res)["rows"] == 0
    assert pq.read_table(part).num_rows == 5

    # a changed manifest whose files are missing: fails naming source and object, keeps the last good load
    key = f"cur2/{NAME}/metadata/BILLING_PERIOD=2026-10/{NAME}-Manifest.json"
    manifest = json.loads(s3.get_object(Bucket="billing", Key=key)["Body"].read())
    s3.put_object(Bucket="billing", Key=key, Body=json.dumps(dict(manifest, executionId="exec-3")).encode())
    res = _run(defs, "2026-10")
    assert not res.success
    text = "\n".join(ev.event_specific_data.error.message for ev in res.all_events
                     if ev.event_type_value == "STEP_FAILURE")
    assert "source 'prod' (aws_cur)" in text and "S3 NoSuchKey" in text
    assert f"s3://billing/cur2/{NAME}/data/BILLING_PERIOD=2026-10/{NAME}-00001.snappy.parquet" in text
    assert pq.read_table(part).num_rows == 5
