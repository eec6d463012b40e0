-- One row per request LiteLLM logged (failed attempts and retries included: each was a call).
-- Task key: the gateway session id, else the request itself (a single-request task).
-- Priced like the OTel calls (llm_priced_calls, as of the call's start, through the model resolution);
-- LiteLLM's own `spend` is kept as recorded_cost_usd to be compared, not trusted.
-- A cache hit (LiteLLM's response cache answered; its request_id is '<id>_cache_hit<time>') reached
-- no provider: it costs 0 (price_source 'gateway_cache_hit') and has no provider response id, so it
-- never stands in for the original call an OTel span may have logged.
with calls as (

    select * from {{ ref('stg_litellm__spend_logs') }}

),

resolved as (

    select * from {{ llm_resolved_models('calls', 'src.provider_name', 'src.model') }} as r

),

-- LiteLLM reports usage in the OpenAI shape: prompt tokens include cache reads and writes,
-- already the pricing macro's semantics
price_input as (

    {{ llm_openai_shape_price_input('resolved', "'standard'") }}

),

priced as (

    select * from {{ llm_priced_calls('price_input', ref('int_llm_price_bands'), ref('llm_price_overrides')) }} as p

)

select
    request_id                               as call_id,
    coalesce(session_id, request_id)         as task_id,
    cast(null as varchar)                    as parent_id,
    cast(null as varchar)                    as trace_id,
    session_id                               as conversation_id,
    started_at,
    ended_at,
    provider_name                            as provider,
    model,
    input_tokens,
    cache_read_tokens                        as cached_input_tokens,
    cache_write_tokens,
    output_tokens,
    coalesce(reasoning_tokens, 0)            as reasoning_tokens,
    false                                    as is_batch,
    cast(null as varchar)                    as service_tier,
    'api'                                    as serving,
    team,
    cast(null as varchar)                    as application,
    cast(null as varchar)                    as agent,
    case when lower(status) in ('success', 'ok') then 'ok' else 'error' end as status,
    cast(null as integer)                    as depth,
    case when is_cache_hit then cast(0 as decimal(38, 10))
         else cast(cost_usd as decimal(38, 10)) end as cost_usd,
    case when is_cache_hit then 'gateway_cache_hit' else price_source end as price_source,
    price_model_id,
    'litellm_spend_logs'                     as source_table,
    cast(1 as bigint)                        as call_count,
    cast(null as bigint)                     as tool_calls,
    recorded_cost_usd,
    cast(null as double)                     as outcome_reward,
    cast(null as decimal(38, 10))            as cost_busy_only_usd,
    cast(null as decimal(38, 10))            as cost_unmeasured_usd,
    -- LiteLLM logs a completion under the provider response's own id (chatcmpl-…, msg_…)
    case when not is_cache_hit then request_id end as response_id
from priced
