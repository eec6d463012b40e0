"""AWS Data Exports (CUR 2.0) on a hand-made export: a local directory and a moto S3 *server* on loopback."""

import csv
import gzip
import hashlib
import io
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import aws_cur
from connectors._json import json_string, map_to_json
from connectors.errors import SourceError

UTC = timezone.utc
BUCKET, PREFIX, NAME = "acme-billing", "cur2", "acme-cur"
TS_MS = pa.timestamp("ms", tz="UTC")
MAP = pa.map_(pa.string(), pa.string())


def cur_file(period: str, costs: list[float], *, extra_column: bool = True, part: int = 1) -> pa.Table:
    """A CUR 2.0-shaped data file (`part` of its period: line item ids are unique across the parts, as
    AWS writes them): ms timestamps, map columns, a column our schema does not declare."""
    y, m = map(int, period.split("-"))
    n = len(costs)
    start = datetime(y, m, 1, tzinfo=UTC)
    cols = {
        "bill_billing_period_start_date": pa.array([start] * n, TS_MS),
        "identity_line_item_id": [f"{period}-{i}" if part == 1 else f"{period}-p{part}-{i}" for i in range(n)],
        "line_item_line_item_type": ["Usage"] * n,
        "line_item_usage_account_id": ["111122223333"] * n,
        "line_item_usage_start_date": pa.array([start] * n, TS_MS),
        "line_item_product_code": ["AmazonBedrock"] * n,
        "line_item_usage_amount": [1000.0] * n,
        "line_item_unblended_cost": costs,
        "line_item_unblended_rate": ["0.003"] * n,
        "product": pa.array([[("region", "us-east-1"), ("servicename", "Amazon Bedrock")]] * n, MAP),
        "resource_tags": pa.array([[("user_team", "ml-research"), ("user_application", "eval-harness")]]
                                  + [None] * (n - 1), MAP),
        "cost_category": pa.array([[]] * n, MAP),
    }
    if extra_column:
        cols["line_item_blended_rate"] = ["0.003"] * n  # a real CUR 2.0 column we do not declare
    return pa.table(cols)


def csv_gz(t: pa.Table) -> bytes:
    """The table as CUR 2.0 writes gzip CSV: snake_case header, maps as JSON text, ISO-8601 UTC."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(t.column_names)
    for row in t.to_pylist():
        out = []
        for v in row.values():
            if isinstance(v, list):  # a map: pyarrow gives [(k, v), ...]
                v = json.dumps(dict(v))
            elif isinstance(v, datetime):
                v = v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            out.append("" if v is None else v)
        w.writerow(out)
    return gzip.compress(buf.getvalue().encode())


def write_export(root: Path, periods: dict[str, list[list[float]]], fmt: str = "parquet") -> Path:
    """<root>/<NAME>/{data,metadata}/BILLING_PERIOD=.../ with manifests listing s3:// data files."""
    export = root / NAME
    for period, files in periods.items():
        data_dir = export / "data" / f"BILLING_PERIOD={period}"
        meta_dir = export / "metadata" / f"BILLING_PERIOD={period}"
        data_dir.mkdir(parents=True)
        meta_dir.mkdir(parents=True)
        uris = []
        for i, costs in enumerate(files, 1):
            if fmt == "parquet":
                fname = f"{NAME}-{i:05d}.snappy.parquet"
                pq.write_table(cur_file(period, costs, part=i), data_dir / fname)
            else:
                fname = f"{NAME}-{i:05d}.csv.gz"
                (data_dir / fname).write_bytes(csv_gz(cur_file(period, costs, part=i)))
            uris.append(f"s3://{BUCKET}/{PREFIX}/{NAME}/data/BILLING_PERIOD={period}/{fname}")
        manifest = {"executionId": f"exec-{period}", "exportName": NAME, "bucket": BUCKET, "prefix": PREFIX,
                    "dataFiles": uris, "columns": [], "billingPeriod": {"start": f"{period}-01T00:00:00.000Z"}}
        (meta_dir / f"{NAME}-Manifest.json").write_text(json.dumps(manifest))
    return export


@pytest.fixture(params=["parquet", "csv.gz"])
def export(tmp_path, request):
    """The same export as CUR 2.0 Parquet and as CUR 2.0 gzip CSV: every test runs on both."""
    return write_export(tmp_path / "src", {"2026-09": [[1.0, 2.0]], "2026-10": [[10.0], [20.0, 30.0]]},
                        request.param)


def check_periods(periods, export_root_uri):
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10"]
    sep, oct_ = periods
    assert len(oct_.data_files) == 2
    assert all(f.startswith(export_root_uri) for p in periods for f in p.data_files)
    assert len(sep.fingerprint) == 64 and sep.fingerprint != oct_.fingerprint


def test_local_export_reads_exactly_the_manifest_files(export):
    periods = aws_cur.discover(str(export))
    check_periods(periods, str(export))
    # a stray file not in the manifest (a half-delivered refresh) must not be read
    pq.write_table(cur_file("2026-10", [999.0]), export / "data/BILLING_PERIOD=2026-10/stray.parquet")
    t = aws_cur.read_period(periods[1])
    assert t.schema == aws_cur.SCHEMAS["aws_cur"]
    assert t.num_rows == 3 and sorted(t["line_item_unblended_cost"].to_pylist()) == [10.0, 20.0, 30.0]
    assert set(t["_source_uri"].to_pylist()) == set(periods[1].data_files)
    row = t.to_pylist()[0]
    assert json.loads(row["product"]) == {"region": "us-east-1", "servicename": "Amazon Bedrock"}
    assert json.loads(row["resource_tags"]) == {"user_team": "ml-research", "user_application": "eval-harness"}
    assert row["cost_category"] == "{}" and row["discount"] is None  # empty map vs column absent from the file
    assert row["line_item_usage_start_date"] == datetime(2026, 10, 1, tzinfo=UTC)  # ms → us, UTC kept
    assert row["line_item_unblended_rate"] == "0.003" and row["line_item_usage_account_id"] == "111122223333"
    assert row["line_item_availability_zone"] is None
    # a real CUR 2.0 column we do not declare is kept in _extra, typed as JSON
    assert "line_item_blended_rate" not in t.column_names
    assert json.loads(row["_extra"]) == {"line_item_blended_rate": "0.003"}


def test_fingerprint_is_the_manifest_hash_and_tracks_changes(export):
    p = aws_cur.discover(str(export))[0]
    assert p.fingerprint == hashlib.sha256(Path(p.manifest_uri).read_bytes()).hexdigest()
    assert aws_cur.discover(str(export))[0].fingerprint == p.fingerprint
    m = json.loads(Path(p.manifest_uri).read_text())
    m["executionId"] = "exec-restated"
    Path(p.manifest_uri).write_text(json.dumps(m))
    assert aws_cur.discover(str(export))[0].fingerprint != p.fingerprint


def test_create_new_delivery_mode_reads_the_latest_manifest(export):
    """'Create new' deliveries: one manifest per delivery folder; the latest wins."""
    meta = export / "metadata/BILLING_PERIOD=2026-09"
    m = json.loads((meta / f"{NAME}-Manifest.json").read_text())
    (meta / f"{NAME}-Manifest.json").unlink()
    for stamp, files in (("20261002T0000Z-a", m["dataFiles"]), ("20261003T0000Z-b", m["dataFiles"][:1])):
        (meta / stamp).mkdir()
        (meta / stamp / f"{NAME}-Manifest.json").write_text(json.dumps(dict(m, executionId=stamp, dataFiles=files)))
    p = aws_cur.discover(str(export))[0]
    assert p.billing_period == "2026-09" and "20261003T0000Z-b" in p.manifest_uri


def test_missing_and_truncated_data_file_name_the_file(export):
    p = aws_cur.discover(str(export))[1]
    data = Path(p.data_files[1])
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) // 2])
    kind = "Parquet" if data.name.endswith(".parquet") else "gzip CSV"
    with pytest.raises(SourceError, match=rf"^aws_cur: {data}: unreadable {kind}"):
        aws_cur.read_period(p)
    data.unlink()
    with pytest.raises(SourceError, match=rf"^aws_cur: {data}: file listed in the manifest is missing"):
        aws_cur.read_period(p)


def test_bad_manifests(export):
    manifest = export / "metadata/BILLING_PERIOD=2026-09" / f"{NAME}-Manifest.json"
    manifest.write_text("{not json")
    with pytest.raises(SourceError, match=rf"^aws_cur: {manifest}: manifest is not valid JSON"):
        aws_cur.discover(str(export))
    manifest.write_text(json.dumps({"exportName": NAME, "dataFiles": []}))
    with pytest.raises(SourceError, match="manifest has no dataFiles"):
        aws_cur.discover(str(export))
    with pytest.raises(SourceError, match="export directory not found"):
        aws_cur.discover(str(export / "nope"))


def test_copied_export_maps_data_files_onto_the_copy(export, tmp_path):
    copy = tmp_path / "elsewhere" / NAME
    shutil.copytree(export, copy)
    p = aws_cur.discover(str(copy))[0]
    assert all(f.startswith(str(copy)) for f in p.data_files)
    assert aws_cur.read_period(p).num_rows == 2


MINIMAL = {"identity_line_item_id": ["a", "b"], "line_item_line_item_type": ["Usage", "Tax"],
           "line_item_usage_start_date": pa.array([datetime(2026, 10, 1, tzinfo=UTC)] * 2, TS_MS),
           "line_item_usage_account_id": ["1", "1"], "line_item_product_code": ["AmazonEC2"] * 2,
           "line_item_unblended_cost": [1.5, 0.25]}


def _parquet(t: pa.Table) -> bytes:
    buf = pa.BufferOutputStream()
    pq.write_table(t, buf)
    return buf.getvalue().to_pybytes()


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_unknown_new_columns_are_kept_in_extra_and_missing_column_is_null(fmt):
    t = pa.table({**MINIMAL, "brand_new_column": ["x \"quoted\" \\ back", None], "new_number": [7, 8],
                  "new_map": pa.array([[("k", "v")], None], MAP)})
    raw = _parquet(t) if fmt == "parquet" else csv_gz(t)
    out = aws_cur.read_file(raw, f"mem://f.{fmt}")
    assert out.schema == aws_cur.SCHEMAS["aws_cur"]
    assert out["line_item_unblended_cost"].to_pylist() == [1.5, 0.25]
    assert out["line_item_usage_amount"].to_pylist() == [None, None]
    assert out["_source_uri"].to_pylist() == [f"mem://f.{fmt}"] * 2
    extra = [json.loads(x) for x in out["_extra"].to_pylist()]
    if fmt == "parquet":  # typed: the number stays a number, the map an object
        assert extra == [{"brand_new_column": 'x "quoted" \\ back', "new_number": 7, "new_map": {"k": "v"}},
                         {"new_number": 8}]
    else:  # CSV is text: every unknown value is a string (maps arrive as JSON text)
        assert extra == [{"brand_new_column": 'x "quoted" \\ back', "new_number": "7", "new_map": '{"k": "v"}'},
                         {"new_number": "8"}]
    # a file without unknown columns: _extra is null, not an empty object per row
    assert aws_cur.read_file(_parquet(pa.table(MINIMAL)), "mem://g.parquet")["_extra"].null_count == 2


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_missing_required_column_names_it(fmt):
    t = pa.table({k: v for k, v in MINIMAL.items() if k != "line_item_unblended_cost"})
    raw = _parquet(t) if fmt == "parquet" else csv_gz(t)
    with pytest.raises(SourceError, match=rf"^aws_cur: mem://f.{fmt}: required column\(s\) missing: "
                                          r"line_item_unblended_cost$"):
        aws_cur.read_file(raw, f"mem://f.{fmt}")


def test_map_columns_serialise_like_json_dumps():
    """The vectorised MAP → JSON text equals json.dumps, escapes and null values included."""
    maps = [[("a", 'x"y'), ("b", None), ("c\\d", "line\nbreak")], None, [], [("user_team", "ml")]]
    arr = pa.array(maps, MAP)
    got = map_to_json(pa.chunked_array([arr.slice(1), arr]))
    expected = [None if m is None else dict(m) for m in maps[1:] + maps]
    assert [None if v is None else json.loads(v) for v in got.to_pylist()] == expected


@pytest.fixture
def s3_export(moto_s3, export):
    moto_s3.create_bucket(Bucket=BUCKET)
    for f in export.rglob("*"):
        if f.is_file():
            moto_s3.upload_file(str(f), BUCKET, f"{PREFIX}/{NAME}/{f.relative_to(export)}")
    # an unrelated object under metadata/ is not a manifest
    moto_s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{NAME}/metadata/README.txt", Body=b"x")
    yield f"s3://{BUCKET}/{PREFIX}/{NAME}"
    for o in moto_s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        moto_s3.delete_object(Bucket=BUCKET, Key=o["Key"])
    moto_s3.delete_bucket(Bucket=BUCKET)


def test_s3_export_matches_local(moto_s3, s3_export, export):
    periods = aws_cur.discover(s3_export, s3_client=moto_s3)
    check_periods(periods, s3_export + "/")
    local = aws_cur.discover(str(export))
    assert [p.fingerprint for p in periods] == [p.fingerprint for p in local]
    for s3p, lp in zip(periods, local):
        t = aws_cur.read_period(s3p, s3_client=moto_s3)
        assert t.drop_columns(["_source_uri"]).equals(aws_cur.read_period(lp).drop_columns(["_source_uri"]))
        assert set(t["_source_uri"].to_pylist()) == set(s3p.data_files)


def test_s3_errors_name_the_object(moto_s3, s3_export):
    with pytest.raises(SourceError, match=r"^aws_cur: s3://no-such-bucket-here/cur2/x/metadata/: S3 NoSuchBucket"):
        aws_cur.discover("s3://no-such-bucket-here/cur2/x", s3_client=moto_s3)
    p = aws_cur.discover(s3_export, s3_client=moto_s3)[1]
    key = p.data_files[0].split(f"{BUCKET}/", 1)[1]
    body = moto_s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    moto_s3.put_object(Bucket=BUCKET, Key=key, Body=body[: len(body) // 2])  # a truncated upload
    with pytest.raises(SourceError, match=rf"^aws_cur: {p.data_files[0]}: unreadable (Parquet|gzip CSV) "):
        aws_cur.read_period(p, s3_client=moto_s3)
    moto_s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(SourceError, match=rf"^aws_cur: {p.data_files[0]}: S3 NoSuchKey"):
        aws_cur.read_period(p, s3_client=moto_s3)


def test_period_without_manifest_is_not_offered(export):
    """Data files without a manifest are an incomplete delivery: the period is not offered at all."""
    (export / "metadata/BILLING_PERIOD=2026-10" / f"{NAME}-Manifest.json").unlink()
    assert [p.billing_period for p in aws_cur.discover(str(export))] == ["2026-09"]


def test_long_columns_take_the_distinct_value_path_and_stay_exact():
    """Over 4,096 rows, repeated values are escaped once (dictionary path): same JSON as json.dumps."""
    maps = [[("user_team", f"team-{i % 7}"), ("note", 'q"uote\\\\' if i % 3 else None)] for i in range(10_000)]
    got = map_to_json(pa.array(maps, MAP)).to_pylist()
    assert [json.loads(v) for v in got] == [dict(m) for m in maps]
    ids = pa.array([f'id-"{i}"' for i in range(10_000)])  # all distinct: the direct path
    assert [json.loads(v) for v in json_string(ids).to_pylist()] == ids.to_pylist()
