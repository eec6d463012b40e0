-- One row per LLM call where per-call data exists: OTel GenAI inference spans (API calls) and
-- self-hosted model-server requests, LiteLLM gateway requests and recorded agent runs (a run that
-- records only totals is one row with call_count calls). API calls are priced at list price as of the call's start;
-- self-hosted calls by their share of the GPU-hours serving them. No price → cost_usd null
-- and price_source 'unpriced' (never $0). cost_busy_only_usd: self-hosted calls' share of the
-- GPU's busy cost only (idle time excluded); API calls have no idle share, so it equals cost_usd.
-- Every per-call source is unioned BY NAME: a source without a column (call_count, tool_calls,
-- recorded_cost_usd, outcome_reward) contributes nulls, so adding a source touches only this list.
with calls as (

    select * from {{ ref('int_llm_calls__from_otel') }}
    union all by name
    select * from {{ ref('int_llm_calls__self_hosted') }}
    union all by name
    select * from {{ ref('int_llm_calls__from_litellm') }}
    union all by name
    select * from {{ ref('int_llm_calls__from_trajectories') }}

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
    case when serving = 'self_hosted' then cost_busy_only_usd else cost_usd end as cost_busy_only_usd,
    price_source,
    (price_source = 'unpriced')     as is_unpriced,
    price_model_id,
    source_table,
    cast(coalesce(call_count, 1) as bigint)  as call_count,
    cast(tool_calls as bigint)              as tool_calls,
    cast(recorded_cost_usd as decimal(38, 10)) as recorded_cost_usd,
    -- the source recorded its own cost and ours differs beyond the tolerance (fraction of it)
    (recorded_cost_usd is not null and cost_usd is not null
     and abs(cost_usd - recorded_cost_usd)
         > {{ threshold('recorded_cost_tolerance') }} * abs(recorded_cost_usd)) as is_recorded_cost_mismatch,
    cast(outcome_reward as double)          as outcome_reward
from calls
