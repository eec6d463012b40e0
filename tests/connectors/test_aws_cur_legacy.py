"""Legacy CUR CSV (slash headers) → raw aws_cur: the real anonymised export, hand-made report layouts
(local directory, moto S3 *server*, glob), renaming rule and tag folding."""

import csv
import gzip
import io
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest

from connectors import aws_cur, aws_cur_legacy
from connectors.errors import SourceError

SAMPLE = "billing/aws-cur-legacy-csv/sample-anonymous-aws-export-dataset.csv"
BUCKET, PREFIX, REPORT = "acme-legacy", "cur", "acme-report"
HEADER = ["identity/LineItemId", "identity/TimeInterval", "bill/PayerAccountId", "bill/BillingPeriodStartDate",
          "bill/BillingPeriodEndDate", "lineItem/UsageAccountId", "lineItem/LineItemType",
          "lineItem/UsageStartDate", "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageAmount",
          "lineItem/UnblendedCost", "lineItem/UnblendedRate", "lineItem/NormalizationFactor",
          "product/ProductName", "product/instanceType", "product/productFamily", "product/regionCode",
          "product/location", "pricing/publicOnDemandCost", "reservation/EffectiveCost",
          "reservation/ReservationARN", "savingsPlan/SavingsPlanEffectiveCost", "savingsPlan/SavingsPlanARN",
          "resourceTags/user:team", "resourceTags/user:CostCenter", "resourceTags/aws:createdBy"]


def legacy_rows(period: str, costs: list[float]) -> list[list[str]]:
    y, m = map(int, period.split("-"))
    start, end = f"{period}-01T00:00:00Z", f"{y + (m == 12)}-{m % 12 + 1:02d}-01T00:00:00Z"
    rows = []
    for i, c in enumerate(costs):
        tagged = i == 0
        rows.append([f"{period}-li{i}", f"{start}/{end}", "999988887777", start, end, "111122223333", "Usage",
                     f"{period}-0{i % 9 + 1}T00:00:00Z", f"{period}-0{i % 9 + 1}T01:00:00Z", "AmazonEC2", "1.0",
                     str(c), "0.5", "8", "Amazon Elastic Compute Cloud", "p5.48xlarge", "Compute Instance",
                     "us-east-1", "US East (N. Virginia)", str(c * 2), "", "", "", "",
                     "ml-research" if tagged else "", "CC-42" if tagged else "", ""])
    return rows


def legacy_csv(period: str, costs: list[float], *, gz: bool = True, header=HEADER) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(r[: len(header)] for r in legacy_rows(period, costs))
    data = buf.getvalue().encode()
    return gzip.compress(data) if gz else data


def write_report(root: Path, periods: dict[str, list[list[float]]]) -> Path:
    """<root>/<REPORT>/<YYYYMMDD-YYYYMMDD>/{<assembly>/<REPORT>-N.csv.gz, <REPORT>-Manifest.json}."""
    report = root / REPORT
    for period, files in periods.items():
        y, m = map(int, period.split("-"))
        folder = f"{y}{m:02d}01-{y + (m == 12)}{m % 12 + 1:02d}01"
        for assembly, scale in (("old-assembly", 1000.0), (f"assembly-{period}", 1.0)):
            (report / folder / assembly).mkdir(parents=True, exist_ok=True)
            keys = []
            for i, costs in enumerate(files, 1):
                name = f"{REPORT}-{i}.csv.gz"
                (report / folder / assembly / name).write_bytes(legacy_csv(period, [c * scale for c in costs]))
                keys.append(f"{PREFIX}/{REPORT}/{folder}/{assembly}/{name}")
            manifest = {"assemblyId": assembly, "bucket": BUCKET, "reportName": REPORT, "reportKeys": keys,
                        "billingPeriod": {"start": f"{folder[:8]}T000000.000Z", "end": f"{folder[9:]}T000000.000Z"},
                        "contentType": "text/csv", "compression": "GZIP"}
            # each assembly keeps its own manifest; the period's top-level one names the current assembly
            (report / folder / assembly / f"{REPORT}-Manifest.json").write_text(json.dumps(manifest))
        (report / folder / f"{REPORT}-Manifest.json").write_text(json.dumps(manifest))
    return report


def test_real_legacy_export_matches_an_independent_csv_reading(shared_data):
    path = shared_data / SAMPLE
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected_total = sum(Decimal(r["lineItem/UnblendedCost"]) for r in rows)
    assert len(rows) == 1281 and expected_total == Decimal("1.68230869740")

    (period,) = aws_cur_legacy.discover(str(path))
    assert period.billing_period == "2023-11" and period.data_files == (str(path),)
    t = aws_cur_legacy.read_period(period)
    assert t.schema == aws_cur.SCHEMAS["aws_cur"]
    assert t.num_rows == 1281
    assert round(pc.sum(t["line_item_unblended_cost"]).as_py(), 10) == float(expected_total)
    assert Counter(t["line_item_line_item_type"].to_pylist()) == {"Usage": 1269, "Tax": 12}
    assert pc.count_distinct(t["bill_billing_period_start_date"]).as_py() == 1
    assert str(t["bill_billing_period_start_date"][0].as_py()) == "2023-11-01 00:00:00+00:00"
    # legacy line item ids repeat per hour/day: (id, time interval) is the row key
    keys = zip(t["identity_line_item_id"].to_pylist(), t["identity_time_interval"].to_pylist())
    assert t["identity_line_item_id"].null_count == 0 and len(set(keys)) == 1281
    # undeclared legacy columns (94 in the file) are kept in _extra, by their CUR 2.0 names
    extra = json.loads(t["_extra"][0].as_py())
    assert extra["bill_invoicing_entity"] == "Amazon Web Services Canada, Inc."
    assert json.loads(t["product"][0].as_py())["product_name"] == "AWS CloudTrail"


def test_rename_rule_and_exceptions():
    name = aws_cur_legacy.cur2_name
    assert name("lineItem/UnblendedCost") == "line_item_unblended_cost"
    assert name("bill/BillingPeriodStartDate") == "bill_billing_period_start_date"
    assert name("pricing/publicOnDemandCost") == "pricing_public_on_demand_cost"
    assert name("savingsPlan/SavingsPlanEffectiveCost") == "savings_plan_savings_plan_effective_cost"
    assert name("reservation/EffectiveCost") == "reservation_effective_cost"
    assert name("identity/LineItemId") == "identity_line_item_id"
    assert name("product/servicecode") == "product_servicecode"
    # kept as data (aws_cur_legacy_columns.csv), not code
    assert name("savingsPlan/SavingsPlanARN") == "savings_plan_savings_plan_a_r_n"
    assert name("reservation/ReservationARN") == "reservation_reservation_a_r_n"


def test_tags_and_product_fold_into_the_cur2_maps():
    raw = legacy_csv("2026-10", [3.0, 4.0], gz=False)
    t = aws_cur_legacy.read_file(raw, "mem://legacy.csv")
    assert t.schema == aws_cur.SCHEMAS["aws_cur"]
    first, second = t.to_pylist()
    # resourceTags/user:team → user_team, the key CUR 2.0 writes and the tag_keys seed resolves
    assert json.loads(first["resource_tags"]) == {"user_team": "ml-research", "user_cost_center": "CC-42"}
    assert json.loads(second["resource_tags"]) == {}  # untagged: empty map, as CUR 2.0
    assert json.loads(first["product"]) == {"product_name": "Amazon Elastic Compute Cloud",
                                            "instance_type": "p5.48xlarge", "product_family": "Compute Instance",
                                            "region_code": "us-east-1", "location": "US East (N. Virginia)"}
    assert (first["product_instance_type"], first["product_product_family"], first["product_region_code"]) == \
        ("p5.48xlarge", "Compute Instance", "us-east-1")
    assert first["line_item_unblended_cost"] == 3.0 and first["pricing_public_on_demand_cost"] == 6.0
    assert first["line_item_unblended_rate"] == "0.5" and first["line_item_usage_account_id"] == "111122223333"
    assert json.loads(first["_extra"]) == {"line_item_normalization_factor": "8"}


def test_local_report_layout_reads_the_current_assembly_only(tmp_path):
    report = write_report(tmp_path, {"2026-09": [[1.0, 2.0]], "2026-10": [[10.0], [20.0, 30.0]]})
    periods = aws_cur_legacy.discover(str(report))
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10"]
    assert all("/assembly-" in f and f.startswith(str(report)) for p in periods for f in p.data_files)
    t = aws_cur_legacy.read_period(periods[1])
    assert sorted(t["line_item_unblended_cost"].to_pylist()) == [10.0, 20.0, 30.0]


def test_glob_groups_files_by_billing_period(tmp_path):
    for name, period, costs in (("a.csv.gz", "2026-09", [1.0]), ("b.csv", "2026-10", [2.0]),
                                ("c.csv.gz", "2026-10", [3.0, 4.0])):
        (tmp_path / name).write_bytes(legacy_csv(period, costs, gz=name.endswith(".gz")))
    periods = aws_cur_legacy.discover(str(tmp_path / "*.csv*"))
    assert [(p.billing_period, len(p.data_files)) for p in periods] == [("2026-09", 1), ("2026-10", 2)]
    assert pc.sum(aws_cur_legacy.read_period(periods[1])["line_item_unblended_cost"]).as_py() == 9.0
    fp = periods[1].fingerprint
    (tmp_path / "b.csv").write_bytes(legacy_csv("2026-10", [2.5], gz=False))
    assert aws_cur_legacy.discover(str(tmp_path / "*.csv*"))[1].fingerprint != fp
    with pytest.raises(SourceError, match=r"^aws_cur_legacy: .*/nothing-\*\.csv: no files match the glob"):
        aws_cur_legacy.discover(str(tmp_path / "nothing-*.csv"))


def test_legacy_bad_input(tmp_path):
    missing_cost = [h for h in HEADER if h != "lineItem/UnblendedCost"]
    with pytest.raises(SourceError, match=r"^aws_cur_legacy: mem://x.csv: required column\(s\) missing: "
                                          r"line_item_unblended_cost$"):
        aws_cur_legacy.read_file(legacy_csv("2026-10", [1.0], gz=False, header=missing_cost), "mem://x.csv")
    raw = legacy_csv("2026-10", [1.0] * 500)
    with pytest.raises(SourceError, match=r"^aws_cur_legacy: mem://x.csv.gz: unreadable gzip CSV"):
        aws_cur_legacy.read_file(raw[: len(raw) // 2], "mem://x.csv.gz")


def test_s3_report_matches_local(tmp_path, moto_s3):
    report = write_report(tmp_path, {"2026-10": [[10.0], [20.0, 30.0]]})
    moto_s3.create_bucket(Bucket=BUCKET)
    for f in report.rglob("*"):
        if f.is_file():
            moto_s3.upload_file(str(f), BUCKET, f"{PREFIX}/{REPORT}/{f.relative_to(report)}")
    uri = f"s3://{BUCKET}/{PREFIX}/{REPORT}"
    (s3p,) = aws_cur_legacy.discover(uri, s3_client=moto_s3)
    (lp,) = aws_cur_legacy.discover(str(report))
    assert s3p.fingerprint == lp.fingerprint and s3p.billing_period == "2026-10"
    t = aws_cur_legacy.read_period(s3p, s3_client=moto_s3)
    assert t.drop_columns(["_source_uri"]).equals(aws_cur_legacy.read_period(lp).drop_columns(["_source_uri"]))
    key = s3p.data_files[0].split(f"{BUCKET}/", 1)[1]
    moto_s3.delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(SourceError, match=rf"^aws_cur_legacy: {s3p.data_files[0]}: S3 NoSuchKey"):
        aws_cur_legacy.read_period(s3p, s3_client=moto_s3)


def test_report_period_without_its_manifest_is_not_offered_and_missing_file_is_named(tmp_path):
    report = write_report(tmp_path, {"2026-09": [[1.0]], "2026-10": [[10.0]]})
    # only the assembly's own manifest left: the delivery of the period is not complete
    (report / "20261001-20261101" / f"{REPORT}-Manifest.json").unlink()
    (p,) = aws_cur_legacy.discover(str(report))
    assert p.billing_period == "2026-09"
    Path(p.data_files[0]).unlink()
    with pytest.raises(SourceError,
                       match=rf"^aws_cur_legacy: {p.data_files[0]}: file listed in the manifest is missing"):
        aws_cur_legacy.read_period(p)
