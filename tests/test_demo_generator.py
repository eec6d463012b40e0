"""Tests of the synthetic organisation generator (demo.generate / demo.apply_restatement).

A 21-day window ending on DEFAULT_END (2026-10-26 .. 2026-11-15) covers all four injected
events and keeps the module under ~15 s; determinism runs on a 3-day window.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

import demo
from demo import aws_cur
from demo._common import LLM_PRICES

CUR = Path("aws/cur2/aispend-demo-cur")
CONTRACT_CUR_COLUMNS = """bill_billing_period_start_date bill_billing_period_end_date
bill_payer_account_id bill_invoice_id bill_billing_entity bill_bill_type identity_line_item_id
identity_time_interval line_item_line_item_type line_item_usage_start_date
line_item_usage_end_date line_item_usage_account_id line_item_usage_account_name
line_item_product_code line_item_usage_type line_item_operation line_item_resource_id
line_item_availability_zone line_item_usage_amount line_item_unblended_rate
line_item_unblended_cost line_item_blended_cost line_item_net_unblended_cost
line_item_currency_code line_item_line_item_description line_item_legal_entity
pricing_public_on_demand_cost pricing_public_on_demand_rate pricing_unit pricing_term
product_servicecode product_product_family product_instance_type product_instance_family
product_region_code product_sku savings_plan_savings_plan_effective_cost
reservation_effective_cost product resource_tags cost_category discount""".split()


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    return out, demo.generate(out, days=21)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_and_window_dependent(tmp_path):
    a = demo.generate(tmp_path / "a", days=3, end=date(2026, 11, 5))
    b = demo.generate(tmp_path / "b", days=3, end=date(2026, 11, 5))
    ha, hb = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert ha == hb and len(ha) > 80
    assert a.to_json() == b.to_json()
    demo.generate(tmp_path / "c", days=3, end=date(2026, 11, 5), seed=8)
    assert _hashes(tmp_path / "c")["otel/traces-2026-11-05.jsonl"] != ha["otel/traces-2026-11-05.jsonl"]
    # events outside a small window are omitted and flagged
    assert not any(e["in_window"] for e in a.events.values())
    with pytest.raises(ValueError, match="not in the generated window"):
        demo.apply_restatement(tmp_path / "a")


def test_layout_and_config(org):
    out, m = org
    assert m.start == date(2026, 10, 26) and m.end == demo.DEFAULT_END
    for period in ("2026-10", "2026-11"):
        assert (out / CUR / f"data/BILLING_PERIOD={period}/aispend-demo-cur-00001.snappy.parquet").is_file()
        assert (out / CUR / f"metadata/BILLING_PERIOD={period}/aispend-demo-cur-Manifest.json").is_file()
    assert sorted(p.name for p in (out / "gcp/billing_export").iterdir()) == ["202610.jsonl", "202611.jsonl"]
    assert len(list((out / "otel").glob("traces-*.jsonl"))) == 21
    assert len(list((out / "selfhosted").glob("requests-*.jsonl"))) == 21
    assert len(list((out / "gpu/gpu-node-01").glob("*/gpu-node-01-*.jsonl.gz"))) == 21 * 24
    cfg = yaml.safe_load((out / "aispend.yaml").read_text())
    types = {s["type"] for s in cfg["sources"]}
    assert types == {"aws_cur", "gcp_billing", "openai", "anthropic", "otel_traces",
                     "gpu_telemetry", "self_hosted_requests"}
    for s in cfg["sources"]:
        if s["type"] in ("openai", "anthropic"):
            assert s["uri"] == "${AISPEND_EMULATOR_URL}" and s["admin_key_env"].endswith("_ADMIN_KEY")
        else:
            assert (out / s["uri"]).is_dir()
    assert demo.load_manifest(out) == m.to_json()


def test_cur_manifest_and_parquet(org):
    out, m = org
    man = json.loads((out / CUR / "metadata/BILLING_PERIOD=2026-10/aispend-demo-cur-Manifest.json").read_text())
    for key in ("executionId", "exportArn", "exportName", "queryStatement", "tableConfigurations",
                "bucket", "prefix", "dataFiles", "columns", "billingPeriod"):
        assert key in man
    assert man["exportName"] == "aispend-demo-cur"
    assert man["billingPeriod"] == {"start": "2026-10-01T00:00:00.000Z", "end": "2026-11-01T00:00:00.000Z"}
    (uri,) = man["dataFiles"]
    rel = uri.split("/aispend-demo-cur/", 1)[1]
    assert (out / CUR / rel).is_file()
    t = pq.read_table(out / CUR / rel)
    assert [c["name"] for c in man["columns"]] == t.column_names
    assert set(CONTRACT_CUR_COLUMNS) <= set(t.column_names)
    for col in ("product", "resource_tags", "cost_category", "discount"):
        assert pa.types.is_map(t.schema.field(col).type), col
    tags = {dict(x).get("user_team") for x in t.column("resource_tags").to_pylist()}
    assert {"ml-research", "search", "support"} <= tags
    types = pc.value_counts(t.column("line_item_line_item_type")).to_pylist()
    assert {v["values"] for v in types} == {"Usage", "Tax"}  # 2026-10 is closed: tax invoiced
    p5 = t.filter(pc.equal(t.column("product_instance_type"), "p5.48xlarge"))
    assert set(p5.column("line_item_unblended_rate").to_pylist()) == {"98.32"}
    assert p5.num_rows == 2 * 24 * 6  # 2 instances, hourly, Oct 26-31
    nov = pq.read_table(out / CUR / "data/BILLING_PERIOD=2026-11/aispend-demo-cur-00001.snappy.parquet")
    assert "Tax" not in nov.column("line_item_line_item_type").to_pylist()  # open period
    assert aws_cur.total(t) == m.totals["aws_cur_by_period"]["2026-10"]


def test_cost_spike(org):
    out, m = org
    ev = m.events["cost_spike"]
    assert ev["in_window"] and ev["day"] == "2026-11-12" and ev["team"] == "ml-research"
    t = pq.read_table(out / CUR / "data/BILLING_PERIOD=2026-11/aispend-demo-cur-00001.snappy.parquet")
    daily: dict[date, float] = defaultdict(float)
    for code, tags, start, cost in zip(*(t.column(c).to_pylist() for c in (
            "line_item_product_code", "resource_tags", "line_item_usage_start_date",
            "line_item_unblended_cost"))):
        if code == "AmazonBedrock" and dict(tags).get("user_team") == "ml-research":
            daily[start.date()] += cost
    spike = daily.pop(date(2026, 11, 12))
    assert spike == pytest.approx(ev["spike_day_cost_usd"], abs=0.01)
    weekday_norm = sorted(v for d, v in daily.items() if d.weekday() < 5)
    assert spike > 6 * weekday_norm[len(weekday_norm) // 2]
    assert ev["extra_cost_usd"] == pytest.approx(spike * (1 - 1 / 8), abs=0.01)


def test_otlp_lines_and_runaway(org):
    out, m = org
    ev = m.events["runaway_loop"]
    assert ev["in_window"] and ev["llm_calls"] == 150
    best = None
    n_spans = 0
    for f in sorted((out / "otel").glob("traces-*.jsonl")):
        for line in f.read_text().splitlines():
            req = json.loads(line)
            (rs,) = req["resourceSpans"]
            res = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
            assert res["service.name"] in {"doc-search", "support-agent", "eval-harness", "internal-chat"}
            spans = rs["scopeSpans"][0]["spans"]
            n_spans += len(spans)
            chats = []
            for s in spans:
                assert len(s["traceId"]) == 32 and len(s["spanId"]) == 16
                assert isinstance(s["kind"], int) and isinstance(s["startTimeUnixNano"], str)
                assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"])
                attrs = {a["key"]: a["value"] for a in s["attributes"]}
                if "gen_ai.usage.input_tokens" in attrs:
                    v = attrs["gen_ai.usage.input_tokens"]["intValue"]
                    assert isinstance(v, str)
                    chats.append(int(v))
                    assert int(attrs["gen_ai.usage.cache_read.input_tokens"]["intValue"]) <= int(v)
            roots = [s for s in spans if not s["parentSpanId"]]
            assert len(roots) == 1
            if chats:
                amp = sum(chats) / chats[0]
                if best is None or amp > best[0]:
                    best = (amp, spans[0]["traceId"], len(chats), roots[0]["name"])
    assert n_spans == m.row_counts["otel_spans"]
    amp, trace_id, calls, root_name = best
    assert trace_id == ev["trace_id"] and calls == 150 and root_name == "invoke_agent support-triage"
    assert amp == pytest.approx(ev["input_amplification"], rel=1e-3)


def _gpu_records(out: Path, day: str) -> list[dict]:
    recs = []
    for f in sorted((out / "gpu/gpu-node-01" / day).glob("*.jsonl.gz")):
        lines = gzip.decompress(f.read_bytes()).decode().splitlines()
        assert json.loads(lines[0])["record"] == "meta"
        recs += [json.loads(x) for x in lines]
    return recs


def test_gpu_telemetry_and_idle_week(org):
    out, m = org
    ev = m.events["idle_gpu_week"]
    assert ev["in_window"] and ev["start"] == "2026-10-26" and ev["end"] == "2026-11-01"
    assert ev["mean_util_pct"] < 5 < 30 < ev["normal_mean_util_pct"]
    busy = _gpu_records(out, "2026-11-12")
    idle = _gpu_records(out, "2026-10-28")
    gpu = [r for r in busy if r["record"] == "gpu"]
    assert len(gpu) == 8 * 8640
    assert any(r["record"] == "process" for r in busy)
    by_gpu = defaultdict(list)
    for r in gpu:
        by_gpu[r["gpu_uuid"]].append(r)
        assert 60 <= r["power_w"] <= 700 and 0 <= r["util_gpu_pct"] <= 100
        assert r["gpm_sm_activity_pct"] is not None and r["mem_total_bytes"] == 85_520_809_984
    assert len(by_gpu) == 8
    for rows in by_gpu.values():
        e = [r["energy_mj"] for r in rows]
        assert all(b > a for a, b in zip(e, e[1:]))  # strictly increasing counter
        # counter increments match power x 10 s
        for a, b in zip(rows[:50], rows[1:51]):
            assert b["energy_mj"] - a["energy_mj"] == pytest.approx(b["power_w"] * 10_000, rel=1e-6)
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    idle_gpu = [r for r in idle if r["record"] == "gpu"]
    assert mean(idle_gpu, "util_gpu_pct") < 5 and mean(idle_gpu, "power_w") < 95
    assert mean(gpu, "util_gpu_pct") > 30 and mean(gpu, "power_w") > 150
    # requests and utilisation agree: busy hours have requests
    reqs = [json.loads(x) for x in (out / "selfhosted/requests-2026-11-12.jsonl").read_text().splitlines()]
    assert reqs and all(r["finished_time"] >= r["arrival_time"] for r in reqs)
    assert all(r["model"] == "meta-llama/Llama-3.1-70B-Instruct" and len(r["gpus"]) == 4 for r in reqs)
    assert 0.2 < sum(r["headers"]["x-task-id"] is not None for r in reqs) / len(reqs) < 0.5
    n_idle = len((out / "selfhosted/requests-2026-10-28.jsonl").read_text().splitlines())
    assert n_idle < len(reqs) / 10


def test_restatement(org, tmp_path):
    out, m = org
    ev = m.events["restatement"]
    assert ev["in_window"] and ev["billing_period"] == "2026-10"
    mp = out / CUR / "metadata/BILLING_PERIOD=2026-10/aispend-demo-cur-Manifest.json"
    dp = out / CUR / "data/BILLING_PERIOD=2026-10/aispend-demo-cur-00001.snappy.parquet"
    before = json.loads(mp.read_text())
    assert before["executionId"] == ev["old_execution_id"]
    assert aws_cur.total(pq.read_table(dp)) == ev["old_total_usd"]
    nov_before = (out / CUR / "data/BILLING_PERIOD=2026-11/aispend-demo-cur-00001.snappy.parquet").read_bytes()
    demo.apply_restatement(out)
    after = json.loads(mp.read_text())
    assert after["executionId"] == ev["new_execution_id"] != before["executionId"]
    assert after["dataFiles"] == before["dataFiles"]
    t = pq.read_table(dp)
    assert t.num_rows == ev["new_rows"] and aws_cur.total(t) == ev["new_total_usd"]
    assert ev["delta_usd"] == pytest.approx(ev["new_total_usd"] - ev["old_total_usd"], abs=0.01)
    assert "Credit" in t.column("line_item_line_item_type").to_pylist()
    demo.apply_restatement(out)  # idempotent
    assert json.loads(mp.read_text()) == after
    assert (out / CUR / "data/BILLING_PERIOD=2026-11/aispend-demo-cur-00001.snappy.parquet").read_bytes() == nov_before


def test_gcp_rows(org):
    out, _ = org
    rows = [json.loads(x) for x in (out / "gcp/billing_export/202611.jsonl").read_text().splitlines()]
    services = {r["service"]["description"] for r in rows}
    assert services == {"Vertex AI", "Compute Engine", "BigQuery", "Cloud Storage"}
    skus = {r["sku"]["description"] for r in rows}
    assert "Nvidia Tesla A100 GPU running in Americas" in skus
    assert any(s.startswith("Gemini 2.5") for s in skus)
    credit_types = {c["type"] for r in rows for c in r["credits"]}
    assert {"SUSTAINED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT", "FREE_TIER"} <= credit_types
    for r in rows:
        assert r["invoice"]["month"] == "202611" and all(c["amount"] <= 0 for c in r["credits"])
        assert {x["key"] for x in r["labels"]} == {"team", "application"}
        assert set(r["usage"]) == {"amount", "unit", "amount_in_pricing_units", "pricing_unit"}
        assert datetime.fromisoformat(r["export_time"].replace("Z", "+00:00")) > \
            datetime.fromisoformat(r["usage_end_time"].replace("Z", "+00:00"))


def test_prices_match_genai_prices():
    from genai_prices import data
    models = {(p.id, m.id): m for p in data.providers for m in p.models}
    for model, ours in LLM_PRICES.items():
        provider = "anthropic" if model.startswith("claude") else "openai"
        base = model.rsplit("-", 3)[0] if provider == "openai" else model.rsplit("-", 1)[0]
        mp = models[(provider, base)].prices
        tier = lambda v: float(v.base if hasattr(v, "base") else v)  # noqa: E731
        assert tier(mp.input_mtok) == ours["input"], model
        assert tier(mp.output_mtok) == ours["output"], model
        assert tier(mp.cache_read_mtok) == ours["cache_read"], model


def test_api_costs_reconcile_with_usage_and_traces(org):
    out, _ = org
    rd = lambda n: [json.loads(x) for x in (out / "api" / f"{n}.jsonl").read_text().splitlines()]  # noqa: E731
    usage, costs = rd("openai_usage_completions"), rd("openai_costs")
    expect = 0.0
    for u in usage:
        p = LLM_PRICES[u["model"]]
        f = 0.5 if u["batch"] else 1.0
        cached_price = p["input"] if u["batch"] else p["cache_read"]
        expect += f * ((u["input_tokens"] - u["input_cached_tokens"]) * p["input"]
                       + u["input_cached_tokens"] * cached_price + u["output_tokens"] * p["output"]) / 1e6
    assert sum(c["amount_usd"] for c in costs) == pytest.approx(expect, rel=1e-6)
    au, ac = rd("anthropic_usage_messages"), rd("anthropic_costs")
    expect = 0.0
    for u in au:
        p = LLM_PRICES[u["model"]]
        f = 0.5 if u["service_tier"] == "batch" else 1.0
        expect += f * (u["uncached_input_tokens"] * p["input"] + u["cache_read_input_tokens"] * p["cache_read"]
                       + u["cache_creation_ephemeral_5m_input_tokens"] * p["cache_write"]
                       + u["output_tokens"] * p["output"]) / 1e6 + u["web_search_requests"] * 0.01
    assert sum(c["amount_cents"] for c in ac) / 100 == pytest.approx(expect, rel=1e-6)
    # the API reports at least the traced tokens for each day x project x model
    traced = defaultdict(int)
    proj = {"doc-search": "proj_search", "support-agent": "proj_support",
            "eval-harness": "proj_research", "internal-chat": "proj_platform"}
    for f in (out / "otel").glob("traces-*.jsonl"):
        for line in f.read_text().splitlines():
            rs = json.loads(line)["resourceSpans"][0]
            app = rs["resource"]["attributes"][0]["value"]["stringValue"]
            for s in rs["scopeSpans"][0]["spans"]:
                a = {x["key"]: x["value"] for x in s["attributes"]}
                if a.get("gen_ai.provider.name", {}).get("stringValue") == "openai" and \
                        "gen_ai.usage.input_tokens" in a:
                    day = datetime.fromtimestamp(int(s["startTimeUnixNano"]) / 1e9, timezone.utc).date()
                    traced[(day.isoformat(), proj[app], a["gen_ai.request.model"]["stringValue"])] += \
                        int(a["gen_ai.usage.input_tokens"]["intValue"])
    api_in = defaultdict(int)
    for u in usage:
        api_in[(u["day"], u["project_id"], u["model"])] += u["input_tokens"]
    assert traced and all(api_in[k] >= v for k, v in traced.items())
