"""Nothing wrong gets in, nothing is lost (issue 14, items 1 and 4), through `aispend run` as a user runs it.

* a number that overflows its cast (FOCUS `BilledCost = 1e30`, which pyarrow's text → decimal cast
  turned into 18,960,114,910,927,365,649.47 without a word) stops the load naming file, row, column
  and value; so does a value beyond the source's plausible range (options max_abs_cost /
  max_abs_quantity), in FOCUS files, CUR 2.0 and GCP exports;
* a GCP row whose invoice.month is not a month is rejected naming file and line (it was dropped);
* negative Usage lines are loaded and published as exported, and counted in the run summary.
"""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main

TS = pa.timestamp("us", tz="UTC")
FOCUS_HEADER = "BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,ConsumedQuantity," \
               "BillingCurrency\n"
CUR_SOURCE = "{{name: payer, type: aws_cur, uri: {}/exports/cur}}"
FOCUS_OK = "2026-10-01,2026-10-05 00:00:00,2026-10-06 00:00:00,Usage,{cost},{qty},USD\n"


def _run(tmp_path: Path, capsys, monkeypatch, source: str) -> tuple[int, str, str, Path]:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    tmp_path.mkdir(exist_ok=True)
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: 2026-10-01\nsources:\n  - {source}\n")
    home = tmp_path / "home"
    rc = main(["run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"])
    out, err = capsys.readouterr()
    return rc, out, err, home


def _rejected(tmp_path: Path, capsys, monkeypatch, source: str, step: str, problem: str) -> None:
    """`aispend run` failed in the billing ingest with one line naming the problem; nothing published."""
    rc, _, err, home = _run(tmp_path, capsys, monkeypatch, source)
    assert rc == 1
    (log,) = (home / "logs").glob("run-*.log")
    assert err == ("\nbilling ingest 2026-10..2026-10 failed; nothing was published and the previous warehouse is "
                   f"unchanged.\n  step {step}: {problem}\n  full log: {log}\n"), err
    assert not (home / "warehouse" / "aispend.duckdb").exists()


# --- item 1: overflow and plausible ranges ---------------------------------------------------------
@pytest.mark.faults("rejected")
@pytest.mark.parametrize("value", ["1e30", "-1e30", "1E+25"])
def test_focus_cost_in_exponent_notation_that_overflows_stops_the_run(tmp_path, capsys, monkeypatch, value):
    f = tmp_path / "focus" / "oct.csv"
    f.parent.mkdir()
    f.write_text(FOCUS_HEADER + FOCUS_OK.format(cost="1.25", qty="1") + FOCUS_OK.format(cost=value, qty="1"))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: ext, type: focus_files, uri: {f.parent}}}",
              "raw__focus_lines",
              f"focus_lines: source 'ext' (focus_files): nothing written, previous data kept: focus_files: {f}: "
              f"data row 2, column BilledCost: '{value}' overflows DECIMAL(38,18) (|value| < 1e20)")


@pytest.mark.faults("rejected")
def test_focus_values_beyond_the_sources_plausible_range_stop_the_run(tmp_path, capsys, monkeypatch):
    """Defaults (1e9 per line of money) and the per-source option, which tightens or widens them."""
    f = tmp_path / "focus" / "oct.csv"
    f.parent.mkdir()
    f.write_text(FOCUS_HEADER + FOCUS_OK.format(cost="1.25", qty="1") + FOCUS_OK.format(cost="-1500000000", qty="1"))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: ext, type: focus_files, uri: {f.parent}}}",
              "raw__focus_lines",
              f"focus_lines: source 'ext' (focus_files): nothing written, previous data kept: focus_files: {f}: "
              "data row 2, column BilledCost: -1500000000 is outside the plausible range ±1e+09 "
              "(source option max_abs_cost)")

    f.write_text(FOCUS_HEADER + FOCUS_OK.format(cost="1.25", qty="1") + FOCUS_OK.format(cost="3", qty="1")
                 + FOCUS_OK.format(cost="2", qty="12000.5"))
    _rejected(tmp_path / "q", capsys, monkeypatch,
              f"{{name: ext, type: focus_files, uri: {f.parent}, max_abs_cost: 100, max_abs_quantity: 10000}}",
              "raw__focus_lines",
              f"focus_lines: source 'ext' (focus_files): nothing written, previous data kept: focus_files: {f}: "
              "data row 3, column ConsumedQuantity: 12000.5 is outside the plausible range ±1e+04 "
              "(source option max_abs_quantity)")


def _cur_period(export: Path, rows: list[tuple[str, float, float]]) -> Path:
    """A CUR 2.0 period for 2026-10 (Parquet + manifest): rows of (line type, cost, usage amount)."""
    name = "cur"
    data = export / "data" / "BILLING_PERIOD=2026-10"
    meta = export / "metadata" / "BILLING_PERIOD=2026-10"
    data.mkdir(parents=True)
    meta.mkdir(parents=True)
    n = len(rows)
    f = data / f"{name}-00001.snappy.parquet"
    pq.write_table(pa.table({
        "identity_line_item_id": [f"li-{i}" for i in range(n)],
        "line_item_line_item_type": [r[0] for r in rows],
        "line_item_usage_start_date": pa.array([datetime(2026, 10, 2, tzinfo=timezone.utc)] * n, TS),
        "line_item_usage_account_id": ["111122223333"] * n, "line_item_product_code": ["AmazonEC2"] * n,
        "line_item_unblended_cost": [r[1] for r in rows], "line_item_usage_amount": [r[2] for r in rows],
        "line_item_currency_code": ["USD"] * n,
    }), f)
    (meta / f"{name}-Manifest.json").write_text(json.dumps(
        {"executionId": "exec-1", "exportName": name,
         "dataFiles": [f"s3://b/p/{name}/data/BILLING_PERIOD=2026-10/{f.name}"]}))
    return f


@pytest.mark.faults("rejected")
def test_cur_usage_amount_beyond_the_plausible_range_stops_the_run(tmp_path, capsys, monkeypatch):
    f = _cur_period(tmp_path / "exports" / "cur", [("Usage", 1.0, 2.0), ("Usage", 3.0, 4.0), ("Usage", 5.0, 1e30)])
    _rejected(tmp_path, capsys, monkeypatch, CUR_SOURCE.format(tmp_path),
              "raw__aws_cur",
              f"aws_cur: source 'payer' (aws_cur): nothing written, previous data kept: aws_cur: {f}: "
              "data row 3, column line_item_usage_amount: 1e+30 is outside the plausible range ±1e+24 "
              "(source option max_abs_quantity)")


# --- GCP: overflowing cost, and a row whose invoice.month is not a month ----------------------------
def _gcp_row(month, cost: float = 0.32) -> str:
    return json.dumps({
        "billing_account_id": "0A1B2C-3D4E5F-6A7B8C", "service": {"id": "6F81-5844-456A", "description": "Compute"},
        "sku": {"id": "2E27-4F75-95CD", "description": "N1 core"}, "usage_start_time": "2026-10-03T00:00:00Z",
        "usage_end_time": "2026-10-03T01:00:00Z", "project": {"id": "p1"}, "cost": cost, "currency": "USD",
        "usage": {"amount": 3600, "unit": "seconds"}, "credits": [], "invoice": {"month": month},
        "cost_type": "regular", "export_time": "2026-10-03T05:00:00Z"}) + "\n"


@pytest.mark.faults("rejected")
@pytest.mark.parametrize("month", ["2026-10", "202613", None])
def test_gcp_row_whose_invoice_month_is_not_a_month_is_rejected_naming_file_and_line(tmp_path, capsys,
                                                                                      monkeypatch, month):
    f = tmp_path / "gcp" / "export.jsonl"
    f.parent.mkdir()
    f.write_text(_gcp_row("202610", 10.0) + _gcp_row("202610", 2.5) + _gcp_row(month))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: gcp, type: gcp_billing, uri: {f.parent}}}",
              "raw__gcp_billing",
              f"gcp_billing: source 'gcp' (gcp_billing): nothing written, previous data kept: gcp_billing: {f}:3: "
              f"invoice.month {month!r} is not a month (YYYYMM)")


@pytest.mark.faults("rejected")
def test_gcp_cost_beyond_the_plausible_range_is_rejected_naming_file_line_and_field(tmp_path, capsys, monkeypatch):
    f = tmp_path / "gcp" / "export.jsonl"
    f.parent.mkdir()
    f.write_text(_gcp_row("202610", 10.0) + _gcp_row("202610", -1e30))
    _rejected(tmp_path, capsys, monkeypatch, f"{{name: gcp, type: gcp_billing, uri: {f.parent}}}",
              "raw__gcp_billing",
              f"gcp_billing: source 'gcp' (gcp_billing): nothing written, previous data kept: gcp_billing: {f}:2: "
              "column cost: -1e+30 is outside the plausible range ±1e+09 (source option max_abs_cost)")


# --- item 4: negative Usage lines are published and counted ---------------------------------------
@pytest.mark.faults("shown")
def test_negative_usage_lines_are_published_and_counted_in_the_run_summary(tmp_path, capsys, monkeypatch):
    _cur_period(tmp_path / "exports" / "cur", [("Usage", 120.0, 10.0), ("Usage", -4000.0, 1.0),
                                               ("Usage", -1000.0, 1.0), ("Credit", -20.0, 0.0),
                                               ("Usage", -0.5, 1.0)])
    rc, out, err, home = _run(tmp_path, capsys, monkeypatch, CUR_SOURCE.format(tmp_path))
    assert rc == 0, err
    assert re.search(r"\n    payer +aws_cur +5 rows   1 partition written, 0 unchanged\n"
                     r"      3 negative Usage lines, −5,000\.50 USD \(credits, refunds or corrections; loaded as "
                     r"exported\)\n", out), out
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    try:  # published as exported: 120 − 4000 − 1000 − 20 − 0.5
        assert con.execute("select count(*), sum(BilledCost) from focus_costs where x_source = 'aws_cur'"
                           ).fetchone() == (5, -4900.5)
    finally:
        con.close()
