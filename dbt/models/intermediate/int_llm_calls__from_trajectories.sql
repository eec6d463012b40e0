-- LLM calls of recorded agent runs. The run is the task. A run that only records totals
-- (SWE-agent model_stats) is ONE row standing for call_count calls; its tokens carry no cache
-- split (none is recorded), so cost = sent × input + received × output, priced like every other
-- call (llm_priced_calls: as of the run's date, overrides, context tier by mean call size). The agent's own recorded cost is kept to be compared (recorded_cost_usd).
-- A transcript (one row per call, no usage) is priced on tokens estimated from its characters.
with recorded as (

    select * from {{ ref('stg_agent_trajectories__calls') }}

),

-- A transcript records no token usage (tau-bench): its tokens are estimated from the characters
-- the call sent and received (÷ threshold transcript_chars_per_token), so the run gets a cost
-- instead of none; such calls say so in price_source = 'estimated_tokens'. Recorded usage always
-- wins; a call with neither stays unpriced.
calls as (

    select
        recorded.* replace (
            coalesce(input_tokens, cast(ceil(list_sum(prompt_chars)
                / {{ threshold('transcript_chars_per_token') }}) as bigint)) as input_tokens,
            coalesce(output_tokens, cast(ceil(list_sum(response_chars)
                / {{ threshold('transcript_chars_per_token') }}) as bigint)) as output_tokens
        ),
        (input_tokens is null and prompt_chars is not null and response_chars is not null) as is_estimated_usage
    from recorded

),

resolved as (

    select * from {{ llm_resolved_models('calls', 'src.provider_name', 'src.model') }} as r

),

-- the same pricing path as every other per-call source (llm_priced_calls over int_llm_price_bands,
-- overrides included): no cache split is recorded, so all input is base-rate input. A row that
-- stands for call_count calls picks its context tier by its MEAN input per call, not by the run's
-- total (a 12-call run of 20k-token calls is not one 240k-token call).
price_input as (

    select
        resolved.*,
        cast(0 as bigint)                   as cache_read_tokens,
        cast(0 as bigint)                   as cache_write_tokens,
        started_at                          as call_at,
        'standard'                          as variant,
        cast(ceil(input_tokens / greatest(coalesce(call_count, 1), 1)) as bigint) as band_input_tokens
    from resolved

),

priced as (

    select * from {{ llm_priced_calls('price_input', ref('int_llm_price_bands'), ref('llm_price_overrides'),
                                      band_tokens='band_input_tokens') }} as p

)

select
    -- zero-padded: transcripts carry no timestamps, so call order within a run is call_id order
    run_id || '#' || coalesce(lpad(cast(call_seq as varchar), 5, '0'), 'all') as call_id,
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
    -- no recorded usage (transcripts) → unknown cost, never $0 (llm_priced_calls: 'unpriced')
    cast(cost_usd as decimal(38, 10))        as cost_usd,
    case when is_estimated_usage and price_source <> 'unpriced' then 'estimated_tokens'
         else price_source end          as price_source,
    price_model_id,
    'agent_llm_calls'                        as source_table,
    call_count,
    tool_calls,
    recorded_cost_usd,
    reward                                   as outcome_reward,
    cast(null as decimal(38, 10))            as cost_busy_only_usd,
    cast(null as decimal(38, 10))            as cost_unmeasured_usd,
    cast(null as varchar)                    as response_id
from priced
