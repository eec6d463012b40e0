"""Smoke reads of the synthetic organisation (demo/): the API emulator and the CUR export.

The connector unit tests do not depend on demo/; these check the two sides agree. Expected
totals are computed independently from the emulator's stored rows / the Parquet files.
"""

import json
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from connectors import anthropic, aws_cur, openai
from connectors._usage_api import fetch
from connectors.errors import SourceError

demo = pytest.importorskip("demo")
from demo import apply_restatement, generate  # noqa: E402
from demo.emulator import ApiEmulator  # noqa: E402

UTC = timezone.utc
START, END = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC)  # 10 days


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    generate(out, days=14)
    with ApiEmulator(out / "api") as emu:
        yield out / "api", emu


def stored(api_dir, name):
    rows = [json.loads(line) for line in (api_dir / name).read_text().splitlines() if line.strip()]
    return [r for r in rows if START.date().isoformat() <= r["day"] < END.date().isoformat()]


def test_openai_usage_totals_and_pagination(api):
    api_dir, emu = api
    before = len(emu.requests)
    t = openai.fetch_usage(openai.make_client(emu.base_url, emu.openai_admin_key), START, END)
    assert t.schema.names == openai.SCHEMAS["openai_usage"].names
    rows = stored(api_dir, "openai_usage_completions.jsonl")
    for col in ("input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests"):
        assert pc.sum(t[col]).as_py() == sum(r[col] for r in rows), col
    assert t.num_rows == len({(r["day"], r["project_id"], r["user_id"], r["api_key_id"], r["model"], r["batch"],
                                r["service_tier"]) for r in rows})
    # one page per usage endpoint (the demo has completions only; the others answer empty buckets)
    assert len([p for p, s in emu.requests[before:] if p.startswith("/v1/organization/usage/")]) == len(
        openai.USAGE_ENDPOINTS)
    assert set(t["endpoint"].to_pylist()) == {"completions"}
    assert pc.min(t["start_time"]).as_py() == START
    assert all("sk-" not in u and emu.openai_admin_key not in u for u in t["_source_uri"].to_pylist())


def test_small_pages_give_the_same_rows(api):
    """Force 3 buckets per page: the cursor is followed and nothing is lost or doubled."""
    _, emu = api
    client = openai.make_client(emu.base_url, emu.openai_admin_key)
    small = replace(openai.USAGE, fixed_params=tuple(("limit", "3") if k == "limit" else (k, v)
                                                     for k, v in openai.USAGE.fixed_params))
    before = len(emu.requests)
    paged = fetch(client, small, openai.SCHEMAS["openai_usage"], START, END)
    assert len([p for p, s in emu.requests[before:] if p.startswith("/v1/organization/usage/")]) == 4  # 3+3+3+1
    whole = openai.fetch_usage(client, START, END)
    key = ["start_time", "project_id", "api_key_id", "model", "batch", "service_tier"]
    assert paged.drop_columns(["_source_uri"]).sort_by([(k, "ascending") for k in key]).equals(
        whole.drop_columns(["_source_uri"]).sort_by([(k, "ascending") for k in key]))


def test_openai_costs_totals(api):
    api_dir, emu = api
    t = openai.fetch_costs(openai.make_client(emu.base_url, emu.openai_admin_key), START, END)
    rows = stored(api_dir, "openai_costs.jsonl")
    assert pc.sum(t["amount_value"]).as_py() == pytest.approx(sum(r["amount_usd"] for r in rows), abs=1e-6)
    assert set(t["line_item"].to_pylist()) == {r["line_item"] for r in rows}


def test_anthropic_usage_and_costs_totals(api):
    api_dir, emu = api
    c = anthropic.make_client(emu.base_url, emu.anthropic_admin_key)
    u = anthropic.fetch_usage(c, START, END)
    assert u.schema.names == anthropic.SCHEMAS["anthropic_usage"].names
    rows = stored(api_dir, "anthropic_usage_messages.jsonl")
    assert pc.sum(u["uncached_input_tokens"]).as_py() == sum(r["uncached_input_tokens"] for r in rows)
    assert pc.sum(u["cache_creation_ephemeral_5m_input_tokens"]).as_py() == sum(
        r["cache_creation_ephemeral_5m_input_tokens"] for r in rows)
    assert pc.sum(u["server_tool_use_web_search_requests"]).as_py() == sum(r["web_search_requests"] for r in rows)
    costs = anthropic.fetch_costs(c, START, END)
    # amounts are cents as decimal strings: kept as given, summed exactly
    total = sum(Decimal(a) for a in costs["amount"].to_pylist())
    expected = sum(r["amount_cents"] for r in stored(api_dir, "anthropic_costs.jsonl"))
    assert float(total) == pytest.approx(expected, abs=0.01)


def test_wrong_key_is_401_without_the_key(api):
    _, emu = api
    with pytest.raises(SourceError) as e:
        anthropic.fetch_usage(anthropic.make_client(emu.base_url, "sk-ant-admin-wrong"), START, END)
    assert "HTTP 401" in str(e.value) and "/v1/organizations/usage_report/messages" in str(e.value)
    assert "sk-ant-admin-wrong" not in str(e.value)


def test_transient_429_is_retried(api):
    api_dir, emu = api
    emu.inject("/v1/organization/costs", 429, times=2, retry_after=0)
    t = openai.fetch_costs(openai.make_client(emu.base_url, emu.openai_admin_key), START, END)
    assert t.num_rows > 0
    assert [s for p, s in emu.requests if p.startswith("/v1/organization/costs")][-3:][:2] == [429, 429]


EXPORT = "aws/cur2/aispend-demo-cur"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    generate(out, days=50)  # 2026-09-27 .. 2026-11-15: periods 2026-09, -10, -11
    return out


def direct_totals(export_dir: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for f in export_dir.glob("data/BILLING_PERIOD=*/*.parquet"):
        t = pq.read_table(f)
        out[f.parent.name.split("=")[1]] = (t.num_rows, pc.sum(t["line_item_unblended_cost"]).as_py())
    return out


def test_demo_cur_export_periods_totals_and_maps(org):
    export = org / EXPORT
    periods = aws_cur.discover(str(export))
    assert [p.billing_period for p in periods] == ["2026-09", "2026-10", "2026-11"]
    expected = direct_totals(export)
    for p in periods:
        t = aws_cur.read_period(p)
        assert t.schema.names == aws_cur.SCHEMAS["aws_cur"].names
        rows, cost = expected[p.billing_period]
        assert t.num_rows == rows
        assert pc.sum(t["line_item_unblended_cost"]).as_py() == pytest.approx(cost, abs=1e-6)
        tags = json.loads(next(v for v in t["resource_tags"].to_pylist() if v and v != "{}"))
        assert set(tags) >= {"user_team", "user_application"}
        assert set(t["_source_uri"].to_pylist()) == set(p.data_files)


def test_demo_fingerprint_changes_on_restatement_only(tmp_path, org):
    copy = tmp_path / "export"
    shutil.copytree(org, copy)
    first = {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    assert first == {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    apply_restatement(copy)
    after = {p.billing_period: p.fingerprint for p in aws_cur.discover(str(copy / EXPORT))}
    assert after["2026-10"] != first["2026-10"]
    assert after["2026-09"] == first["2026-09"] and after["2026-11"] == first["2026-11"]


def test_demo_missing_and_truncated_files_name_the_file(tmp_path, org):
    copy = tmp_path / "export"
    shutil.copytree(org / EXPORT, copy)
    p = next(p for p in aws_cur.discover(str(copy)) if p.billing_period == "2026-10")
    data = Path(p.data_files[0])
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SourceError, match=rf"aws_cur: {data}: unreadable Parquet"):
        aws_cur.read_period(p)
    data.unlink()
    with pytest.raises(SourceError, match=rf"aws_cur: {data}: file listed in the manifest is missing"):
        aws_cur.read_period(p)
    manifest = Path(p.manifest_uri)
    manifest.write_text("{not json")
    with pytest.raises(SourceError, match="manifest is not valid JSON"):
        aws_cur.discover(str(copy))
