"""FOCUS exports (1.0–1.3; CSV, gzip CSV, Parquet) → the 1.2 column set, and AWS "FOCUS 1.2 with
AWS columns" Data Exports (local layout and a moto S3 *server* on loopback). Real data: the
official FOCUS 1.0 sample and the FOCUS 1.2 spec's commitment-discount examples."""

import csv
import gzip
import json
import re
import socket
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import focus_files as ff
from connectors.errors import SourceError

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]
BASE_12 = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
           "BilledCost", "EffectiveCost", "BillingAccountId", "BillingCurrency", "ServiceName", "Tags"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom=False, gz=False) -> Path:
    text = ",".join(f'"{h}"' for h in header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    raw = ("\ufeff" if bom else "").encode() + text.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_column_map_is_exactly_the_focus_costs_contract():
    macro = (REPO / "dbt/macros/focus.sql").read_text()
    names = [n for n in re.findall(r"\('([A-Za-z_]+)', ", macro) if not n.startswith("x_")]
    assert [c.name for c in ff.COLUMNS] == names
    assert len(names) == 57
    assert {c.name for c in ff.COLUMNS if c.required} == {"BilledCost", "ChargePeriodStart", "ChargePeriodEnd",
                                                          "ChargeCategory"}


def test_real_export_quirks(tmp_path):
    header = BASE_12 + ["SubAccountId", "InvoiceId", "x_UsageType", "Unknown New Column"]
    rows = [
        # no-T datetimes, literal NULL, ids with leading zeros / above 2^53, a decimal with 13 places
        ['"2024-09-01 00:00:00"', '"2024-10-01 00:00:00"', '"2024-09-18 22:00:00"', '"2024-09-18 23:00:00"',
         "Usage", "0.1234567890123", "0.1", '"000123456789"', "USD", '"Amazon S3"',
         '"{""team"": ""ml"", ""app"": ""chat""}"', '"90071992547409931"', '"0042"', "USE1-Requests", "NULL"],
        # ISO with Z and with an offset; empty and NULL everywhere optional
        ["2024-09-30T23:00:00Z", "2024-10-01T00:00:00Z", "2024-09-30T23:30:00+02:00", "2024-09-30T23:00:00Z",
         "Tax", "-1E-2", "NULL", "000123456789", "USD", "NULL", "NULL", "NULL", "", "NULL", "kept"],
    ]
    plain = write_csv(tmp_path / "a.csv", header, rows, bom=True)
    t = ff.read_bytes(plain.read_bytes(), str(plain))
    assert t.schema == ff.SCHEMA
    r1, r2 = t.to_pylist()
    assert r1["BilledCost"] == Decimal("0.1234567890123") and r2["BilledCost"] == Decimal("-0.01")
    assert r1["EffectiveCost"] == Decimal("0.1") and r2["EffectiveCost"] is None
    assert r1["BillingAccountId"] == "000123456789" and r1["SubAccountId"] == "90071992547409931"
    assert r1["InvoiceId"] == "0042" and r2["InvoiceId"] is None
    assert r1["BillingPeriodStart"] == datetime(2024, 9, 1, tzinfo=UTC)
    assert r2["ChargePeriodStart"] == datetime(2024, 9, 30, 21, 30, tzinfo=UTC)
    assert json.loads(r1["Tags"]) == {"team": "ml", "app": "chat"} and r2["Tags"] is None
    assert json.loads(r1["_extra"]) == {"x_UsageType": "USE1-Requests"}
    assert json.loads(r2["_extra"]) == {"Unknown New Column": "kept"}
    assert r2["ServiceName"] is None and r1["BillingAccountType"] is None  # absent 1.2 column → null
    assert [r["_row_number"] for r in (r1, r2)] == [1, 2]
    # the same file gzip-compressed reads identically (apart from where it came from)
    gz = write_csv(tmp_path / "a.csv.gz", header, rows, bom=True, gz=True)
    assert ff.read_bytes(gz.read_bytes(), str(gz)).drop(["_source_uri"]) == t.drop(["_source_uri"])


def _version_file(tmp_path, version: str) -> Path:
    common = {"BillingPeriodStart": "2025-01-01T00:00:00Z", "BillingPeriodEnd": "2025-02-01T00:00:00Z",
              "ChargePeriodStart": "2025-01-05T00:00:00Z", "ChargePeriodEnd": "2025-01-06T00:00:00Z",
              "ChargeCategory": "Usage", "BilledCost": "2.50", "EffectiveCost": "2.00", "ServiceName": "Compute",
              "BillingCurrency": "USD"}
    by_version = {
        "1.0": {"ProviderName": "Acme", "PublisherName": "Acme Pub"},
        "1.1": {"ProviderName": "Acme", "PublisherName": "Acme Pub", "SkuMeter": "vCPU",
                "CommitmentDiscountQuantity": "3"},
        "1.2": {"ProviderName": "Acme", "PublisherName": "Acme Pub", "SkuMeter": "vCPU",
                "BillingAccountType": "Billing Profile", "InvoiceId": "INV-7", "PricingCurrency": "EUR"},
        "1.3": {"ServiceProviderName": "Acme", "HostProviderName": "Acme Host", "SkuMeter": "vCPU",
                "BillingAccountType": "Billing Profile", "InvoiceId": "INV-7", "PricingCurrency": "EUR"},
    }
    cols = {**common, **by_version[version]}
    return write_csv(tmp_path / f"v{version}.csv", list(cols), [list(cols.values())])


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3"])
def test_every_version_lands_in_the_12_column_set(tmp_path, version):
    f = _version_file(tmp_path, version)
    [row] = ff.read_bytes(f.read_bytes(), str(f)).to_pylist()
    assert row["ProviderName"] == "Acme" and row["BilledCost"] == Decimal("2.5")
    assert row["EffectiveCost"] == Decimal("2")
    assert row["SkuMeter"] == (None if version == "1.0" else "vCPU")
    assert row["InvoiceId"] == ("INV-7" if version in ("1.2", "1.3") else None)
    assert row["CommitmentDiscountQuantity"] == (Decimal(3) if version == "1.1" else None)
    if version == "1.3":
        assert row["PublisherName"] == "Acme"  # 1.3 dropped Publisher: the service provider stands in
        assert json.loads(row["_extra"]) == {"HostProviderName": "Acme Host"}
    else:
        assert row["PublisherName"] == "Acme Pub" and row["_extra"] is None


def test_parquet_with_map_tags_float_costs_and_int_ids(tmp_path):
    n = 2
    t = pa.table({
        "BillingPeriodStart": pa.array([datetime(2025, 3, 1)] * n, pa.timestamp("ms")),  # naive = UTC
        "ChargePeriodStart": pa.array([datetime(2025, 3, 2, tzinfo=UTC)] * n, pa.timestamp("ms", tz="UTC")),
        "ChargePeriodEnd": pa.array([datetime(2025, 3, 3, tzinfo=UTC)] * n, pa.timestamp("ms", tz="UTC")),
        "ChargeCategory": ["Usage", "Usage"],
        "BilledCost": pa.array([0.1, 1e-7], pa.float64()),
        "EffectiveCost": pa.array([Decimal("0.10"), None], pa.decimal128(20, 2)),
        "BillingAccountId": pa.array([123456789012, 7], pa.int64()),
        "BillingCurrency": ["USD", "USD"],
        "Tags": pa.array([[("team", "ml")], None], pa.map_(pa.string(), pa.string())),
        "x_Discounts": pa.array([[("sp", "0.5")], []], pa.map_(pa.string(), pa.string())),
    })
    path = tmp_path / "f.parquet"
    pq.write_table(t, path)
    r1, r2 = ff.read_bytes(path.read_bytes(), str(path)).to_pylist()
    assert r1["BilledCost"] == Decimal("0.1") and r2["BilledCost"] == Decimal("1e-7")  # not 0.1000000000000000055
    assert r1["EffectiveCost"] == Decimal("0.1") and r2["EffectiveCost"] is None
    assert r1["BillingAccountId"] == "123456789012"
    assert r1["BillingPeriodStart"] == datetime(2025, 3, 1, tzinfo=UTC)
    assert json.loads(r1["Tags"]) == {"team": "ml"} and r2["Tags"] is None
    assert json.loads(r1["_extra"]) == {"x_Discounts": {"sp": "0.5"}}


def test_discover_splits_by_billing_period_and_fingerprints_files(tmp_path):
    root = tmp_path / "exports"
    h = ["BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost",
         "BillingCurrency"]
    write_csv(root / "a.csv", h, [["2025-01-01", "2025-01-03", "2025-01-04", "Usage", "1.5", "USD"],
                                  # falls back to the charge period
                                  ["NULL", "2025-02-03", "2025-02-04", "Usage", "2.25", "USD"]])
    write_csv(root / "sub" / "b.csv.gz", h, [["2025-02-01", "2025-02-05", "2025-02-06", "Usage", "3", "USD"]], gz=True)
    (root / "notes.txt").write_text("not a FOCUS file")
    periods = ff.discover(str(root))
    assert [p.billing_period for p in periods] == ["2025-01", "2025-02"]
    jan, feb = periods
    assert jan.table.num_rows == 1 and feb.table.num_rows == 2
    assert sum(feb.table.column("BilledCost").to_pylist()) == Decimal("5.25")
    assert len(feb.files) == 2 and len(jan.files) == 1
    # a changed file changes exactly the fingerprints of the periods it has rows in
    write_csv(root / "sub" / "b.csv.gz", h, [["2025-02-01", "2025-02-05", "2025-02-06", "Usage", "4", "USD"]], gz=True)
    jan2, feb2 = ff.discover(str(root))
    assert jan2.fingerprint == jan.fingerprint and feb2.fingerprint != feb.fingerprint
    # a glob selects files too
    assert [p.billing_period for p in ff.discover(str(root / "*.csv"))] == ["2025-01", "2025-02"]


# --- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["BilledCost", "ChargePeriodStart"])
def test_missing_required_column_names_file_and_column(tmp_path, missing):
    h = [c for c in ["ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost"] if c != missing]
    write_csv(tmp_path / "bad.csv", h, [["2025-01-01", "2025-01-02", "Usage"]])
    with pytest.raises(SourceError, match=rf"focus_files: .*bad\.csv: required FOCUS column {missing} is missing"):
        ff.discover(str(tmp_path))


def test_unparseable_date_and_number_name_file_column_row(tmp_path):
    h = ["ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost"]
    f = write_csv(tmp_path / "d.csv", h, [["2025-01-01", "2025-01-02", "Usage", "1"],
                                          ["2025-01-01", "2025-13-45 00:00:00", "Usage", "1"]])
    with pytest.raises(SourceError, match=r"d\.csv: column ChargePeriodEnd: unparseable datetime "
                                          r"'2025-13-45 00:00:00' in data row 2"):
        ff.read_bytes(f.read_bytes(), str(f))
    f = write_csv(tmp_path / "n.csv", h, [["2025-01-01", "2025-01-02", "Usage", '"12,5"']])
    with pytest.raises(SourceError, match=r"n\.csv: column BilledCost: not a number '12,5' in data row 1"):
        ff.read_bytes(f.read_bytes(), str(f))


def test_truncated_parquet_and_gzip(tmp_path):
    good = tmp_path / "g.parquet"
    pq.write_table(pa.table({"ChargePeriodStart": ["2025-01-01"], "ChargePeriodEnd": ["2025-01-02"],
                             "ChargeCategory": ["Usage"], "BilledCost": [1.0]}), good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(SourceError, match=r"focus_files: .*cut\.parquet: unreadable Parquet"):
        ff.discover(str(cut))
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(gzip.compress(b"BilledCost\n1\n" * 50)[:20])
    with pytest.raises(SourceError, match=r"cut\.csv\.gz: unreadable gzip"):
        ff.read_bytes(gz.read_bytes(), str(gz))


def test_no_files_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"focus_files: .*empty: no FOCUS files found"):
        ff.discover(str(tmp_path / "empty"))
    with pytest.raises(SourceError, match=r"focus_files: .*nowhere: no such file or directory"):
        ff.discover(str(tmp_path / "nowhere"))
    with pytest.raises(SourceError, match=r"no FOCUS files found"):
        ff.discover(str(tmp_path / "empty" / "*.csv"))


# --- aws_focus: Data Exports layout, local and on a moto S3 server ------------------------------
BUCKET, PREFIX, NAME = "acme-billing", "focus", "acme-focus"


def aws_focus_file(period: str, costs: list[str]) -> pa.Table:
    y, m = map(int, period.split("-"))
    start = datetime(y, m, 1, tzinfo=UTC)
    n = len(costs)
    return pa.table({
        "BillingPeriodStart": pa.array([start] * n, pa.timestamp("ms", tz="UTC")),
        "ChargePeriodStart": pa.array([start] * n, pa.timestamp("ms", tz="UTC")),
        "ChargePeriodEnd": pa.array([start.replace(day=2)] * n, pa.timestamp("ms", tz="UTC")),
        "ChargeCategory": ["Usage"] * n,
        "BilledCost": pa.array([Decimal(c) for c in costs], pa.decimal128(30, 15)),
        "BillingAccountId": ["012345678901"] * n,
        "BillingCurrency": ["USD"] * n,
        "ProviderName": ["AWS"] * n,
        "Tags": pa.array([[("user_team", "ml-research")]] * n, pa.map_(pa.string(), pa.string())),
        "x_ServiceCode": ["AmazonBedrock"] * n,
    })


def write_aws_export(root: Path, periods: dict[str, list[list[str]]]) -> Path:
    export = root / NAME
    for period, files in periods.items():
        data_dir = export / "data" / f"BILLING_PERIOD={period}"
        meta_dir = export / "metadata" / f"BILLING_PERIOD={period}"
        data_dir.mkdir(parents=True)
        meta_dir.mkdir(parents=True)
        uris = []
        for i, costs in enumerate(files, 1):
            fname = f"{NAME}-{i:05d}.snappy.parquet"
            pq.write_table(aws_focus_file(period, costs), data_dir / fname)
            uris.append(f"s3://{BUCKET}/{PREFIX}/{NAME}/data/BILLING_PERIOD={period}/{fname}")
        manifest = {"exportName": NAME, "executionId": f"exec-{root.name}", "dataFiles": uris}
        (meta_dir / f"{NAME}-Manifest.json").write_text(json.dumps(manifest))
    return export


@pytest.fixture
def aws_export(tmp_path):
    return write_aws_export(tmp_path / "src", {"2026-09": [["1.10", "2.20"]],
                                               "2026-10": [["10"], ["20.000000000000001"]]})


def test_aws_focus_local_export(aws_export):
    periods = ff.discover_aws(str(aws_export))
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10"]
    oct_ = ff.read_aws_period(periods[1])
    assert oct_.schema == ff.SCHEMA and oct_.num_rows == 2
    assert sum(oct_.column("BilledCost").to_pylist()) == Decimal("30.000000000000001")
    assert set(oct_.column("_source_type").to_pylist()) == {"aws_focus"}
    row = ff.read_aws_period(periods[0]).to_pylist()[0]
    assert row["BillingAccountId"] == "012345678901" and json.loads(row["Tags"]) == {"user_team": "ml-research"}
    assert json.loads(row["_extra"]) == {"x_ServiceCode": "AmazonBedrock"}


def test_aws_focus_missing_and_truncated_file(aws_export):
    p = ff.discover_aws(str(aws_export))[1]
    Path(p.data_files[1]).write_bytes(b"PAR1 truncated")
    with pytest.raises(SourceError, match=r"aws_focus: .*acme-focus-00002\.snappy\.parquet: unreadable Parquet"):
        ff.read_aws_period(p)
    Path(p.data_files[1]).unlink()
    with pytest.raises(SourceError, match=r"acme-focus-00002\.snappy\.parquet: file listed in the manifest is missing"):
        ff.read_aws_period(p)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_s3():
    """A real S3 endpoint (moto's server) on loopback; boto3 talks HTTP to it."""
    from moto.server import ThreadedMotoServer
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    server.stop()


def test_aws_focus_on_s3_with_restatement(moto_s3, aws_export, tmp_path):
    moto_s3.create_bucket(Bucket=BUCKET)
    for f in aws_export.rglob("*"):
        if f.is_file():
            moto_s3.upload_file(str(f), BUCKET, f"{PREFIX}/{NAME}/{f.relative_to(aws_export)}")
    uri = f"s3://{BUCKET}/{PREFIX}/{NAME}"
    periods = ff.discover_aws(uri, s3_client=moto_s3)
    assert [p.fingerprint for p in periods] == [p.fingerprint for p in ff.discover_aws(str(aws_export))]
    assert sum(ff.read_aws_period(periods[0], s3_client=moto_s3).column("BilledCost").to_pylist()) == Decimal("3.3")
    # AWS rewrites September: a new file and a new manifest → new fingerprint, new rows
    again = write_aws_export(tmp_path / "restated", {"2026-09": [["1.10", "2.20", "-0.30"]]})
    for f in again.rglob("*"):
        if f.is_file():
            moto_s3.upload_file(str(f), BUCKET, f"{PREFIX}/{NAME}/{f.relative_to(again)}")
    sep = ff.discover_aws(uri, s3_client=moto_s3)[0]
    assert sep.fingerprint != periods[0].fingerprint
    assert sum(ff.read_aws_period(sep, s3_client=moto_s3).column("BilledCost").to_pylist()) == Decimal("3.0")
    with pytest.raises(SourceError, match=r"no-such-bucket.*S3 NoSuchBucket"):
        ff.discover_aws("s3://no-such-bucket/x/y", s3_client=moto_s3)


# --- real data ----------------------------------------------------------------------------------
def test_official_focus_10_sample(shared_data):
    path = shared_data / "focus/official-FOCUS-1.0/focus_sample.csv"
    periods = ff.discover(str(path))
    t = pa.concat_tables(p.table for p in periods)
    assert t.num_rows == 1000
    # independent reading: csv + Decimal
    expected: dict[str, Decimal] = defaultdict(Decimal)
    ids = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, r in enumerate(csv.DictReader(fh), 1):
            if r["BilledCost"] != "NULL":
                expected[r["ProviderName"]] += Decimal(r["BilledCost"])
            ids[n] = (r["BillingAccountId"], r["SubAccountId"])
    got: dict[str, Decimal] = defaultdict(Decimal)
    for prov, cost in zip(t.column("ProviderName").to_pylist(), t.column("BilledCost").to_pylist()):
        got[prov] += cost or 0
    assert set(got) == {"AWS", "Microsoft", "Oracle"} == set(expected)
    assert got == expected
    # numeric-looking ids come back as the exact strings in the file, leading zeros included
    rows = {r: (b, s) for r, b, s in zip(t.column("_row_number").to_pylist(), t.column("BillingAccountId").to_pylist(),
                                         t.column("SubAccountId").to_pylist())}
    assert rows == {n: tuple(None if v == "NULL" else v for v in ids[n]) for n in ids}
    assert all(v is None or isinstance(v, str) for v in t.column("BillingAccountId").to_pylist())
    assert "1234567890123" in set(t.column("BillingAccountId").to_pylist())  # 13 digits: not an int, not 1.23e12
    assert {p.billing_period for p in periods} == {"2024-09", "2024-10"}
    # the sample's non-1.2 column (Id) is kept, not lost
    assert all('"Id"' in e for e in t.column("_extra").to_pylist())


def _by_commitment(t: pa.Table, category: str, measure: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in t.to_pylist():
        if r["ChargeCategory"] == category and r["CommitmentDiscountId"]:
            out[r["CommitmentDiscountId"]] += r[measure]
    return dict(out)


def test_commitment_discount_identity_in_spec_examples(shared_data):
    folder = shared_data / "focus/spec-examples-v1.2/commitment_discount_flexibility"
    files = sorted(folder.glob("*.csv"))
    assert len(files) == 4
    totals = {}
    for f in files:  # the spec's examples name no currency: the source option says it
        t = ff.read_bytes(f.read_bytes(), str(f), billing_currency="USD")
        usage, purchase = _by_commitment(t, "Usage", "EffectiveCost"), _by_commitment(t, "Purchase", "BilledCost")
        assert usage == purchase, f.name
        totals[f.stem] = purchase["<my-commitment-discount-id>"]
    assert totals == {
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource": Decimal("0.5"),
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources": Decimal("2"),
        "one_hundred_percent_utilization_without_commitment_discount_flexibility": Decimal("1.5"),
        "zero_percent_utilization_without_commitment_discount_flexibility": Decimal("1.5")}


def test_commitment_scenarios_hourly_identity_and_the_spec_typo(shared_data):
    folder = shared_data / "focus/spec-examples-v1.2/commitment_discount_scenarios"
    # scenario 1: an all-upfront one-year commitment, 8,760 USD for 8,760 hours = 1.00 per hour;
    # every usage scenario spends exactly that hour's 1.00 of commitment (used + unused)
    [purchase] = ff.read_bytes((folder / "commitment_discount_purchase_scenario_1.csv").read_bytes(), "p1",
                               billing_currency="USD").to_pylist()
    hours = Decimal((purchase["ChargePeriodEnd"] - purchase["ChargePeriodStart"]).total_seconds() / 3600)
    hourly = purchase["BilledCost"] / hours
    assert hours == 8760 and hourly == 1
    for n in (1, 2, 3, 4):
        t = ff.read_bytes((folder / f"commitment_discount_usage_scenario_{n}.csv").read_bytes(), f"u{n}",
                          billing_currency="USD")
        assert _by_commitment(t, "Usage", "EffectiveCost") == {"<my-commitment-discount-id>": hourly}, n
    # purchase scenario 2 as published has an hour 30 ('2023-02-01T30:00:00Z'): rejected, named
    with pytest.raises(SourceError, match=r"commitment_discount_purchase_scenario_2\.csv: column ChargePeriodEnd: "
                                          r"unparseable datetime '2023-02-01T30:00:00' in data row 3"):
        f = folder / "commitment_discount_purchase_scenario_2.csv"
        ff.read_bytes(f.read_bytes(), str(f), billing_currency="USD")


def test_extra_json_escapes_any_text(tmp_path):
    nasty = ['say "hi"', "back\\slash", "two\nlines\ttab\r", "bell\x01", "ünïcødé €", None]
    t = pa.table({"ChargePeriodStart": ["2025-01-01"] * 6, "ChargePeriodEnd": ["2025-01-02"] * 6,
                  "ChargeCategory": ["Usage"] * 6, "BilledCost": ["1"] * 6, "BillingCurrency": ["EUR"] * 6,
                  "x_b": nasty, "x_a": ["1"] * 5 + [None]})
    extra = ff.normalize(t, "focus_files", "mem").column("_extra").to_pylist()
    assert [json.loads(e) for e in extra[:5]] == [{"x_a": "1", "x_b": v} for v in nasty[:5]]
    assert extra[5] is None
    assert extra[0] == '{"x_a":"1","x_b":"say \\"hi\\""}'


# --- provider-native exports through a mapping CSV (stretch) ------------------------------------
NATIVE = [("azure-ea/EA_ActualCost_Small.csv", "azure_ea", "Cost", 11),
          ("azure-ea/EA_AmortizedCost_Small.csv", "azure_ea", "Cost", 28),
          ("azure-ea/sample-anonymous-ea-export-dataset.csv", "azure_ea", "CostInBillingCurrency", 27),
          ("oci/reports_cost-csv_0000000030000269.csv", "oci", "cost/myCost", 506)]


@pytest.mark.parametrize("rel,mapping,cost_col,rows", NATIVE)
def test_native_exports_through_mapping_keep_totals(shared_data, rel, mapping, cost_col, rows):
    path = shared_data / "billing" / rel
    [period] = ff.discover(str(path), mapping=mapping)
    t = period.table
    with path.open(encoding="utf-8-sig", newline="") as fh:
        native = list(csv.DictReader(fh))
    exact = sum(Decimal(r[cost_col]) for r in native)
    quantized = sum(Decimal(r[cost_col]).quantize(Decimal("1e-18")) for r in native)  # DECIMAL(38,18)
    got = sum(t.column("BilledCost").to_pylist())
    assert t.num_rows == len(native) == rows
    assert got == quantized and abs(got - exact) < Decimal("1e-16")
    assert set(t.column("ProviderName").to_pylist()) == {"Microsoft" if mapping == "azure_ea" else "Oracle"}
    assert None not in t.column("ChargeCategory").to_pylist()
    assert period.billing_period == ("2023-09" if mapping == "azure_ea" else "2023-11")


def test_azure_ea_dates_tags_and_categories(shared_data):
    path = shared_data / "billing/azure-ea/EA_ActualCost_Small.csv"
    rows = ff.read_bytes(path.read_bytes(), str(path), mapping="azure_ea").to_pylist()
    purchase = [r for r in rows if r["ChargeCategory"] == "Purchase"]
    assert purchase and all(r["ChargeFrequency"] == "Recurring" for r in purchase)
    r = rows[0]  # 09/21/2023 (US dates); EA's inclusive period end 09/30 → exclusive 10/01
    assert (r["ChargePeriodStart"], r["ChargePeriodEnd"]) == (datetime(2023, 9, 21, tzinfo=UTC),
                                                              datetime(2023, 9, 22, tzinfo=UTC))
    assert r["BillingPeriodEnd"] == datetime(2023, 10, 1, tzinfo=UTC)
    assert r["BillingAccountId"] == "8611537" and r["SubAccountId"] == "1caaa5a3-2b66-438e-8ab4-bce37d518c5d"
    sample = shared_data / "billing/azure-ea/sample-anonymous-ea-export-dataset.csv"
    first = ff.read_bytes(sample.read_bytes(), str(sample), mapping="azure_ea").to_pylist()[0]
    assert json.loads(first["Tags"]) == {"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}
    assert first["ChargePeriodStart"] == datetime(2023, 9, 2, tzinfo=UTC)  # '9/2/2023', unpadded
    assert json.loads(first["_extra"])["x_AccountName"] == "example.com"  # unmapped native columns kept


def test_azure_service_category_map_agrees_with_the_reference(shared_data):
    # our mapping is our own data, keyed by the meter category that becomes ServiceName (so each
    # ServiceName has one ServiceCategory, as FOCUS requires); where the FinOps toolkit's service
    # table names the same service, the category must agree
    with (REPO / "connectors/focus_mappings/azure_ea.csv").open() as fh:
        rule = next(r for r in csv.DictReader(fh) if r["focus_column"] == "ServiceCategory")
    assert rule["native"] == "MeterCategory"
    ours = dict(kv.split("=", 1) for kv in rule["arg"].split(";"))
    ref: dict[str, set[str]] = {}
    with (shared_data / "billing/reference-mappings/finops_toolkit_Services.csv").open() as fh:
        for r in csv.DictReader(fh):
            ref.setdefault(r["ServiceName"].lower(), set()).add(r["ServiceCategory"])
    both = {k: v for k, v in ours.items() if k in ref or f"azure {k}" in ref}
    assert len(both) >= 60
    assert {k: v for k, v in both.items() if v not in ref.get(k, ref.get(f"azure {k}"))} == {}


def test_mapped_lines_complete_the_fields_focus_requires(shared_data):
    """Billing period from the usage month (OCI has none), region names from the lookups, resource
    types from the resource ids, and x_source 'mapped:<mapping>' (lines aispend converted itself)."""
    oci = shared_data / "billing/oci/reports_cost-csv_0000000030000269.csv"
    t = ff.read_bytes(oci.read_bytes(), str(oci), mapping="oci")
    assert set(zip(t.column("BillingPeriodStart").to_pylist(), t.column("BillingPeriodEnd").to_pylist())) == {
        (datetime(2023, 11, 1, tzinfo=UTC), datetime(2023, 12, 1, tzinfo=UTC))}
    assert set(t.column("_source_type").to_pylist()) == {"mapped:oci"}
    assert set(t.column("RegionName").to_pylist()) == {"US West (San Jose)"}
    assert set(t.column("BillingAccountType").to_pylist()) == {"Tenancy"}
    types = dict(zip(t.column("ResourceId").to_pylist(), t.column("ResourceType").to_pylist()))
    assert types["ocid1.autonomousdatabase.oc1.us-sanjose-1."
                 "anzwuljr33abj3qa3ustmv6jdlw6elfui5qg3jd7ugfx6oq7x5qa5emjmpta"] == "autonomousdatabase"
    assert types["axi5rjbot4mp/MonitoringData"] is None  # no type in that id form: dbt falls back to ServiceName
    ea = shared_data / "billing/azure-ea/sample-anonymous-ea-export-dataset.csv"
    rows = ff.read_bytes(ea.read_bytes(), str(ea), mapping="azure_ea").to_pylist()
    assert {(r["RegionId"], r["RegionName"]) for r in rows} == {
        ("centralus", "Central US"), ("westus2", "West US 2"), ("westus", "West US"), ("eastus2", "East US 2")}
    assert {r["ResourceType"] for r in rows} == {"<arm provider>/<serviceName>"}
    first = rows[0]  # UnitPrice is the EA contract price; PayGPrice the list price
    assert (first["ContractedUnitPrice"], first["ListUnitPrice"]) == (Decimal("0.1"), Decimal("0.4"))
    assert first["SkuPriceId"] == "ABC-1234:59bc01e3-9d3e-4b9f-baef-35e696aad6c4"
    assert {r["ServiceName"]: r["ServiceCategory"] for r in rows} == {
        "Virtual Network": "Networking", "Virtual Machines": "Compute", "Storage": "Storage",
        "Azure Data Factory v2": "Integration", "Event Hubs": "Integration"}
    assert {r["_source_type"] for r in rows} == {"mapped:azure_ea"}


def test_mapping_transforms_fail_clearly_on_bad_values(tmp_path):
    cols = ["lineItem/tenantId", "lineItem/intervalUsageStart", "lineItem/intervalUsageEnd", "cost/myCost",
            "lineItem/isCorrection", "cost/currencyCode"]
    bad = write_csv(tmp_path / "oci.csv", cols, [["t", "2023-11-13T10:00Z", "2023-11-13T11:00Z", "1", "false", "USD"],
                                                 ["t", "13/11/2023 10:00", "2023-11-13T11:00Z", "1", "false", "USD"]])
    with pytest.raises(SourceError, match=r"oci\.csv: column lineItem/intervalUsageStart: '13/11/2023 10:00' is not "
                                          r"an ISO date-time \(YYYY-MM-\.\.\.\) in data row 2"):
        ff.read_bytes(bad.read_bytes(), str(bad), mapping="oci")
    dec = write_csv(tmp_path / "oci-dec.csv", cols,
                    [["t", "2023-12-31T23:00Z", "2024-01-01T00:00Z", "1", "false", "USD"]])
    r = ff.read_bytes(dec.read_bytes(), str(dec), mapping="oci").to_pylist()[0]
    assert (r["BillingPeriodStart"], r["BillingPeriodEnd"]) == (datetime(2023, 12, 1, tzinfo=UTC),
                                                                datetime(2024, 1, 1, tzinfo=UTC))
    assert r["RegionName"] is None and r["ResourceType"] is None  # absent natives: null, not an error


def test_oci_tags_and_bad_mapping_input(shared_data, tmp_path):
    path = shared_data / "billing/oci/reports_cost-csv_0000000030000269.csv"
    r = ff.read_bytes(path.read_bytes(), str(path), mapping="oci").to_pylist()[0]
    assert json.loads(r["Tags"])["Oracle-Tags.CreatedBy"] == "default/phil.newman@oracle.com"
    assert r["ChargePeriodStart"] == datetime(2023, 11, 13, 10, tzinfo=UTC)  # '2023-11-13T10:00Z'
    assert r["ServiceCategory"] == "Databases" and r["ChargeCategory"] == "Usage"
    with pytest.raises(SourceError, match=r"mapping 'gcp_legacy': unknown mapping \(one of: azure_ea, oci\)"):
        ff.discover(str(path), mapping="gcp_legacy")
    bad = write_csv(tmp_path / "ea.csv", ["Date", "ChargeType"], [["9/2/2023", "Usage"]])
    with pytest.raises(SourceError, match=r"ea\.csv: native column CostInBillingCurrency or Cost "
                                          r"\(FOCUS BilledCost, mapping azure_ea\) is missing"):
        ff.read_bytes(bad.read_bytes(), str(bad), mapping="azure_ea")
    bad = write_csv(tmp_path / "ea2.csv", ["Date", "ChargeType", "Cost"], [["2023-09-02", "Usage", "1"]])
    with pytest.raises(SourceError, match=r"ea2\.csv: column Date: unparseable date '2023-09-02' "
                                          r"\(expected %m/%d/%Y\) in data row 1"):
        ff.read_bytes(bad.read_bytes(), str(bad), mapping="azure_ea")


def test_aws_focus_gzip_csv_data_files(tmp_path):
    export = tmp_path / NAME
    (export / "data" / "BILLING_PERIOD=2026-11").mkdir(parents=True)
    (export / "metadata" / "BILLING_PERIOD=2026-11").mkdir(parents=True)
    f = write_csv(export / "data" / "BILLING_PERIOD=2026-11" / f"{NAME}-00001.csv.gz",
                  ["BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost",
                   "BillingAccountId", "BillingCurrency", "x_Operation"],
                  [["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z", "Usage", "4.75",
                    '"000000000042"', "USD", "RunInstances"]], gz=True)
    (export / "metadata" / "BILLING_PERIOD=2026-11" / f"{NAME}-Manifest.json").write_text(json.dumps(
        {"exportName": NAME, "dataFiles": [f"s3://{BUCKET}/{PREFIX}/{NAME}/data/BILLING_PERIOD=2026-11/{f.name}"]}))
    [p] = ff.discover_aws(str(export))
    [row] = ff.read_aws_period(p).to_pylist()
    assert row["BilledCost"] == Decimal("4.75") and row["BillingAccountId"] == "000000000042"
    assert json.loads(row["_extra"]) == {"x_Operation": "RunInstances"}


def test_focus_files_from_an_s3_prefix(moto_s3, tmp_path):
    bucket = "focus-drop"
    moto_s3.create_bucket(Bucket=bucket)
    h = ["BillingPeriodStart", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost",
         "BillingCurrency"]
    a = write_csv(tmp_path / "a.csv", h, [["2025-01-01", "2025-01-03", "2025-01-04", "Usage", "1.5", "USD"]])
    b = write_csv(tmp_path / "b.csv.gz", h, [["2025-02-01", "2025-02-03", "2025-02-04", "Usage", "2.5", "USD"]],
                  gz=True)
    moto_s3.upload_file(str(a), bucket, "exports/2025/a.csv")
    moto_s3.upload_file(str(b), bucket, "exports/2025/b.csv.gz")
    moto_s3.put_object(Bucket=bucket, Key="exports/README.md", Body=b"not data")
    moto_s3.put_object(Bucket=bucket, Key="exports-old/c.csv", Body=b"BilledCost\n9\n")  # sibling prefix
    periods = ff.discover(f"s3://{bucket}/exports", s3_client=moto_s3)
    assert [(p.billing_period, p.files) for p in periods] == [
        ("2025-01", (f"s3://{bucket}/exports/2025/a.csv",)), ("2025-02", (f"s3://{bucket}/exports/2025/b.csv.gz",))]
    assert [sum(p.table.column("BilledCost").to_pylist()) for p in periods] == [Decimal("1.5"), Decimal("2.5")]
    with pytest.raises(SourceError, match=r"focus_files: s3://focus-drop/nothing: no FOCUS files found"):
        ff.discover(f"s3://{bucket}/nothing", s3_client=moto_s3)
    with pytest.raises(SourceError, match=r"focus_files: s3://no-such-bucket-x/.*S3 NoSuchBucket"):
        ff.discover("s3://no-such-bucket-x/exports", s3_client=moto_s3)


# --- billing currency: FOCUS requires it on every row -------------------------------------------
CUR_H = ["ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory", "BilledCost", "BillingCurrency", "PricingCurrency"]


def test_missing_billing_currency_is_an_ingest_error_naming_file_and_row(tmp_path):
    """Without a currency a row can only fail the mart's not-null test after the build; the
    connector says so at ingest, naming the file, the column and the option that fixes it."""
    f = write_csv(tmp_path / "partly.csv", CUR_H, [["2025-01-01", "2025-01-02", "Usage", "1", "USD", "NULL"],
                                                   ["2025-01-01", "2025-01-02", "Usage", "2", "NULL", "NULL"],
                                                   ["2025-01-01", "2025-01-02", "Usage", "3", "NULL", "EUR"]])
    with pytest.raises(SourceError, match=r"^focus_files: .*partly\.csv: column BillingCurrency is null in 1 of 3 "
                                          r"rows \(e\.g\. data row 2\), nor a PricingCurrency: .*source option "
                                          r"billing_currency \(e\.g\. billing_currency: USD\)$"):
        ff.discover(str(f))
    g = write_csv(tmp_path / "none.csv", CUR_H[:4], [["2025-01-01", "2025-01-02", "Usage", "1"]])
    with pytest.raises(SourceError, match=r"none\.csv: has no BillingCurrency column, nor a PricingCurrency"):
        ff.discover(str(g))


def test_billing_currency_option_fills_only_what_the_file_omits_and_says_so(tmp_path):
    f = write_csv(tmp_path / "partly.csv", CUR_H, [["2025-01-01", "2025-01-02", "Usage", "1", "EUR", "NULL"],
                                                   ["2025-01-01", "2025-01-02", "Usage", "2", "NULL", "NULL"]])
    [p] = ff.discover(str(f), billing_currency="USD")
    rows = p.table.to_pylist()
    assert [r["BillingCurrency"] for r in rows] == ["EUR", "USD"]  # the file's own value wins
    assert [r["_extra"] for r in rows] == [None, '{"aispend_BillingCurrency_from":"source option billing_currency"}']
    # the option is part of the fingerprint: changing it reloads the period, the same one does not
    assert p.fingerprint == ff.discover(str(f), billing_currency="USD")[0].fingerprint
    assert p.fingerprint != ff.discover(str(f), billing_currency="GBP")[0].fingerprint
    assert ff.discover(str(f), billing_currency="GBP")[0].table.column("BillingCurrency").to_pylist() == ["EUR", "GBP"]
    for bad in ("usd", "US", 1):
        with pytest.raises(SourceError,
                           match=rf"^focus_files: option billing_currency: {bad!r} is not a currency code"):
            ff.discover(str(f), billing_currency=bad)
