"""raw/focus_lines through `dg.materialize`: a focus_files directory and an aws_focus export feed
one raw table; a bad file fails naming source and file and keeps the previous partition; on S3 both
honour the AWS source options (profile, role_arn, endpoint_url, region) of every AWS source."""

import json
import sys
from decimal import Decimal
from pathlib import Path

import boto3
import dagster as dg
import pyarrow.parquet as pq
import requests

from pipelines.definitions import build_definitions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from moto_peer import moto_server
from test_focus_files import NAME, PREFIX, write_aws_export, write_csv

H = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
     "BilledCost", "BillingAccountId", "ProviderName", "BillingCurrency", "x_Custom"]


def _setup(tmp_path: Path):
    files = tmp_path / "focus"
    write_csv(files / "oct.csv", H, [
        ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10-05 00:00:00", "2026-10-06 00:00:00", "Usage",
         "1.25", '"000111"', "Oracle", "USD", "a"],
        ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10-06 00:00:00", "2026-10-07 00:00:00", "Tax",
         "0.10", '"000111"', "Oracle", "USD", "NULL"]], bom=True)
    export = write_aws_export(tmp_path / "aws", {"2026-10": [["2.5", "0.5"]]})
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"""home: {tmp_path / 'home'}
start_date: "2026-09-01"
sources:
  - name: oci-focus
    type: focus_files
    uri: {files}
  - name: aws-focus
    type: aws_focus
    uri: {export}
""")
    return files, cfg


def _run(cfg: Path, home: Path, key="2026-10"):
    defs = build_definitions(str(cfg), str(home))
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey(["raw", "focus_lines"])],
                          resources=defs.resources, partition_key=key, raise_on_error=False)


def test_two_source_types_feed_focus_lines_and_bad_file_keeps_previous(tmp_path):
    files, cfg = _setup(tmp_path)
    home = tmp_path / "home"
    res = _run(cfg, home)
    assert res.success
    raw = home / "lake" / "raw" / "focus_lines"
    oci = pq.read_table(next(raw.glob("source=oci-focus/billing_period=2026-10/*.parquet")))
    aws = pq.read_table(next(raw.glob("source=aws-focus/billing_period=2026-10/*.parquet")))
    assert oci.num_rows == 2 and aws.num_rows == 2
    assert sum(oci.column("BilledCost").to_pylist()) == Decimal("1.35")
    assert sum(aws.column("BilledCost").to_pylist()) == Decimal("3.0")
    assert oci.column("BillingAccountId").to_pylist() == ["000111", "000111"]
    assert set(aws.column("_source_type").to_pylist()) == {"aws_focus"}

    # a file missing BilledCost: the run fails naming the source and the file, nothing is replaced
    write_csv(files / "broken.csv", ["ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory"],
              [["2026-10-01", "2026-10-02", "Usage"]])
    res = _run(cfg, home)
    assert not res.success
    text = "\n".join(ev.event_specific_data.error.message for ev in res.all_events
                     if ev.event_type_value == "STEP_FAILURE")
    assert "source 'oci-focus' (focus_files)" in text
    assert "broken.csv: required FOCUS column BilledCost is missing" in text
    assert pq.read_table(next(raw.glob("source=oci-focus/billing_period=2026-10/*.parquet"))).num_rows == 2


def test_mapping_option_reaches_the_connector(shared_data):
    from pipelines.config import SourceConfig
    from pipelines.ingest import focus

    oci = shared_data / "billing/oci/reports_cost-csv_0000000030000269.csv"
    offered = focus._discover(SourceConfig("oci", "focus_files", str(oci), {"mapping": "oci"}))
    assert list(offered) == ["2023-11"]
    t = offered["2023-11"].read()
    assert t.num_rows == 506 and set(t.column("ProviderName").to_pylist()) == {"Oracle"}


def test_aws_focus_and_focus_files_on_s3_honour_the_aws_source_options(tmp_path, monkeypatch):
    """Both FOCUS source types reach S3 through the one client builder of the AWS sources: a named
    `profile` (no credentials anywhere else), `role_arn` assumed through STS, `endpoint_url` (a
    moto server on loopback) and `region`. The server's own request recording shows what arrived:
    every S3 request signed for eu-west-1, the aws_focus ones with the role's temporary key."""
    export = write_aws_export(tmp_path / "src", {"2026-10": [["10"], ["20.5"]]})
    drop = write_csv(tmp_path / "drop" / "oct.csv", H, [
        ["2026-10-01", "2026-11-01", "2026-10-05", "2026-10-06", "Usage", "1.25", "000111", "Oracle", "USD", "a"]])
    creds = tmp_path / "aws-credentials"
    creds.write_text("[billing]\naws_access_key_id = AKIABILLINGPROFILE01\naws_secret_access_key = s3cr3t\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
                "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # moto writes its request recording to ./moto_recording
    bucket = "focus-options"  # moto's state is per process: a bucket no other test creates
    with moto_server() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="setup",
                          aws_secret_access_key="setup")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for f in export.rglob("*"):
            if f.is_file():
                s3.upload_file(str(f), bucket, f"{PREFIX}/{NAME}/{f.relative_to(export)}")
        s3.upload_file(str(drop), bucket, "drop/2026/oct.csv")
        aws = f"endpoint_url: '{endpoint}', region: eu-west-1, profile: billing"
        cfg = tmp_path / "aispend.yaml"
        cfg.write_text(f"""start_date: "2026-09-01"
sources:
  - {{name: aws-focus, type: aws_focus, uri: 's3://{bucket}/{PREFIX}/{NAME}', {aws},
     role_arn: 'arn:aws:iam::123456789012:role/billing-reader'}}
  - {{name: drop, type: focus_files, uri: 's3://{bucket}/drop', {aws}}}
""")
        home = tmp_path / "home"
        assert requests.post(f"{endpoint}/moto-api/recorder/start-recording", timeout=10).ok
        try:
            res = _run(cfg, home)
            recording = requests.get(f"{endpoint}/moto-api/recorder/download-recording", timeout=10).text
        finally:  # the recorder is process-wide in moto: other tests' servers must not record
            requests.post(f"{endpoint}/moto-api/recorder/stop-recording", timeout=10)
    assert res.success, [ev.event_specific_data.error.message for ev in res.all_events
                         if ev.event_type_value == "STEP_FAILURE"]
    raw = home / "lake" / "raw" / "focus_lines"
    aws_rows = pq.read_table(raw / "source=aws-focus" / "billing_period=2026-10")
    drop_rows = pq.read_table(raw / "source=drop" / "billing_period=2026-10")
    assert (aws_rows.num_rows, sum(aws_rows.column("BilledCost").to_pylist())) == (2, Decimal("30.5"))
    assert (drop_rows.num_rows, drop_rows.column("BilledCost").to_pylist()) == (1, [Decimal("1.25")])
    assert set(drop_rows.column("_source_uri").to_pylist()) == {f"s3://{bucket}/drop/2026/oct.csv"}

    # what the server received: (path, access key, region, service) of each signed request
    signed = []
    for line in recording.splitlines():
        req = json.loads(line)
        cred = req["headers"]["Authorization"].split("Credential=")[1].split(",")[0].split("/")
        signed.append((req["url"].split(endpoint, 1)[-1], cred[0], cred[2], cred[3]))
    sts = [s for s in signed if s[3] == "sts"]
    s3_calls = [s for s in signed if s[3] == "s3"]
    assert sts and {(key, region) for _, key, region, _ in sts} == {("AKIABILLINGPROFILE01", "eu-west-1")}
    assert {region for _, _, region, _ in s3_calls} == {"eu-west-1"}
    keys: dict[str, set[str]] = {}
    for path, key, _, _ in s3_calls:
        keys.setdefault("drop" if "drop" in path else "aws-focus", set()).add(key)
    assert keys["drop"] == {"AKIABILLINGPROFILE01"}  # the profile's own key
    [role_key] = keys["aws-focus"]  # the role's temporary key (STS), not the profile's
    assert role_key != "AKIABILLINGPROFILE01" and role_key.startswith("ASIA")
    assert len(s3_calls) == 6  # aws-focus: list, manifest, 2 data files; drop: list, 1 file
