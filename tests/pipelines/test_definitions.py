"""The Dagster definitions load, validate, and have the shape the design promises."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipelines.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[2]
RAW = {"aws_cur", "gcp_billing", "openai_usage", "openai_costs", "anthropic_usage", "anthropic_costs",
       "anthropic_claude_code",
       "otel_spans", "gpu_samples", "self_hosted_requests", "llm_prices", "llm_price_lines", "llm_price_matches",
       "focus_lines", "gcp_catalog_skus",
       "litellm_spend_logs", "agent_llm_calls"}
MARTS = {"focus_costs", "fct_daily_spend", "fct_llm_calls", "fct_cost_per_query", "agg_cost_per_query_daily",
         "fct_agent_loops", "fct_gpu_hours", "fct_repatriation_candidates", "fct_cost_anomalies"}


def test_definitions_validate_cli(tmp_path):
    env = {**os.environ, "AISPEND_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    env.pop("AISPEND_CONFIG", None)
    dagster = Path(sys.executable).with_name("dagster")
    out = subprocess.run([str(dagster), "definitions", "validate", "-m", "pipelines.definitions"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_asset_graph_shape(tmp_path):
    defs = build_definitions(None, str(tmp_path))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{t}" for t in RAW} <= keys
    assert MARTS <= keys
    assert "warehouse" in keys
    # every raw asset carries a blocking Great Expectations check
    specs = [graph.get_check_spec(k) for k in graph.asset_check_keys]
    checks = {c.asset_key.to_user_string(): c for c in specs if c.name == "raw_suite"}
    assert {f"raw/{t}" for t in RAW} == set(checks)
    assert all(c.blocking for c in checks.values())
    # billing monthly, the rest daily, prices a snapshot
    pd = {k: graph.get(dg.AssetKey.from_user_string(f"raw/{k}")).partitions_def for k in RAW}
    assert isinstance(pd["aws_cur"], dg.MonthlyPartitionsDefinition)
    assert isinstance(pd["gcp_billing"], dg.MonthlyPartitionsDefinition)
    assert isinstance(pd["otel_spans"], dg.DailyPartitionsDefinition)
    assert pd["llm_prices"] is None and pd["llm_price_matches"] is None
    # publish waits for every mart
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("warehouse")).parent_keys}
    assert MARTS <= parents
    # dbt sources are the raw ingest assets (not separate source assets)
    stg = graph.get(dg.AssetKey("stg_aws__cur")).parent_keys
    assert stg == {dg.AssetKey(["raw", "aws_cur"])}


def test_jobs_and_schedules(tmp_path):
    defs = build_definitions(None, str(tmp_path))
    assert {j.name for j in defs.jobs} >= {"billing_ingest_job", "daily_job", "build_job", "weekly_anomaly_job"}
    scheds = {s.name: s for s in defs.schedules}
    assert scheds["weekly_anomaly_job_schedule"].cron_schedule == "0 7 * * 1"
    assert any(s.job_name == "daily_job" for s in scheds.values())
    assert any(s.job_name == "billing_ingest_job" for s in scheds.values())


def test_jobs_ingest_only_the_sources_the_config_enables(tmp_path):
    # one AWS CUR source: the billing job ingests raw/aws_cur only, the daily job no daily source,
    # just the global price catalogue, the dbt models and the publish
    config = tmp_path / "aispend.yaml"
    config.write_text(f"home: {tmp_path}\nstart_date: 2026-10-01\nsources:\n"
                      f"  - {{name: aws, type: aws_cur, uri: {tmp_path / 'export'}}}\n")
    defs = build_definitions(str(config), str(tmp_path))

    def raw_keys(job: str) -> set[str]:
        keys = defs.resolve_job_def(job).asset_layer.executable_asset_keys
        return {k.to_user_string() for k in keys if k.path[0] == "raw"}

    assert raw_keys("billing_ingest_job") == {"raw/aws_cur"}
    assert raw_keys("daily_job") == raw_keys("build_job") == {"raw/llm_prices", "raw/llm_price_lines",
                                                              "raw/llm_price_matches"}
    daily = defs.resolve_job_def("daily_job").asset_layer.executable_asset_keys
    assert {dg.AssetKey("focus_costs"), dg.AssetKey("warehouse")} <= daily
    # every ingest asset is still defined (dbt's sources resolve; the UI can run any of them)
    assert {"raw/otel_spans", "raw/gcp_billing"} <= {k.to_user_string()
                                                     for k in defs.resolve_asset_graph().get_all_asset_keys()}
