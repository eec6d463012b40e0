-- One row per LLM call where per-call data exists: OTel GenAI inference spans (API calls) and
-- self-hosted model-server requests, LiteLLM gateway requests and recorded agent runs (a run that
-- records only totals is one row with call_count calls). API calls are priced at list price as of the call's start;
-- self-hosted calls by their share of the GPU-hours serving them. No price → cost_usd null
-- and price_source 'unpriced' (never $0). cost_busy_only_usd: self-hosted calls' share of the
-- GPU's busy cost only (idle time excluded; null when a GPU-hour it ran in has no utilisation
-- reading, cost_unmeasured_usd then says how much); API calls have no idle share, so it equals cost_usd.
-- Every per-call source exposes the same columns (call_columns below; a source without one
-- selects a typed null), unioned over that explicit list (macro union_all_columns).
-- One provider call logged by BOTH an OTel trace and the LiteLLM gateway (same provider response
-- id: gen_ai.response.id = LiteLLM request_id) counts once: the span row is kept, because it places
-- the call in its task tree (trace, parent, depth, agent, conversation) that fct_cost_per_query and
-- fct_agent_loops group by — keeping the gateway row would split the agent's task into a
-- gateway session. What only the gateway knows fills the span's gaps (team, LiteLLM's recorded
-- spend), and also_seen_in names the source whose duplicate row was dropped.
{%- set call_columns = [
    'call_id', 'task_id', 'parent_id', 'trace_id', 'conversation_id', 'started_at', 'ended_at',
    'provider', 'model', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens',
    'reasoning_tokens', 'is_batch', 'service_tier', 'serving', 'team', 'application', 'agent', 'status',
    'depth', 'cost_usd', 'cost_busy_only_usd', 'cost_unmeasured_usd', 'price_source', 'price_model_id', 'source_table',
    'call_count', 'tool_calls', 'recorded_cost_usd', 'outcome_reward', 'response_id',
] %}
with unioned as (
{{ union_all_columns([
    ref('int_llm_calls__from_otel'),
    ref('int_llm_calls__self_hosted'),
    ref('int_llm_calls__from_litellm'),
    ref('int_llm_calls__from_trajectories'),
], call_columns) }}
),

gateway_twins as (

    select
        spans.call_id                       as span_call_id,
        max(gateway.call_id)                as gateway_call_id,
        max(gateway.team)                   as gateway_team,
        max(gateway.recorded_cost_usd)      as gateway_recorded_cost_usd
    from unioned as spans
    inner join unioned as gateway
        on gateway.response_id = spans.response_id
    where spans.source_table = 'otel_spans'
        and gateway.source_table = 'litellm_spend_logs'
    group by spans.call_id

),

calls as (

    select
        unioned.*,
        twins.gateway_team,
        twins.gateway_recorded_cost_usd,
        case when twins.span_call_id is not null then 'litellm_spend_logs' end as also_seen_in
    from unioned
    left join gateway_twins as twins
        on unioned.source_table = 'otel_spans'
        and twins.span_call_id = unioned.call_id
    left join gateway_twins as dropped
        on unioned.source_table = 'litellm_spend_logs'
        and dropped.gateway_call_id = unioned.call_id
    where dropped.gateway_call_id is null

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
    coalesce(team, gateway_team)            as team,
    application,
    agent,
    status,
    depth,
    cost_usd,
    case when serving = 'self_hosted' then cost_busy_only_usd else cost_usd end as cost_busy_only_usd,
    -- API calls run on no GPU of ours: nothing of them is unmeasured (0 once priced)
    case when serving = 'self_hosted' then cost_unmeasured_usd
         when cost_usd is not null then cast(0 as decimal(38, 10)) end as cost_unmeasured_usd,
    price_source,
    (price_source = 'unpriced')     as is_unpriced,
    price_model_id,
    source_table,
    cast(coalesce(call_count, 1) as bigint)  as call_count,
    cast(tool_calls as bigint)              as tool_calls,
    cast(coalesce(recorded_cost_usd, gateway_recorded_cost_usd) as decimal(38, 10)) as recorded_cost_usd,
    -- the source recorded its own cost and ours differs beyond the tolerance (fraction of it)
    (coalesce(recorded_cost_usd, gateway_recorded_cost_usd) is not null and cost_usd is not null
     and abs(cost_usd - coalesce(recorded_cost_usd, gateway_recorded_cost_usd))
         > {{ threshold('recorded_cost_tolerance') }} * abs(coalesce(recorded_cost_usd, gateway_recorded_cost_usd))) as is_recorded_cost_mismatch,
    cast(outcome_reward as double)          as outcome_reward,
    also_seen_in
from calls
