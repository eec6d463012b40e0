"""The real legacy CUR export through raw aws_cur (connector + raw-zone writer) and `dbt build`:
staging and the FOCUS mapping serve legacy CUR as they serve CUR 2.0."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors import aws_cur, aws_cur_legacy, rawzone
from raw_fixture import write_raw_zone

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
SAMPLE = "billing/aws-cur-legacy-csv/sample-anonymous-aws-export-dataset.csv"


def test_legacy_cur_reaches_focus_costs(shared_data, tmp_path):
    sample = shared_data / SAMPLE
    with sample.open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = sum(Decimal(r["lineItem/UnblendedCost"]) for r in rows)
    home = tmp_path / "home"
    raw = rawzone.raw_root(home)
    write_raw_zone(raw, {})  # every other raw table: schema only
    (period,) = aws_cur_legacy.discover(str(sample))
    rawzone.write_partitions(home, "aws_cur", "legacy", "billing_period", {"2023-11": aws_cur_legacy.read_period(period)},
                             aws_cur.SCHEMAS["aws_cur"], "load-legacy", None, period.fingerprint)
    db = tmp_path / "build.duckdb"
    env = {**os.environ, "AISPEND_RAW_ROOT": str(raw), "AISPEND_DBT_DB_PATH": str(db),
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    exe = Path(sys.executable).parent / "dbt"
    res = subprocess.run([str(exe) if exe.exists() else "dbt", "build", "--project-dir", str(DBT_DIR),
                          "--profiles-dir", str(DBT_DIR), "--no-partial-parse"],
                         cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.fail(f"dbt build failed:\n{res.stdout[-8000:]}\n{res.stderr[-2000:]}")
    con = duckdb.connect(str(db), read_only=True)
    n, billed, tax = con.execute(
        "select count(*), sum(BilledCost), count(*) filter (where ChargeCategory = 'Tax') "
        "from focus_costs where x_source = 'aws_cur'").fetchone()
    assert (n, tax) == (1281, 12)
    assert Decimal(str(billed)) == expected
