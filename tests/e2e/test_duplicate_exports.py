"""Nothing wrong gets in twice: a copy of an export file, or a manifest listing a data file twice,
is refused at ingest through `aispend run`, naming the source and both files (or the manifest and
the file); nothing is written and the published warehouse stays as it was. A dbt test that blocks
a publish is named on the console with the model it tests and a few of its failing keys.

Before: a FOCUS file copied under another name loaded twice (spec examples: 11 → 13 lines, BilledCost
9.75 → 11.25 USD), a GCP export file present twice doubled its month (2 → 4 rows, cost 13.50 →
27.00), and a CUR manifest listing a file twice loaded it twice (3 → 5 lines, 7.00 → 10.00 USD; legacy
reportKeys: 2 → 4 lines, 3.00 → 6.00) after which the dbt build failed every run with only
"The dbt CLI process with command ... failed".
"""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aispend_cli import aispend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipelines"))
from test_sensors import NAME, write_period  # the CUR 2.0 layout as AWS writes it

FLEX = "focus/spec-examples-v1.2/commitment_discount_flexibility"
COPIED = "one_hundred_percent_utilization_without_commitment_discount_flexibility.csv"


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _focus_totals(home: Path, x_source: str) -> tuple[int, Decimal]:
    with duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True) as con:
        n, total = con.execute("select count(*), sum(BilledCost) from focus_costs where x_source = ?",
                               [x_source]).fetchone()
    return n, Decimal(total).quantize(Decimal("0.01"))


@pytest.mark.faults("rejected")
def test_focus_file_copied_under_another_name_is_refused_and_the_warehouse_kept(shared_data, tmp_path):
    exports, home = tmp_path / "focus", tmp_path / "home"
    shutil.copytree(shared_data / FLEX, exports)
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text('start_date: "2023-01-01"\nsources:\n'
                   f"  - {{name: spec, type: focus_files, uri: '{exports}', billing_currency: USD}}\n")
    first = aispend("run", "--config", str(cfg), "--end", "2023-01-31", home=home)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    # 11 lines in the 4 example files; BilledCost 9.75 summed by hand from the CSVs (2.75 + 2.00 + 1.50 + 3.50)
    assert _focus_totals(home, "focus_files") == (11, Decimal("9.75"))
    published = _digest(home / "warehouse" / "aispend.duckdb")

    copy = exports / "copy of the export.csv"
    shutil.copy(exports / COPIED, copy)
    res = aispend("run", "--config", str(cfg), "--end", "2023-01-31", home=home)
    assert res.returncode == 1
    assert ("focus_lines: source 'spec' (focus_files): nothing written, previous data kept: focus_files: "
            f"{exports / COPIED}: same content as {copy}: loading both would count each of its lines twice; "
            "remove the copy") in res.stderr
    assert _digest(home / "warehouse" / "aispend.duckdb") == published
    assert _focus_totals(home, "focus_files") == (11, Decimal("9.75"))


@pytest.mark.faults("rejected")
def test_focus_file_rewritten_gzipped_under_another_name_is_refused(shared_data, tmp_path):
    """Other bytes, the same lines: the check compares each file's lines of a period (order, file
    name and row numbers left out) with the other files' holding as many lines."""
    exports = tmp_path / "focus"
    shutil.copytree(shared_data / FLEX, exports)
    copy = exports / "resent" / "export.csv.gz"
    copy.parent.mkdir()
    copy.write_bytes(gzip.compress((exports / COPIED).read_bytes()))
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text('start_date: "2023-01-01"\nsources:\n'
                   f"  - {{name: spec, type: focus_files, uri: '{exports}', billing_currency: USD}}\n")
    res = aispend("run", "--config", str(cfg), "--end", "2023-01-31", home=tmp_path / "home")
    assert res.returncode == 1
    assert ("focus_lines: source 'spec' (focus_files): nothing written, previous data kept: focus_files: "
            f"{copy}: same content as {exports / COPIED} (the same lines of billing period 2023-01, in another "
            "file): loading both would count each of its lines twice; remove the copy") in res.stderr
    assert not (tmp_path / "home" / "lake" / "raw" / "focus_lines" / "source=spec").exists()


def _gcp_row(cost: float, sku: str) -> str:
    return json.dumps({
        "billing_account_id": "01A2B3", "service": {"id": "C7E2", "description": "Vertex AI"},
        "sku": {"id": sku, "description": f"Gemini {sku}"}, "usage_start_time": "2026-10-05T10:00:00Z",
        "usage_end_time": "2026-10-05T11:00:00Z", "project": {"id": "p1", "name": "P1", "number": "123"},
        "labels": [], "system_labels": [], "location": {"region": "us-central1"}, "cost": cost, "currency": "USD",
        "usage": {"amount": 1000.0, "unit": "count", "amount_in_pricing_units": 0.001, "pricing_unit": "1M count"},
        "credits": [], "invoice": {"month": "202610"}, "cost_type": "regular", "export_time": "2026-10-06T04:00:00Z"})


@pytest.mark.faults("rejected")
def test_gcp_export_file_present_twice_is_refused_naming_both(tmp_path):
    exports, home = tmp_path / "gcp", tmp_path / "home"
    exports.mkdir()
    (exports / "2026-10.jsonl").write_text(_gcp_row(12.5, "S1") + "\n" + _gcp_row(1.0, "S2") + "\n")
    shutil.copy(exports / "2026-10.jsonl", exports / "2026-10 (1).jsonl")
    # two blank files hold the same bytes but no rows: nothing is doubled, they are not refused
    (exports / "empty-a.jsonl").write_text("\n")
    (exports / "empty-b.jsonl").write_text("\n")
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: '2026-10-01'\nsources:\n  - {{name: gcp, type: gcp_billing, uri: '{exports}'}}\n")
    res = aispend("run", "--config", str(cfg), "--end", "2026-10-31", home=home)
    assert res.returncode == 1
    assert ("gcp_billing: source 'gcp' (gcp_billing): nothing written, previous data kept: gcp_billing: "
            f"{exports / '2026-10.jsonl'}: same content as {exports / '2026-10 (1).jsonl'}: loading both would "
            "count each of its lines twice; remove the copy") in res.stderr
    assert not (home / "lake" / "raw" / "gcp_billing" / "source=gcp").exists()
    assert not (home / "warehouse" / "aispend.duckdb").exists()

    (exports / "2026-10 (1).jsonl").unlink()
    res = aispend("run", "--config", str(cfg), "--end", "2026-10-31", home=home)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert _focus_totals(home, "gcp_billing") == (2, Decimal("13.50"))


def _cur_export(tmp_path: Path) -> tuple[Path, Path, Path]:
    export = tmp_path / "exports" / NAME
    write_period(export, "2026-10", [[1.0, 2.0], [4.0]])
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: '2026-10-01'\nsources:\n  - {{name: cur, type: aws_cur, uri: '{export}'}}\n")
    return export, export / "metadata" / "BILLING_PERIOD=2026-10" / f"{NAME}-Manifest.json", cfg


def _refused_when_the_first_file_is_listed_twice(manifest: Path, key: str, cfg: Path, home: Path, source: str,
                                                  data: Path) -> None:
    """`key` ('dataFiles', 'reportKeys') lists its first file again: the run names manifest and file."""
    m = json.loads(manifest.read_text())
    m[key].append(m[key][0])
    manifest.write_text(json.dumps(m))
    res = aispend("run", "--config", str(cfg), "--end", "2026-10-02", home=home)
    assert res.returncode == 1
    kind = "aws_cur" if key == "dataFiles" else "aws_cur_legacy"
    assert (f"aws_cur: source '{source}' ({kind}): nothing written, previous data kept: {kind}: "
            f"{manifest}: lists data file {data} twice: loading it twice would count each of its lines twice"
            ) in res.stderr
    assert not (home / "lake" / "raw" / "aws_cur" / f"source={source}").exists()


@pytest.mark.faults("rejected")
def test_cur_manifest_listing_a_data_file_twice_is_refused_naming_manifest_and_file(tmp_path):
    export, manifest, cfg = _cur_export(tmp_path)
    _refused_when_the_first_file_is_listed_twice(
        manifest, "dataFiles", cfg, tmp_path / "home", "cur",
        export / "data" / "BILLING_PERIOD=2026-10" / f"{NAME}-00001.snappy.parquet")


@pytest.mark.faults("rejected")
def test_cur_manifest_listing_two_identical_files_is_refused_naming_both(tmp_path):
    export, manifest, cfg = _cur_export(tmp_path)
    data = export / "data" / "BILLING_PERIOD=2026-10"
    shutil.copy(data / f"{NAME}-00001.snappy.parquet", data / f"{NAME}-00003.snappy.parquet")
    m = json.loads(manifest.read_text())
    m["dataFiles"].append(m["dataFiles"][0].replace("-00001.", "-00003."))
    manifest.write_text(json.dumps(m))
    res = aispend("run", "--config", str(cfg), "--end", "2026-10-02", home=tmp_path / "home")
    assert res.returncode == 1
    assert ("aws_cur: source 'cur' (aws_cur): nothing written, previous data kept: aws_cur: "
            f"{data / f'{NAME}-00003.snappy.parquet'}: same content as {data / f'{NAME}-00001.snappy.parquet'} "
            f"(both listed by {manifest}): loading both would count each of its lines twice; remove the copy"
            ) in res.stderr
    assert not (tmp_path / "home" / "lake" / "raw" / "aws_cur" / "source=cur").exists()


@pytest.mark.faults("rejected")
def test_a_dbt_test_blocking_the_publish_is_named_with_its_model_and_failing_keys(tmp_path):
    """A part that repeats its own line (the ingest refuses a line key only across files, see
    test_run_ranges): focus_costs' key test stops the publish; the console names the test, the model
    and the duplicated keys instead of only 'the dbt CLI process failed'."""
    export, manifest, cfg = _cur_export(tmp_path)
    data = export / "data" / "BILLING_PERIOD=2026-10"
    t = pq.read_table(data / f"{NAME}-00002.snappy.parquet")
    assert t.num_rows == 1
    pq.write_table(pa.concat_tables([t, t]), data / f"{NAME}-00002.snappy.parquet")
    res = aispend("run", "--config", str(cfg), "--end", "2026-10-02", home=tmp_path / "home")
    assert res.returncode == 1
    assert "billing ingest 2026-10..2026-10: ok" in res.stdout
    assert "dbt build failed, nothing published (1 blocking result)" in res.stderr
    with duckdb.connect(str(tmp_path / "home" / "warehouse" / "build" / "aispend.build.duckdb"),
                        read_only=True) as con:
        (key,), = con.execute("select x_line_id from focus_costs group by 1 having count(*) > 1").fetchall()
    assert (f"    dbt test unique_focus_costs_x_line_id on model focus_costs: 1 failing row(s), "
            f"e.g. unique_field={key!r}, n_records=2\n") in res.stderr
    assert not (tmp_path / "home" / "warehouse" / "aispend.duckdb").exists()


@pytest.mark.faults("rejected")
def test_legacy_cur_manifest_listing_a_report_key_twice_is_refused(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
    from test_aws_cur_legacy import REPORT, write_report

    report = write_report(tmp_path / "exports", {"2026-10": [[1.0, 2.0]]})
    manifest = report / "20261001-20261101" / f"{REPORT}-Manifest.json"
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: '2026-10-01'\nsources:\n  - {{name: legacy, type: aws_cur_legacy, uri: '{report}'}}\n")
    _refused_when_the_first_file_is_listed_twice(
        manifest, "reportKeys", cfg, tmp_path / "home", "legacy",
        report / "20261001-20261101" / "assembly-2026-10" / f"{REPORT}-1.csv.gz")
