"""Write a tiny raw zone (docs/contracts.md layout and schemas) for dbt tests.

`write_raw_zone(root, tables)` writes, for every raw table in RAW_SCHEMAS,
`<root>/<raw_table>/_schema/empty.parquet` (zero rows, declared schema) and, for the rows given,
`<root>/<raw_table>/source=<source>/<partition_col>=<key>/part-00000.parquet` with the lineage
columns filled in the way connectors.rawzone does.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("us", tz="UTC")
S, F, I64, I32, B = pa.string(), pa.float64(), pa.int64(), pa.int32(), pa.bool_()

LINEAGE = [("_source_uri", S), ("_source_name", S), ("_ingested_at", TS), ("_load_id", S), ("_partition", S)]


def _focus_schema() -> pa.Schema:
    from connectors.focus_files import SCHEMA
    return SCHEMA


def _connector_cols(module: str) -> list[tuple[str, pa.DataType]]:
    import importlib
    schema = importlib.import_module(f"connectors.{module}").SCHEMA
    return [(f.name, f.type) for f in schema if f.name != "_source_uri"]


def _price_lines_cols() -> list[tuple[str, pa.DataType]]:
    from connectors.llm_prices import SCHEMAS
    return [(f.name, f.type) for f in SCHEMAS["llm_price_lines"] if f.name != "_source_uri"]


def _schema(cols: list[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in cols + LINEAGE])


RAW_SCHEMAS: dict[str, pa.Schema] = {
    "aws_cur": _schema([
        ("bill_billing_period_start_date", TS), ("bill_billing_period_end_date", TS),
        ("bill_payer_account_id", S), ("bill_invoice_id", S), ("bill_billing_entity", S),
        ("bill_bill_type", S), ("identity_line_item_id", S), ("identity_time_interval", S),
        ("line_item_line_item_type", S), ("line_item_usage_start_date", TS),
        ("line_item_usage_end_date", TS), ("line_item_usage_account_id", S),
        ("line_item_usage_account_name", S), ("line_item_product_code", S),
        ("line_item_usage_type", S), ("line_item_operation", S), ("line_item_resource_id", S),
        ("line_item_availability_zone", S), ("line_item_usage_amount", F),
        ("line_item_unblended_rate", S), ("line_item_unblended_cost", F),
        ("line_item_blended_cost", F), ("line_item_net_unblended_cost", F),
        ("line_item_currency_code", S), ("line_item_line_item_description", S),
        ("line_item_legal_entity", S), ("pricing_public_on_demand_cost", F),
        ("pricing_public_on_demand_rate", S), ("pricing_unit", S), ("pricing_term", S),
        ("product_servicecode", S), ("product_product_family", S), ("product_instance_type", S),
        ("product_instance_family", S), ("product_region_code", S), ("product_sku", S),
        ("savings_plan_savings_plan_effective_cost", F), ("reservation_effective_cost", F),
        ("product", S), ("resource_tags", S), ("cost_category", S), ("discount", S),
    ]),
    "gcp_billing": _schema([
        ("billing_account_id", S), ("service_id", S), ("service_description", S), ("sku_id", S),
        ("sku_description", S), ("usage_start_time", TS), ("usage_end_time", TS),
        ("project_id", S), ("project_name", S), ("project_number", S), ("labels", S),
        ("system_labels", S), ("location_location", S), ("location_country", S),
        ("location_region", S), ("location_zone", S), ("resource_name", S),
        ("resource_global_name", S), ("cost", F), ("currency", S),
        ("currency_conversion_rate", F), ("usage_amount", F), ("usage_unit", S),
        ("usage_amount_in_pricing_units", F), ("usage_pricing_unit", S), ("credits", S),
        ("invoice_month", S), ("cost_type", S), ("export_time", TS),
        ("price_effective_price", F), ("price_unit", S), ("price_pricing_unit_quantity", F),
        ("cost_at_list", F), ("transaction_type", S), ("seller_name", S),
    ]),
    "openai_usage": _schema([
        ("start_time", TS), ("end_time", TS), ("project_id", S), ("user_id", S),
        ("api_key_id", S), ("model", S), ("batch", B), ("service_tier", S),
        ("input_tokens", I64), ("output_tokens", I64), ("input_cached_tokens", I64),
        ("input_audio_tokens", I64), ("output_audio_tokens", I64), ("num_model_requests", I64),
        ("endpoint", S), ("input_cache_write_tokens", I64), ("input_uncached_tokens", I64), ("image_size", S),
        ("image_source", S), ("images", I64), ("characters", I64), ("seconds", I64), ("usage_bytes", I64),
        ("num_sessions", I64), ("num_requests", I64), ("vector_store_id", S),
    ]),
    "anthropic_claude_code": _schema([
        ("date", TS), ("actor_type", S), ("actor_email_address", S), ("actor_api_key_name", S),
        ("organization_id", S), ("customer_type", S), ("subscription_type", S), ("terminal_type", S),
        ("num_sessions", I64), ("lines_added", I64), ("lines_removed", I64), ("commits_by_claude_code", I64),
        ("pull_requests_by_claude_code", I64), ("model", S), ("input_tokens", I64), ("output_tokens", I64),
        ("cache_read_tokens", I64), ("cache_creation_tokens", I64), ("estimated_cost_currency", S),
        ("estimated_cost_amount", S),
    ]),
    "openai_costs": _schema([
        ("start_time", TS), ("end_time", TS), ("project_id", S), ("organization_id", S),
        ("line_item", S), ("amount_value", F), ("amount_currency", S),
    ]),
    "anthropic_usage": _schema([
        ("starting_at", TS), ("ending_at", TS), ("api_key_id", S), ("workspace_id", S),
        ("model", S), ("service_tier", S), ("context_window", S), ("uncached_input_tokens", I64),
        ("cache_read_input_tokens", I64), ("cache_creation_ephemeral_5m_input_tokens", I64),
        ("cache_creation_ephemeral_1h_input_tokens", I64), ("output_tokens", I64),
        ("server_tool_use_web_search_requests", I64),
    ]),
    "anthropic_costs": _schema([
        ("starting_at", TS), ("ending_at", TS), ("workspace_id", S), ("description", S),
        ("cost_type", S), ("model", S), ("service_tier", S), ("context_window", S),
        ("token_type", S), ("currency", S), ("amount", S),
    ]),
    "otel_spans": _schema([
        ("trace_id", S), ("span_id", S), ("parent_span_id", S), ("name", S), ("kind", I32),
        ("start_time", TS), ("end_time", TS), ("status_code", I32), ("service_name", S),
        ("scope_name", S), ("attributes", S), ("resource_attributes", S),
    ]),
    "gpu_samples": _schema([
        ("ts", TS), ("host", S), ("gpu_uuid", S), ("gpu_index", I32), ("name", S),
        ("util_gpu_pct", F), ("util_mem_pct", F), ("mem_used_bytes", I64),
        ("mem_total_bytes", I64), ("power_w", F), ("power_limit_w", F), ("energy_mj", I64),
        ("temp_c", F), ("sm_clock_mhz", F), ("gpm_sm_activity_pct", F),
        ("gpm_tensor_activity_pct", F), ("mig_mode", B), ("driver_version", S),
        ("nvml_version", S), ("collector_version", S), ("gr_engine_active_pct", F), ("unparsed_values", I64),
    ]),
    "self_hosted_requests": _schema([
        ("request_id", S), ("task_id", S), ("application", S), ("model", S), ("host", S),
        ("gpu_uuids", S), ("started_at", TS), ("finished_at", TS), ("prompt_tokens", I64),
        ("completion_tokens", I64), ("status", S),
    ]),
    "llm_prices": _schema([
        ("provider_id", S), ("model_id", S), ("model_match", S), ("price_start_at", TS),
        ("price_end_at", TS), ("input_mtok", F), ("cache_read_mtok", F), ("cache_write_mtok", F),
        ("output_mtok", F), ("input_audio_mtok", F), ("output_audio_mtok", F), ("tiered", B),
        ("genai_prices_version", S),
    ]),
    "llm_price_lines": _schema(_price_lines_cols()),
    "llm_price_matches": _schema([
        ("provider_id", S), ("model_id", S), ("match_kind", S), ("match_value", S),
    ]),
    # per-call sources: the connectors' own schemas (less _source_uri, which LINEAGE adds)
    "litellm_spend_logs": _schema(_connector_cols("litellm_logs")),
    "agent_llm_calls": _schema(_connector_cols("agent_trajectories")),
    # FOCUS 1.2 columns (57, see connectors/focus_columns.csv) + _extra/_row_number/_source_type
    "focus_lines": _schema([(f.name, f.type) for f in _focus_schema() if f.name != "_source_uri"]),
    "gcp_catalog_skus": _schema([
        ("service_id", S), ("service_display_name", S), ("sku_id", S), ("sku_name", S), ("description", S),
        ("resource_family", S), ("resource_group", S), ("usage_type", S), ("service_regions", S),
        ("geo_taxonomy_type", S), ("effective_time", TS), ("summary", S), ("usage_unit", S),
        ("usage_unit_description", S), ("base_unit", S), ("base_unit_conversion_factor", F),
        ("display_quantity", F), ("tier_index", I32), ("start_usage_amount", F), ("currency_code", S),
        ("unit_price", pa.decimal128(38, 9)), ("currency_conversion_rate", F), ("service_provider_name", S),
    ]),
}


def _day(col: str) -> Callable[[dict], str]:
    return lambda r: r[col].strftime("%Y-%m-%d")


# (partition column name, row -> partition key) per raw table, as in docs/contracts.md
PARTITIONING: dict[str, tuple[str, Callable[[dict], str]]] = {
    "aws_cur": ("billing_period", lambda r: r["bill_billing_period_start_date"].strftime("%Y-%m")),
    "gcp_billing": ("billing_period", lambda r: f"{r['invoice_month'][:4]}-{r['invoice_month'][4:]}"),
    "openai_usage": ("day", _day("start_time")),
    "openai_costs": ("day", _day("start_time")),
    "anthropic_usage": ("day", _day("starting_at")),
    "anthropic_costs": ("day", _day("starting_at")),
    "anthropic_claude_code": ("day", _day("date")),
    "otel_spans": ("day", _day("start_time")),
    "gpu_samples": ("day", _day("ts")),
    "self_hosted_requests": ("day", _day("started_at")),
    "litellm_spend_logs": ("day", _day("startTime")),
    "agent_llm_calls": ("snapshot", lambda r: "latest"),
    "llm_prices": ("snapshot", lambda r: "2026-11-15"),
    "llm_price_matches": ("snapshot", lambda r: "2026-11-15"),
    "llm_price_lines": ("snapshot", lambda r: "2026-11-15"),
    "focus_lines": ("billing_period", lambda r: (r["BillingPeriodStart"] or r["ChargePeriodStart"]).strftime("%Y-%m")),
    "gcp_catalog_skus": ("snapshot", lambda r: "latest"),
}


def price_lines(prices: list[dict]) -> list[dict]:
    """`llm_price_lines` rows (long form: standard variant, base tier) for `llm_prices` fixture rows."""
    from decimal import Decimal

    keys = ("input_mtok", "cache_read_mtok", "cache_write_mtok", "output_mtok", "input_audio_mtok", "output_audio_mtok")
    return [{"provider_id": p["provider_id"], "model_id": p["model_id"], "valid_from": p["price_start_at"],
             "valid_to": p["price_end_at"], "variant": "standard", "tier_start_tokens": 0, "price_key": k,
             "usd_per_unit": Decimal(str(p[k])), "unit_size": 1_000_000, "has_time_of_day_price": False,
             "genai_prices_version": p.get("genai_prices_version")}
            for p in prices for k in keys if p.get(k) is not None]


def write_raw_zone(root: Path, tables: dict[str, list[dict[str, Any]]], source_name: str = "fixture",
                   schemas: dict[str, pa.Schema] | None = None) -> None:
    """Write every raw table's `_schema/empty.parquet` plus partitions for the given rows.

    `schemas` overrides RAW_SCHEMAS per table (e.g. a raw table with extra export columns).
    Without explicit `llm_price_lines`, they are derived from the `llm_prices` rows (price_lines())."""
    if "llm_prices" in tables and "llm_price_lines" not in tables:
        tables = {**tables, "llm_price_lines": price_lines(tables["llm_prices"])}
    root = Path(root)
    ingested = datetime(2026, 11, 16, 6, 0, tzinfo=timezone.utc)
    for raw_table, schema in {**RAW_SCHEMAS, **(schemas or {})}.items():
        schema_dir = root / raw_table / "_schema"
        schema_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(schema.empty_table(), schema_dir / "empty.parquet")
        rows = tables.get(raw_table) or []
        unknown = {k for r in rows for k in r} - set(schema.names)
        if unknown:
            raise ValueError(f"{raw_table}: columns not in the contract: {sorted(unknown)}")
        part_col, part_of = PARTITIONING[raw_table]
        by_part: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            by_part[part_of(r)].append(r)
        for key, part_rows in by_part.items():
            load_id = f"load-{raw_table}-{key}"
            full = []
            for i, r in enumerate(part_rows):
                full.append({
                    **{n: None for n in schema.names},
                    "_source_uri": f"file:///fixture/{raw_table}/{key}#{i}",
                    **r,
                    "_source_name": source_name, "_ingested_at": ingested,
                    "_load_id": load_id, "_partition": key,
                })
            out = root / raw_table / f"source={source_name}" / f"{part_col}={key}"
            out.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(full, schema=schema), out / "part-00000.parquet")
