-- LLM calls of recorded agent runs. The run is the task. A run that only records totals
-- (SWE-agent model_stats) is ONE row standing for call_count calls; its tokens carry no cache
-- split (none is recorded), so cost = sent × input + received × output at list price as of
-- the run's date. The agent's own recorded cost is kept to be compared (recorded_cost_usd).
with calls as (

    select * from {{ ref('stg_agent_trajectories__calls') }}

),

resolved as (

    select
        calls.*,
        resolution.price_provider_id,
        resolution.price_model_id
    from calls
    left join {{ ref('int_llm_model_resolution') }} as resolution
        on resolution.source_provider = calls.provider_name
        and resolution.model_name = calls.model

),

priced as (

    select
        resolved.*,
        prices.input_usd_per_mtok,
        prices.output_usd_per_mtok
    from resolved
    left join {{ ref('int_llm_prices') }} as prices
        on prices.provider_id = resolved.price_provider_id
        and prices.model_id = resolved.price_model_id
        and resolved.started_at >= prices.valid_from_at
        and resolved.started_at < prices.valid_to_at

)

select
    run_id || '#' || coalesce(cast(call_seq as varchar), 'all') as call_id,
    run_id                                   as task_id,
    cast(null as varchar)                    as parent_id,
    cast(null as varchar)                    as trace_id,
    cast(null as varchar)                    as conversation_id,
    started_at,
    cast(null as timestamptz)                as ended_at,
    provider_name                            as provider,
    model,
    input_tokens,
    cast(case when input_tokens is not null then 0 end as bigint) as cached_input_tokens,
    cast(case when input_tokens is not null then 0 end as bigint) as cache_write_tokens,
    output_tokens,
    cast(case when output_tokens is not null then 0 end as bigint) as reasoning_tokens,
    false                                    as is_batch,
    cast(null as varchar)                    as service_tier,
    'api'                                    as serving,
    cast(null as varchar)                    as team,
    cast(null as varchar)                    as application,
    agent,
    'ok'                                     as status,
    cast(null as integer)                    as depth,
    -- no recorded usage (transcripts) → unknown cost, never $0
    cast((input_tokens * input_usd_per_mtok + output_tokens * output_usd_per_mtok) / 1000000
         as decimal(38, 10))                 as cost_usd,
    case
        when input_tokens is null or output_tokens is null then 'unpriced'
        when input_usd_per_mtok is null or output_usd_per_mtok is null then 'unpriced'
        else 'list_price'
    end                                      as price_source,
    price_model_id,
    'agent_llm_calls'                        as source_table,
    call_count,
    tool_calls,
    recorded_cost_usd,
    reward                                   as outcome_reward
from priced
