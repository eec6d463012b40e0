-- One row per request LiteLLM logged (failed attempts and retries included: each was a call).
-- Task key: the gateway session id, else the request itself (a single-request task).
-- Priced like the OTel calls: list price as of the call's start through the model resolution;
-- LiteLLM's own `spend` is kept as recorded_cost_usd to be compared, not trusted.
with calls as (

    select * from {{ ref('stg_litellm__spend_logs') }}

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
        coalesce(prices.cache_read_usd_per_mtok, prices.input_usd_per_mtok)  as cache_read_usd_per_mtok,
        coalesce(prices.cache_write_usd_per_mtok, prices.input_usd_per_mtok) as cache_write_usd_per_mtok,
        prices.output_usd_per_mtok
    from resolved
    left join {{ ref('int_llm_prices') }} as prices
        on prices.provider_id = resolved.price_provider_id
        and prices.model_id = resolved.price_model_id
        and resolved.started_at >= prices.valid_from_at
        and resolved.started_at < prices.valid_to_at

),

tokens as (

    select
        *,
        coalesce(input_tokens, 0)        as input_tokens_all,
        coalesce(cached_input_tokens, 0) as cached_tokens,
        coalesce(cache_write_tokens, 0)  as cache_write_tokens_all,
        greatest(coalesce(input_tokens, 0) - coalesce(cached_input_tokens, 0) - coalesce(cache_write_tokens, 0), 0)
                                         as uncached_tokens,
        coalesce(output_tokens, 0)       as output_tokens_all
    from priced

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
    input_tokens_all                         as input_tokens,
    cached_tokens                            as cached_input_tokens,
    cache_write_tokens_all                   as cache_write_tokens,
    output_tokens_all                        as output_tokens,
    coalesce(reasoning_tokens, 0)            as reasoning_tokens,
    false                                    as is_batch,
    cast(null as varchar)                    as service_tier,
    'api'                                    as serving,
    team,
    cast(null as varchar)                    as application,
    cast(null as varchar)                    as agent,
    case when lower(status) in ('success', 'ok') then 'ok' else 'error' end as status,
    cast(null as integer)                    as depth,
    cast(
        (uncached_tokens * input_usd_per_mtok
         + cached_tokens * cache_read_usd_per_mtok
         + cache_write_tokens_all * cache_write_usd_per_mtok
         + output_tokens_all * output_usd_per_mtok) / 1000000
        as decimal(38, 10)
    )                                        as cost_usd,
    case
        when input_usd_per_mtok is null or output_usd_per_mtok is null then 'unpriced'
        else 'list_price'
    end                                      as price_source,
    price_model_id,
    'litellm_spend_logs'                     as source_table,
    cast(1 as bigint)                        as call_count,
    cast(null as bigint)                     as tool_calls,
    recorded_cost_usd,
    cast(null as double)                     as outcome_reward
from tokens
