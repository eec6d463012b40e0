-- OpenAI + Anthropic usage on one vocabulary, per day × provider × project/workspace × model ×
-- batch × service tier × context window (summed over API keys).
--   input_tokens          = ALL input tokens (incl. cache reads, cache writes and audio)
--   uncached_input_tokens = tokens billed at the base input rate
--   output_tokens         = output billed at the (text) output rate; output_audio_tokens beside it
-- OpenAI changed what its completions fields mean (seed openai_usage_semantics, by bucket day):
--   current (parts inside totals): input_tokens holds cached, cache-write and audio input and
--     output_tokens holds audio output, so uncached = input − cached − cache write − audio and
--     text output = output − audio output; cache writes are priced at the catalogue's cache-write rate.
--   legacy: input_tokens is text input incl. cached, audio is counted beside the totals, no
--     cache-write count (uncached = input − cached).
-- Anthropic reports input EXCLUDING cache reads and writes (input = uncached + cache read + cache write).
-- Tool calls (OpenAI web_search_calls / file_search_calls, Anthropic server web searches) are per-call
-- counts; OpenAI file searches carry no model (null).
with openai_completions as (

    select
        usage.*,
        semantics.parts_inside_totals
    from {{ ref('stg_openai__usage') }} as usage
    inner join {{ ref('openai_usage_semantics') }} as semantics
        on usage.usage_date >= semantics.valid_from
        and (semantics.valid_to is null or usage.usage_date < semantics.valid_to)

),

openai as (

    select
        usage_date,
        bucket_start_at,
        'openai'                  as provider,
        project_id                as account_id,
        model,
        is_batch,
        service_tier,
        -- OpenAI buckets carry no per-request size: priced at the base context tier
        cast(null as varchar)     as context_window,
        case when parts_inside_totals then input_tokens
             else input_tokens + input_audio_tokens end as input_tokens,
        case when parts_inside_totals
             then input_tokens - cached_input_tokens - coalesce(cache_write_input_tokens, 0) - input_audio_tokens
             else input_tokens - cached_input_tokens end as uncached_input_tokens,
        cached_input_tokens,
        -- OpenAI has one cache-write price (the catalogue's cache_write): carried in the 5m column
        case when parts_inside_totals then coalesce(cache_write_input_tokens, 0) else 0 end as cache_write_5m_tokens,
        0                         as cache_write_1h_tokens,
        case when parts_inside_totals then output_tokens - output_audio_tokens
             else output_tokens end as output_tokens,
        input_audio_tokens,
        output_audio_tokens,
        0                         as web_search_requests,
        0                         as file_search_requests,
        requests
    from openai_completions

),

openai_tool_calls as (

    select
        usage_date,
        bucket_start_at,
        'openai'                  as provider,
        project_id                as account_id,
        model,
        false                     as is_batch,
        cast(null as varchar)     as service_tier,
        cast(null as varchar)     as context_window,
        0                         as input_tokens,
        0                         as uncached_input_tokens,
        0                         as cached_input_tokens,
        0                         as cache_write_5m_tokens,
        0                         as cache_write_1h_tokens,
        0                         as output_tokens,
        0                         as input_audio_tokens,
        0                         as output_audio_tokens,
        case when endpoint = 'web_search_calls' then coalesce(tool_calls, 0) else 0 end as web_search_requests,
        case when endpoint = 'file_search_calls' then coalesce(tool_calls, 0) else 0 end as file_search_requests,
        cast(null as bigint)      as requests
    from {{ ref('stg_openai__usage_endpoints') }}
    where endpoint in ('web_search_calls', 'file_search_calls')

),

anthropic as (

    select
        usage_date,
        bucket_start_at,
        'anthropic'               as provider,
        coalesce(workspace_id, 'default') as account_id,
        model,
        -- Message Batches usage is reported with service_tier 'batch'
        coalesce(service_tier = 'batch', false) as is_batch,
        service_tier,
        -- '0-200k' / '200k-1M': the requests' context tier, which picks the price band
        context_window,
        input_tokens,
        uncached_input_tokens,
        cached_input_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        output_tokens,
        0                         as input_audio_tokens,
        0                         as output_audio_tokens,
        web_search_requests,
        0                         as file_search_requests,
        cast(null as bigint)      as requests
    from {{ ref('stg_anthropic__usage') }}

),

unioned as (

    select * from openai
    union all
    select * from openai_tool_calls
    union all
    select * from anthropic

)

select
    usage_date,
    min(bucket_start_at)          as bucket_start_at,
    provider,
    account_id,
    model,
    is_batch,
    coalesce(service_tier, 'default') as service_tier,
    context_window,
    cast(sum(input_tokens) as bigint) as input_tokens,
    cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
    cast(sum(cached_input_tokens) as bigint) as cached_input_tokens,
    cast(sum(cache_write_5m_tokens) as bigint) as cache_write_5m_tokens,
    cast(sum(cache_write_1h_tokens) as bigint) as cache_write_1h_tokens,
    cast(sum(output_tokens) as bigint) as output_tokens,
    cast(sum(input_audio_tokens) as bigint) as input_audio_tokens,
    cast(sum(output_audio_tokens) as bigint) as output_audio_tokens,
    cast(sum(web_search_requests) as bigint) as web_search_requests,
    cast(sum(file_search_requests) as bigint) as file_search_requests,
    cast(sum(requests) as bigint) as requests
from unioned
group by usage_date, provider, account_id, model, is_batch, coalesce(service_tier, 'default'), context_window
