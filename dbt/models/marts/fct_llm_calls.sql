-- One row per LLM call where per-call data exists: OTel GenAI inference spans (API calls) and
-- self-hosted model-server requests. API calls are priced at list price as of the call's start;
-- self-hosted calls by their share of the GPU-hours serving them. No price → cost_usd null
-- and price_source 'unpriced' (never $0). cost_busy_only_usd: self-hosted calls' share of the
-- GPU's busy cost only (idle time excluded); API calls have no idle share, so it equals cost_usd.
with calls as (

    select *, cost_usd as cost_busy_only_usd from {{ ref('int_llm_calls__from_otel') }}
    union all
    select * from {{ ref('int_llm_calls__self_hosted') }}

)

select
    call_id,
    task_id,
    parent_id,
    trace_id,
    conversation_id,
    started_at,
    ended_at,
    {{ dbt.datediff('started_at', 'ended_at', 'millisecond') }} as duration_ms,
    provider,
    model,
    input_tokens,
    cached_input_tokens,
    cache_write_tokens,
    output_tokens,
    reasoning_tokens,
    is_batch,
    service_tier,
    serving,
    team,
    application,
    agent,
    status,
    depth,
    cost_usd,
    cost_busy_only_usd,
    price_source,
    (price_source = 'unpriced')     as is_unpriced,
    price_model_id,
    source_table
from calls
