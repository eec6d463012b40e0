-- OpenAI + Anthropic usage on one vocabulary, per day × provider × project/workspace × model ×
-- batch × service tier × context window (summed over API keys).
--   input_tokens          = ALL input tokens (incl. cache reads and cache writes)
--   uncached_input_tokens = tokens billed at the base input rate
-- OpenAI reports input INCLUDING cached (uncached = input - cached); Anthropic reports input
-- EXCLUDING cache reads and writes (input = uncached + cache read + cache write).
with openai as (

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
        input_tokens,
        uncached_input_tokens,
        cached_input_tokens,
        0                         as cache_write_5m_tokens,
        0                         as cache_write_1h_tokens,
        output_tokens,
        input_audio_tokens,
        output_audio_tokens,
        0                         as web_search_requests,
        requests
    from {{ ref('stg_openai__usage') }}

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
        cast(null as bigint)      as requests
    from {{ ref('stg_anthropic__usage') }}

),

unioned as (

    select * from openai
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
    cast(sum(requests) as bigint) as requests
from unioned
group by usage_date, provider, account_id, model, is_batch, coalesce(service_tier, 'default'), context_window
