"""Paths that come from data stay inside their source, through `aispend run`.

A CUR 2.0 manifest's `dataFiles` or a legacy manifest's `reportKeys` is data: before, an entry
``…/<export>/../../../../<somewhere>`` was joined onto the export root and read, and the CSV parse
error printed a line of that file. Now such an entry is an error naming the manifest and the entry,
nothing outside the root is opened, and nothing from that load is published.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.aws_cur import _Store
from connectors.errors import SourceError
from pipelines.cli import main
from test_ingest_aws import _upload, moto_endpoint  # noqa: F401  (moto_endpoint: a pytest fixture)
from test_sensors import NAME, write_period

# a file outside every export root whose lines must never reach an error message
SECRET_LINE = "TOPSECRET-4711,operator,pa55word"


def _secret(tmp_path: Path) -> Path:
    f = tmp_path / "outside" / "secret.csv"
    f.parent.mkdir()
    f.write_text(f"identity_line_item_id,line_item_line_item_type\n{SECRET_LINE}\n")
    return f


def _climb(secret: Path) -> str:
    """Enough `..` to reach / from any export root, then the secret's absolute path."""
    return "../" * 40 + str(secret).lstrip("/")


def _run(tmp_path, capsys, monkeypatch, source_yaml: str) -> tuple[int, str, str, Path]:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(f"start_date: 2026-10-01\nsources:\n  - {source_yaml}\n")
    home = tmp_path / "home"
    rc = main(["run", "--config", str(cfg), "--home", str(home), "--end", "2026-10-02"])
    out, err = capsys.readouterr()
    log = "".join(p.read_text() for p in (home / "logs").glob("run-*.log"))
    return rc, out, err + log, home


@pytest.mark.faults("rejected")
def test_cur_manifest_data_file_climbing_out_of_the_export_is_refused(tmp_path, capsys, monkeypatch):
    export = tmp_path / "exports" / NAME
    write_period(export, "2026-10", [[1.0, 2.0]])
    manifest = export / "metadata" / "BILLING_PERIOD=2026-10" / f"{NAME}-Manifest.json"
    m = json.loads(manifest.read_text())
    bad = f"s3://b/p/{NAME}/{_climb(_secret(tmp_path))}"
    m["dataFiles"].append(bad)
    manifest.write_text(json.dumps(m))

    rc, out, err, home = _run(tmp_path, capsys, monkeypatch, f"{{name: payer, type: aws_cur, uri: exports/{NAME}}}")

    assert rc == 1
    assert SECRET_LINE not in err and "TOPSECRET" not in err
    assert (f"aws_cur: {manifest}: manifest lists a data file outside the export root "
            f"{export}: {bad}") in err
    assert not (home / "warehouse" / "aispend.duckdb").exists()
    assert not list((home / "lake" / "raw").glob("aws_cur/source=payer/*"))


@pytest.mark.faults("rejected")
def test_legacy_manifest_report_key_climbing_out_of_the_report_is_refused(tmp_path, capsys, monkeypatch):
    report = tmp_path / "exports" / "hourly"
    period = report / "20261001-20261101"
    period.mkdir(parents=True)
    bad = f"cur/hourly/{_climb(_secret(tmp_path))}"
    manifest = period / "hourly-Manifest.json"
    manifest.write_text(json.dumps({"reportName": "hourly", "bucket": "b", "reportKeys": [bad]}))

    rc, out, err, home = _run(tmp_path, capsys, monkeypatch,
                              "{name: legacy, type: aws_cur_legacy, uri: exports/hourly}")

    assert rc == 1
    assert "TOPSECRET" not in err
    assert (f"aws_cur_legacy: {manifest}: manifest lists a data file outside the export root {report}: "
            f"s3://b/{bad}") in err
    assert not (home / "warehouse" / "aispend.duckdb").exists()


@pytest.mark.faults("rejected")
def test_cur_manifest_on_s3_cannot_send_the_run_to_another_bucket(moto_endpoint, tmp_path, capsys,  # noqa: F811
                                                                   monkeypatch):
    """Before, an entry without the export name was fetched as written: any object the role can read."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    for bucket in ("billing", "payroll"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="payroll", Key="2026/salaries.csv", Body=_secret(tmp_path).read_bytes())
    local = tmp_path / "v1" / NAME
    write_period(local, "2026-10", [[1.0, 2.0]])
    manifest = local / "metadata" / "BILLING_PERIOD=2026-10" / f"{NAME}-Manifest.json"
    m = json.loads(manifest.read_text())
    m["dataFiles"].append("s3://payroll/2026/salaries.csv")
    manifest.write_text(json.dumps(m))
    _upload(s3, local, "billing", "cur2")

    rc, out, err, home = _run(tmp_path, capsys, monkeypatch, f"{{name: payer, type: aws_cur, uri: "
                              f"'s3://billing/cur2/{NAME}', endpoint_url: '{moto_endpoint}'}}")

    assert rc == 1
    assert "TOPSECRET" not in err
    root = f"s3://billing/cur2/{NAME}"
    assert (f"aws_cur: {root}/metadata/BILLING_PERIOD=2026-10/{NAME}-Manifest.json: manifest lists a data file "
            f"outside the export root {root}: s3://payroll/2026/salaries.csv") in err
    assert not (home / "warehouse" / "aispend.duckdb").exists()


@pytest.mark.faults("rejected")
@pytest.mark.parametrize("data_file, ok", [
    (f"s3://orig/x/{NAME}/data/BILLING_PERIOD=2026-10/a.parquet", f"s3://copy/pre/{NAME}/data/BILLING_PERIOD=2026-10/a.parquet"),
    (f"s3://copy/pre/{NAME}/data/a.parquet", f"s3://copy/pre/{NAME}/data/a.parquet"),
    (f"s3://orig/x/{NAME}/data/../../../other-export/data/a.parquet", None),
    (f"s3://orig/x/{NAME}/./data/a.parquet", None),
    ("s3://another-bucket/data/a.parquet", None),  # no export name: must already be under the source's prefix
    (f"s3://copy/pre/{NAME}-other/data/a.parquet", None),
])
def test_s3_data_files_stay_under_the_sources_bucket_and_prefix(data_file, ok):
    store = _Store(f"s3://copy/pre/{NAME}", s3_client=object())  # resolving never calls S3
    if ok:
        assert store.resolve_data_file(data_file, NAME, "m.json") == ok
    else:
        with pytest.raises(SourceError, match=r"manifest lists a data file outside the export root "
                                              rf"s3://copy/pre/{NAME}: "):
            store.resolve_data_file(data_file, NAME, "m.json")
