"""AWS Data Exports (CUR 2.0): a local copy of the layout and a moto S3 *server* on loopback."""

import json
import socket
from pathlib import Path

import boto3
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from connectors import aws_cur
from connectors.errors import SourceError
from demo import apply_restatement, generate

EXPORT = "aws/cur2/aispend-demo-cur"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    generate(out, days=50)  # 2026-09-27 .. 2026-11-15: periods 2026-09, -10, -11
    return out


def direct_totals(export_dir: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for f in export_dir.glob("data/BILLING_PERIOD=*/*.parquet"):
        t = pq.read_table(f)
        out[f.parent.name.split("=")[1]] = (t.num_rows, pc.sum(t["line_item_unblended_cost"]).as_py())
    return out


def test_local_export_periods_totals_and_maps(org):
    export = org / EXPORT
    periods = aws_cur.discover(str(export))
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10", "2026-11"]
    expected = direct_totals(export)
    for p in periods:
        t = aws_cur.read_period(p)
        assert t.schema.names == aws_cur.SCHEMAS["aws_cur"].names
        rows, cost = expected[p.billing_period]
        assert t.num_rows == rows
        assert pc.sum(t["line_item_unblended_cost"]).as_py() == pytest.approx(cost, abs=1e-6)
        tags = json.loads(next(v for v in t["resource_tags"].to_pylist() if v and v != "{}"))
        assert set(tags) >= {"user_team", "user_application"}
        assert set(t["_source_uri"].to_pylist()) == set(p.data_files)


def test_fingerprint_stable_then_changes_on_restatement(tmp_path, org):
    import shutil
    copy = tmp_path / "export"
    shutil.copytree(org, copy)
    first = {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    assert first == {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    apply_restatement(copy)
    after = {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    assert after["2026-10"] != first["2026-10"]
    assert after["2026-09"] == first["2026-09"] and after["2026-11"] == first["2026-11"]


def test_missing_and_truncated_files_name_the_file(tmp_path, org):
    import shutil
    copy = tmp_path / "export"
    shutil.copytree(org / EXPORT, copy)
    p = next(p for p in aws_cur.discover(str(copy)) if p.billing_period == "2026-10")
    data = Path(p.data_files[0])
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SourceError, match=rf"aws_cur: {data}: unreadable Parquet"):
        aws_cur.read_period(p)
    data.unlink()
    with pytest.raises(SourceError, match=rf"aws_cur: {data}: file listed in the manifest is missing"):
        aws_cur.read_period(p)
    manifest = Path(p.manifest_uri)
    manifest.write_text("{not json")
    with pytest.raises(SourceError, match="manifest is not valid JSON"):
        aws_cur.discover(str(copy))


def test_unknown_new_column_is_dropped_and_missing_column_is_null(tmp_path):
    import pyarrow as pa
    t = pa.table({"identity_line_item_id": ["a"], "line_item_unblended_cost": [1.5], "brand_new_column": ["x"]})
    buf = pa.BufferOutputStream()
    pq.write_table(t, buf)
    out = aws_cur.read_file(buf.getvalue().to_pybytes(), "mem://f.parquet")
    assert out.schema.names == aws_cur.SCHEMAS["aws_cur"].names
    assert out["line_item_unblended_cost"].to_pylist() == [1.5]
    assert out["line_item_usage_amount"].to_pylist() == [None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(org):
    from moto.server import ThreadedMotoServer
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="aispend-demo-billing")
    export = org / EXPORT
    for f in export.rglob("*"):
        if f.is_file():
            client.upload_file(str(f), "aispend-demo-billing", f"cur2/aispend-demo-cur/{f.relative_to(export)}")
    yield client
    server.stop()


def test_s3_export_matches_local(s3, org):
    periods = aws_cur.discover("s3://aispend-demo-billing/cur2/aispend-demo-cur", s3_client=s3)
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10", "2026-11"]
    assert all(f.startswith("s3://aispend-demo-billing/") for p in periods for f in p.data_files)
    expected = direct_totals(org / EXPORT)
    for p in periods:
        t = aws_cur.read_period(p, s3_client=s3)
        assert t.num_rows == expected[p.billing_period][0]
        assert pc.sum(t["line_item_unblended_cost"]).as_py() == pytest.approx(expected[p.billing_period][1], abs=1e-6)
    local = {p.billing_period: p.fingerprint for p in aws_cur.discover(str(org / EXPORT))}
    assert {p.billing_period: p.fingerprint for p in periods} == local


def test_s3_no_such_bucket_and_missing_object(s3):
    with pytest.raises(SourceError, match="NoSuchBucket"):
        aws_cur.discover("s3://no-such-bucket-here/cur2/x", s3_client=s3)
    p = aws_cur.discover("s3://aispend-demo-billing/cur2/aispend-demo-cur", s3_client=s3)[0]
    s3.delete_object(Bucket="aispend-demo-billing", Key=p.data_files[0].split("aispend-demo-billing/", 1)[1])
    with pytest.raises(SourceError, match=r"aws_cur: s3://aispend-demo-billing/.*: S3 NoSuchKey"):
        aws_cur.read_period(p, s3_client=s3)
