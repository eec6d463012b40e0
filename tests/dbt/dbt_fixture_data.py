"""Hand-made raw rows (docs/contracts.md schemas) whose expected results are worked out by hand
in test_dbt_build.py. Keep the two files in step."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


NOV10, NOV11 = ts("2026-11-10T00:00:00"), ts("2026-11-11T00:00:00")
BP_START, BP_END = ts("2026-11-01T00:00:00"), ts("2026-12-01T00:00:00")


def _cur(i: int, **kw) -> dict:
    base = {
        "bill_billing_period_start_date": BP_START, "bill_billing_period_end_date": BP_END,
        "bill_payer_account_id": "111111111111", "bill_invoice_id": "INV-1",
        "bill_billing_entity": "AWS", "bill_bill_type": "Anniversary",
        "identity_line_item_id": f"li-{i}", "identity_time_interval": "2026-11-10T00:00:00Z/2026-11-11T00:00:00Z",
        "line_item_usage_start_date": NOV10, "line_item_usage_end_date": NOV11,
        "line_item_usage_account_id": "222222222222", "line_item_usage_account_name": "ml-prod",
        "line_item_currency_code": "USD", "line_item_legal_entity": "Amazon Web Services, Inc.",
        "product_region_code": "us-east-1", "product": json.dumps({"location": "US East (N. Virginia)"}),
        "resource_tags": "{}", "cost_category": "{}", "discount": "{}", "pricing_term": "OnDemand",
    }
    base.update(kw)
    return base


ML_TAGS = json.dumps({"user_team": "ml-research", "user_application": "eval-harness"})


def aws_cur() -> list[dict]:
    return [
        _cur(1, line_item_line_item_type="Usage", line_item_product_code="AmazonBedrock",
             line_item_usage_type="USE1-Llama3-1-70B-input-tokens", line_item_operation="InvokeModel",
             line_item_usage_amount=1_000_000.0, line_item_unblended_rate="0.00000072",
             line_item_unblended_cost=0.72, line_item_blended_cost=0.72, line_item_net_unblended_cost=0.72,
             pricing_public_on_demand_cost=0.72, pricing_public_on_demand_rate="0.00000072",
             pricing_unit="tokens", product_sku="SKU-BR-IN", resource_tags=ML_TAGS,
             line_item_line_item_description="Llama 3.1 70B input tokens"),
        _cur(2, line_item_line_item_type="Usage", line_item_product_code="AmazonBedrock",
             line_item_usage_type="USE1-Llama3-1-70B-output-tokens", line_item_operation="InvokeModel",
             line_item_usage_amount=500_000.0, line_item_unblended_rate="0.00000072",
             line_item_unblended_cost=0.36, line_item_blended_cost=0.36, line_item_net_unblended_cost=0.36,
             pricing_public_on_demand_cost=0.36, pricing_public_on_demand_rate="0.00000072",
             pricing_unit="tokens", product_sku="SKU-BR-OUT", resource_tags=ML_TAGS,
             line_item_line_item_description="Llama 3.1 70B output tokens"),
        _cur(3, line_item_line_item_type="Usage", line_item_product_code="AmazonEC2",
             line_item_usage_type="USE1-BoxUsage:p5.48xlarge", line_item_operation="RunInstances",
             line_item_resource_id="i-0abc", line_item_availability_zone="us-east-1a",
             line_item_usage_amount=2.0, line_item_unblended_rate="98.32",
             line_item_unblended_cost=196.64, line_item_blended_cost=196.64, line_item_net_unblended_cost=196.64,
             pricing_public_on_demand_cost=196.64, pricing_public_on_demand_rate="98.32",
             pricing_unit="Hrs", product_sku="SKU-P5", product_instance_type="p5.48xlarge",
             product_product_family="Compute Instance",
             resource_tags=json.dumps({"user_team": "platform", "user_application": "internal-chat"}),
             line_item_line_item_description="p5.48xlarge On Demand"),
        _cur(4, line_item_line_item_type="Tax", line_item_product_code="AmazonBedrock",
             line_item_usage_type="", line_item_usage_amount=0.0,
             line_item_unblended_cost=12.5, line_item_blended_cost=12.5, line_item_net_unblended_cost=12.5,
             line_item_line_item_description="Tax for product code AmazonBedrock"),
        _cur(5, line_item_line_item_type="Credit", line_item_product_code="AmazonEC2",
             line_item_usage_type="", line_item_usage_amount=0.0,
             line_item_unblended_cost=-10.0, line_item_blended_cost=-10.0, line_item_net_unblended_cost=-10.0,
             line_item_line_item_description="AWS Credit"),
    ]


def gcp_billing() -> list[dict]:
    common = {
        "billing_account_id": "0A1B2C-3D4E5F-6A7B8C", "project_id": "research-prj",
        "project_name": "research", "project_number": "1234", "currency": "USD",
        "currency_conversion_rate": 1.0, "invoice_month": "202611", "location_region": "us-central1",
        "location_location": "us-central1", "location_country": "US", "export_time": ts("2026-11-11T03:00:00"),
        "usage_start_time": NOV10, "usage_end_time": NOV10 + timedelta(hours=1), "system_labels": "{}",
        "transaction_type": "GOOGLE", "seller_name": None,
    }
    return [
        {**common, "service_id": "AA-VERTEX", "service_description": "Vertex AI", "sku_id": "SKU-A100",
         "sku_description": "Nvidia Tesla A100 GPU running in Americas", "labels": json.dumps(
             {"team": "ml-research", "application": "eval-harness"}),
         "resource_name": "training-job-1", "cost": 29.39, "cost_at_list": 29.39,
         "usage_amount": 36000.0, "usage_unit": "seconds", "usage_amount_in_pricing_units": 10.0,
         "usage_pricing_unit": "hour", "price_effective_price": 2.939, "price_unit": "hour",
         "price_pricing_unit_quantity": 1.0,
         "credits": json.dumps([{"name": "SUD", "amount": -5.0, "full_name": "Sustained use",
                                 "id": "c1", "type": "SUSTAINED_USAGE_DISCOUNT"}]),
         "cost_type": "regular"},
        {**common, "service_id": "AA-VERTEX", "service_description": "Vertex AI", "sku_id": "SKU-TAX",
         "sku_description": "Tax", "labels": "{}", "cost": 2.0, "usage_amount": 0.0,
         "credits": "[]", "cost_type": "tax"},
    ]


def openai_usage() -> list[dict]:
    def row(day, project, model, inp, cached, out, batch=False):
        return {"start_time": day, "end_time": day + timedelta(days=1), "project_id": project,
                "user_id": None, "api_key_id": "key-1", "model": model, "batch": batch,
                "service_tier": "default", "input_tokens": inp, "output_tokens": out,
                "input_cached_tokens": cached, "input_audio_tokens": 0, "output_audio_tokens": 0,
                "num_model_requests": 10}
    return [
        row(NOV10, "proj_search", "gpt-4o-2024-08-06", 1_000_000, 200_000, 100_000),
        row(NOV11, "proj_search", "gpt-4o-2024-08-06", 1_000_000, 0, 100_000),
        row(NOV10, "proj_platform", "gpt-4o-mini-2024-07-18", 2_000_000, 0, 1_000_000, batch=True),
        row(NOV10, "proj_research", "mystery-model-x", 1_000, 0, 1_000),
        # other Usage API endpoints: only in stg_openai__usage_endpoints, never in completions usage
        {**row(NOV10, "proj_search", "text-embedding-3-small", 5_000, 0, 0), "endpoint": "embeddings",
         "output_tokens": None, "input_cached_tokens": None, "batch": None, "service_tier": None},
        {"start_time": NOV10, "end_time": NOV11, "project_id": "proj_search", "endpoint": "vector_stores",
         "usage_bytes": 1_048_576},
    ]


def openai_costs() -> list[dict]:
    def row(day, project, item, amount):
        return {"start_time": day, "end_time": day + timedelta(days=1), "project_id": project,
                "organization_id": "org-1", "line_item": item, "amount_value": amount,
                "amount_currency": "usd"}
    return [
        row(NOV10, "proj_search", "gpt-4o-2024-08-06, input", 2.25),
        row(NOV10, "proj_search", "gpt-4o-2024-08-06, output", 1.0),
        row(NOV11, "proj_search", "gpt-4o-2024-08-06, input", 2.2),
        row(NOV11, "proj_search", "gpt-4o-2024-08-06, output", 0.8),
    ]


def anthropic_usage() -> list[dict]:
    batch = {
        "starting_at": NOV10, "ending_at": NOV11, "api_key_id": "ak-2", "workspace_id": "wrkspc_research",
        "model": "claude-sonnet-4-5-20250929", "service_tier": "batch", "context_window": "0-200k",
        "uncached_input_tokens": 1_000_000, "cache_read_input_tokens": 0,
        "cache_creation_ephemeral_5m_input_tokens": 0, "cache_creation_ephemeral_1h_input_tokens": 0,
        "output_tokens": 100_000, "server_tool_use_web_search_requests": 5,
    }
    return [batch, {
        "starting_at": NOV10, "ending_at": NOV11, "api_key_id": "ak-1", "workspace_id": "wrkspc_support",
        "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k",
        "uncached_input_tokens": 100_000, "cache_read_input_tokens": 1_000_000,
        "cache_creation_ephemeral_5m_input_tokens": 10_000, "cache_creation_ephemeral_1h_input_tokens": 0,
        "output_tokens": 20_000, "server_tool_use_web_search_requests": 0,
    }]


def anthropic_claude_code() -> list[dict]:
    base = {"date": NOV10, "actor_type": "user_actor", "actor_email_address": "dev@example.com",
            "organization_id": "org-a", "customer_type": "api", "terminal_type": "vscode", "num_sessions": 4,
            "lines_added": 300, "lines_removed": 20, "commits_by_claude_code": 2, "pull_requests_by_claude_code": 1,
            "estimated_cost_currency": "USD"}
    return [
        {**base, "model": "claude-sonnet-4-5-20250929", "input_tokens": 100_000, "output_tokens": 20_000,
         "cache_read_tokens": 500_000, "cache_creation_tokens": 10_000, "estimated_cost_amount": "123.45"},
        {**base, "model": "claude-haiku-4-5-20251001", "input_tokens": 1_000, "output_tokens": 100,
         "cache_read_tokens": 0, "cache_creation_tokens": 0, "estimated_cost_amount": "0.15"},
    ]


def anthropic_costs() -> list[dict]:
    return [{
        "starting_at": NOV10, "ending_at": NOV11, "workspace_id": "wrkspc_support",
        "description": "Claude Sonnet 4.5 usage", "cost_type": "tokens",
        "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k",
        "token_type": None, "currency": "USD", "amount": "93.75",
    }]


def otlp_attributes(attrs: dict) -> str:
    """The raw zone's attribute text: OTLP's list as the connector keeps it (compact JSON)."""
    def value(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}  # 64-bit ints are JSON strings in OTLP
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": v}
    return json.dumps([{"key": k, "value": value(v)} for k, v in attrs.items()], separators=(",", ":"),
                      ensure_ascii=False)


def _span(trace, span, parent, name, start, attrs, resource, status=0, legacy=False):
    start_at = ts(start)
    # legacy: a partition written before the list format (a JSON object key → scalar) still reads
    attr_text = (lambda d: json.dumps(d)) if legacy else otlp_attributes
    return {"trace_id": trace, "span_id": span, "parent_span_id": parent, "name": name, "kind": 1,
            "start_time": start_at, "end_time": start_at + timedelta(milliseconds=800),
            "status_code": status, "service_name": resource.get("service.name"), "scope_name": "fixture",
            "attributes": attr_text(attrs), "resource_attributes": attr_text(resource)}


SUPPORT = {"service.name": "support-agent", "team": "support"}


def _chat(trace, span, parent, start, model, provider, inp, out, cached=0, conv=None, resource=SUPPORT, legacy=False):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
             "gen_ai.request.model": model, "gen_ai.response.model": model,
             "gen_ai.usage.input_tokens": inp, "gen_ai.usage.output_tokens": out,
             "gen_ai.usage.cache_read.input_tokens": cached}
    if conv:
        attrs["gen_ai.conversation.id"] = conv
    return _span(trace, span, parent, f"chat {model}", start, attrs, resource, legacy=legacy)


def otel_spans() -> list[dict]:
    t1 = "a" * 32
    return [
        # agent task: invoke_agent root + 3 chat calls + 1 tool call
        _span(t1, "0000000000000001", None, "invoke_agent support-triage", "2026-11-10T09:00:00",
              {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support-triage",
               "gen_ai.conversation.id": "conv-1"}, SUPPORT),
        _chat(t1, "0000000000000002", "0000000000000001", "2026-11-10T09:00:01", "gpt-4o-2024-08-06", "openai",
              100, 50, conv="conv-1"),
        _span(t1, "0000000000000003", "0000000000000001", "execute_tool search_kb", "2026-11-10T09:00:02",
              {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_kb"}, SUPPORT),
        _chat(t1, "0000000000000004", "0000000000000001", "2026-11-10T09:00:03", "gpt-4o-2024-08-06", "openai",
              250, 50, conv="conv-1"),
        _chat(t1, "0000000000000005", "0000000000000001", "2026-11-10T09:00:04", "gpt-4o-2024-08-06", "openai",
              500, 100, conv="conv-1"),
        # one-call chat with a model nobody prices
        _chat("b" * 32, "0000000000000006", None, "2026-11-10T10:00:00", "mystery-model-x", "openai", 10, 10,
              resource={"service.name": "doc-search", "team": "search"}),
        # one-call Anthropic chat with cache reads, in the raw format before OTLP lists (still read)
        _chat("c" * 32, "0000000000000007", None, "2026-11-10T11:00:00", "claude-sonnet-4-5-20250929", "anthropic",
              1000, 100, cached=400, resource={"service.name": "support-agent", "team": "support"}, legacy=True),
    ]


GPU_UUID = "GPU-aaaaaaaa-0000-0000-0000-000000000001"


def gpu_samples() -> list[dict]:
    # 10-minute samples 10:00..11:00 at a constant 500 W and 50 % utilisation; the energy counter
    # resets (driver reload) at 10:30. Every interval is 500 W × 600 s = 300 kJ.
    counters_mj = [1_000_000_000, 1_300_000_000, 1_600_000_000, 5_000_000, 305_000_000, 605_000_000, 905_000_000]
    rows = []
    for i, counter in enumerate(counters_mj):
        rows.append({
            "ts": ts("2026-11-10T10:00:00") + timedelta(minutes=10 * i), "host": "gpu-node-01",
            "gpu_uuid": GPU_UUID, "gpu_index": 0, "name": "NVIDIA H100 80GB HBM3",
            "util_gpu_pct": 50.0, "util_mem_pct": 20.0, "mem_used_bytes": 1, "mem_total_bytes": 2,
            "power_w": 500.0, "power_limit_w": 700.0, "energy_mj": counter, "temp_c": 50.0,
            "sm_clock_mhz": 1980.0, "gpm_sm_activity_pct": None, "gpm_tensor_activity_pct": None,
            "mig_mode": False, "driver_version": "550", "nvml_version": "12", "collector_version": "1",
        })
    return rows


def self_hosted_requests() -> list[dict]:
    def row(rid, task, prompt, completion, start):
        start_at = ts(start)
        return {"request_id": rid, "task_id": task, "application": "internal-chat",
                "model": "meta-llama/Llama-3.1-70B-Instruct", "host": "gpu-node-01",
                "gpu_uuids": json.dumps([GPU_UUID]), "started_at": start_at,
                "finished_at": start_at + timedelta(seconds=5), "prompt_tokens": prompt,
                "completion_tokens": completion, "status": "ok"}
    # work at 70B/H100 throughput (8000 prefill, 1200 decode tok/s): r1 = 1 + 1 = 2 s, r2 = 1 + 3 = 4 s
    return [row("req-1", None, 8000, 1200, "2026-11-10T10:05:00"),
            row("req-2", "task-9", 8000, 3600, "2026-11-10T10:15:00")]


def llm_prices() -> list[dict]:
    def row(provider, model, start, end, inp, cache_read, cache_write, out):
        return {"provider_id": provider, "model_id": model, "model_match": "{}", "price_start_at": start,
                "price_end_at": end, "input_mtok": inp, "cache_read_mtok": cache_read,
                "cache_write_mtok": cache_write, "output_mtok": out, "input_audio_mtok": None,
                "output_audio_mtok": None, "tiered": False, "genai_prices_version": "0.2.3"}
    return [
        row("openai", "gpt-4o", None, NOV11, 2.5, 1.25, None, 10.0),
        row("openai", "gpt-4o", NOV11, None, 2.0, 1.0, None, 8.0),
        row("openai", "gpt-4o-mini", None, None, 0.15, 0.075, None, 0.6),
        row("anthropic", "claude-sonnet-4-5", None, None, 3.0, 0.3, 3.75, 15.0),
    ]


def llm_price_matches() -> list[dict]:
    return [
        {"provider_id": "openai", "model_id": "gpt-4o", "match_kind": "starts_with", "match_value": "gpt-4o"},
        {"provider_id": "openai", "model_id": "gpt-4o-mini", "match_kind": "starts_with", "match_value": "gpt-4o-mini"},
        {"provider_id": "anthropic", "model_id": "claude-sonnet-4-5", "match_kind": "starts_with",
         "match_value": "claude-sonnet-4-5"},
    ]


def focus_lines() -> list[dict]:
    """Two FOCUS sources: an Oracle FOCUS file (usage + tax) and AWS FOCUS (a commitment purchase
    and the usage it covers). Σ BilledCost 14.25, Σ EffectiveCost 11.75 (10.00 + 1.25 + 0 + 0.50)."""
    D = Decimal
    base = {"BillingPeriodStart": BP_START, "BillingPeriodEnd": BP_END, "ChargePeriodStart": NOV10,
            "ChargePeriodEnd": NOV11, "BillingCurrency": "USD", "ChargeFrequency": "Usage-Based"}
    oci = {**base, "ProviderName": "Oracle", "InvoiceIssuerName": "Oracle", "BillingAccountId": "000123",
           "_source_type": "focus_files", "_source_uri": "file:///exports/oci-focus.csv"}
    aws = {**base, "InvoiceIssuerName": "Amazon Web Services, Inc.", "BillingAccountId": "012345678901",
           "_source_type": "aws_focus", "_source_uri": "s3://b/focus/data/BILLING_PERIOD=2026-11/f-00001.parquet",
           "Tags": json.dumps({"user:team": "ml-research"})}
    return [
        {**oci, "_row_number": 1, "ChargeCategory": "Usage", "BilledCost": D("12.50"), "EffectiveCost": D("10.00"),
         "ServiceCategory": "Compute", "ServiceName": "Compute", "ConsumedQuantity": D("24"),
         "Tags": json.dumps({"team": "platform", "application": "internal-chat"}),
         "_extra": json.dumps({"x_oci_compartment": "prod"})},
        {**oci, "_row_number": 2, "ChargeCategory": "Tax", "BilledCost": D("1.25"), "EffectiveCost": D("1.25")},
        {**aws, "_row_number": 1, "ChargeCategory": "Purchase", "ChargeFrequency": "Recurring",
         "BilledCost": D("0.50"), "EffectiveCost": D("0"), "CommitmentDiscountId": "cd-1", "ProviderName": "AWS",
         "ServiceCategory": "Compute", "ServiceName": "Amazon EC2"},
        {**aws, "_row_number": 2, "ChargeCategory": "Usage", "BilledCost": D("0"), "EffectiveCost": D("0.50"),
         "CommitmentDiscountId": "cd-1", "ServiceCategory": "Compute", "ServiceName": "Amazon EC2",
         "ConsumedQuantity": D("1"), "_extra": json.dumps({"x_UsageType": "USE1-BoxUsage:p5.48xlarge"})},
    ]


def gcp_catalog_skus() -> list[dict]:
    def sku(sku_id, description, usage_type, usage_unit, price):
        return {"service_id": "6F81-5844-456A", "service_display_name": "Compute Engine", "sku_id": sku_id,
                "sku_name": f"services/6F81-5844-456A/skus/{sku_id}", "description": description,
                "resource_family": "Compute", "resource_group": "GPU", "usage_type": usage_type,
                "service_regions": '["us-central1"]', "effective_time": ts("2026-11-01T00:00:00"),
                "usage_unit": usage_unit, "tier_index": 0, "start_usage_amount": 0.0, "currency_code": "USD",
                "unit_price": price}
    return [sku("H100-OD", "Nvidia H100 80GB GPU running in Americas", "OnDemand", "h", Decimal("11.06")),
            sku("H100-SPOT", "Nvidia H100 80GB GPU attached to Spot Preemptible VMs running in Americas",
                "Preemptible", "min", Decimal("0.0553"))]


def fixture_tables() -> dict[str, list[dict]]:
    return {
        "aws_cur": aws_cur(), "gcp_billing": gcp_billing(), "openai_usage": openai_usage(),
        "openai_costs": openai_costs(), "anthropic_usage": anthropic_usage(),
        "anthropic_costs": anthropic_costs(), "anthropic_claude_code": anthropic_claude_code(),
        "otel_spans": otel_spans(), "gpu_samples": gpu_samples(),
        "self_hosted_requests": self_hosted_requests(), "llm_prices": llm_prices(),
        "llm_price_matches": llm_price_matches(), "focus_lines": focus_lines(), "gcp_catalog_skus": gcp_catalog_skus(),
    }
