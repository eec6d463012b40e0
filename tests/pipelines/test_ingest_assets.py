"""Ingest assets through `dg.materialize` on a temporary home: bad input fails loudly, keeps old data."""

import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from demo import generate
from demo.emulator import ApiEmulator
from pipelines.definitions import build_definitions


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    generate(out, days=6)  # 2026-11-10 .. 2026-11-15
    return out


@pytest.fixture(autouse=True)
def emulator_url(monkeypatch):
    # the demo config names the emulator's URL; tests that do not call the APIs need only a value
    monkeypatch.setenv("AISPEND_EMULATOR_URL", "http://127.0.0.1:9")


def _defs(org: Path, home: Path) -> dg.Definitions:
    return build_definitions(str(org / "aispend.yaml"), str(home))


def _run(defs, key: str, partition_key=None, tags=None):
    return dg.materialize(list(defs.assets), selection=[dg.AssetKey.from_user_string(key)], resources=defs.resources,
                          partition_key=partition_key, tags=tags, raise_on_error=False)


def _failure_text(res) -> str:
    msgs = []
    for ev in res.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.event_specific_data.error
            while err is not None:
                msgs.append(err.message)
                err = err.cause
    return "\n".join(msgs)


def test_missing_manifest_file_fails_naming_source_and_file_and_keeps_previous(org, tmp_path):
    home = tmp_path / "home"
    defs = _defs(org, home)
    assert _run(defs, "raw/aws_cur", partition_key="2026-11").success
    part = next((home / "lake" / "raw" / "aws_cur").glob("source=aws_cur2/billing_period=2026-11/*.parquet"))
    before = pq.read_table(part).num_rows
    assert before > 0

    export = org / "aws" / "cur2" / "aispend-demo-cur"
    manifest_path = next(export.glob("metadata/BILLING_PERIOD=2026-11/*-Manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    missing = manifest["dataFiles"][0].replace("00001", "00002")
    manifest["dataFiles"].append(missing)
    manifest["executionId"] = "changed-execution"
    manifest_path.write_text(json.dumps(manifest))
    try:
        res = _run(defs, "raw/aws_cur", partition_key="2026-11")
    finally:
        manifest["dataFiles"].pop()
        manifest_path.write_text(json.dumps(manifest))
    assert not res.success
    text = _failure_text(res)
    assert "source 'aws_cur2' (aws_cur)" in text
    assert "aispend-demo-cur-00002.snappy.parquet" in text and "missing" in text
    assert pq.read_table(part).num_rows == before


def test_wrong_admin_key_fails_without_leaking_it(org, tmp_path, monkeypatch):
    with ApiEmulator(org / "api") as emu:
        monkeypatch.setenv("AISPEND_EMULATOR_URL", emu.base_url)
        monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-wrong-and-secret")
        defs = _defs(org, tmp_path / "home")
        res = _run(defs, "raw/openai_usage", tags={"dagster/asset_partition_range_start": "2026-11-10",
                                                   "dagster/asset_partition_range_end": "2026-11-12"})
    assert not res.success
    text = _failure_text(res)
    assert "source 'openai' (openai)" in text and "HTTP 401" in text and "/v1/organization/usage/completions" in text
    assert "sk-admin-wrong-and-secret" not in text
    assert not (tmp_path / "home" / "lake" / "raw" / "openai_usage" / "source=openai").exists()


def test_rerun_of_a_day_range_replaces(org, tmp_path):
    defs = _defs(org, tmp_path / "home")
    tags = {"dagster/asset_partition_range_start": "2026-11-10", "dagster/asset_partition_range_end": "2026-11-12"}
    counts = []
    for _ in range(2):
        res = _run(defs, "raw/otel_spans", tags=tags)
        assert res.success
        files = sorted((tmp_path / "home" / "lake" / "raw" / "otel_spans").glob("source=*/day=*/*.parquet"))
        assert [f.parent.name for f in files] == ["day=2026-11-10", "day=2026-11-11", "day=2026-11-12"]
        counts.append(sum(pq.read_table(f).num_rows for f in files))
    assert counts[0] == counts[1] > 0
