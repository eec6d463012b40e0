"""raw/focus_lines through `dg.materialize`: a focus_files directory and an aws_focus export feed
one raw table; a bad file fails naming source and file and keeps the previous partition."""

import sys
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from pipelines.definitions import build_definitions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from test_focus_files import write_aws_export, write_csv  # noqa: E402

H = ["BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
     "BilledCost", "BillingAccountId", "ProviderName", "x_Custom"]


def _setup(tmp_path: Path):
    files = tmp_path / "focus"
    write_csv(files / "oct.csv", H, [
        ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10-05 00:00:00", "2026-10-06 00:00:00", "Usage",
         "1.25", '"000111"', "Oracle", "a"],
        ["2026-10-01 00:00:00", "2026-11-01 00:00:00", "2026-10-06 00:00:00", "2026-10-07 00:00:00", "Tax",
         "0.10", '"000111"', "Oracle", "NULL"]], bom=True)
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
