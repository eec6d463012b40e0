-- API usage × price as of the usage bucket's start, one row per day × provider × account × model ×
-- batch × tier × context window × token type. Priced by the SAME rates as every per-call source
-- (macro llm_call_rates over int_llm_price_bands and seed llm_price_overrides), so a bucket and the
-- calls it sums cannot disagree on a price:
--   - variant: Batch usage → 'processing=batch', service tier flex / priority / … →
--     'service_tier=<tier>'; the catalogue's variant price when it has one, else the standard price —
--     × the provider's Batch factor (seed thresholds) for Batch only, price_source
--     'list_price_fallback_factor'.
--   - context tier: Anthropic reports the requests' context window ('0-200k', '200k-1M'), which
--     picks the band; OpenAI buckets carry no per-request size and take the base band.
--   - overrides win (price_source 'override'); an unknown model keeps cost null, 'unpriced'.
-- Token types without a catalogue key: 1-hour cache writes = the paid input rate × the
-- anthropic_cache_write_1h_factor; tool calls per call, as $ per million calls, whatever the model:
-- Anthropic server web searches (anthropic_web_search_usd_per_request), OpenAI web search and
-- file search calls (openai_web_search_usd_per_request / openai_file_search_usd_per_request, the
-- catalogue's flat per-call prices); none discounted by Batch. OpenAI cache writes take the
-- catalogue's cache_write rate (the input rate where the model has none).
-- list_* is the catalogue price of the variant used (before overrides and fallback factors).
{%- set token_types = [
    ('input',          'uncached_input_tokens', 'input'),
    ('cached_input',   'cached_input_tokens',   'cache_read'),
    ('cache_write',    'cache_write_5m_tokens', 'cache_write'),
    ('cache_write_1h', 'cache_write_1h_tokens', 'cache_write_1h'),
    ('output',         'output_tokens',         'output'),
    ('input_audio',    'input_audio_tokens',    'input_audio'),
    ('output_audio',   'output_audio_tokens',   'output_audio'),
    ('web_search',     'web_search_requests',   'web_search'),
    ('file_search',    'file_search_requests',  'file_search'),
] %}
with usage as (

    select * from {{ ref('int_llm_api_daily_usage') }}

),

resolved as (

    select * from {{ llm_resolved_models('usage', 'src.provider', 'src.model') }} as r

),

price_input as (

    select
        resolved.*,
        bucket_start_at                                          as call_at,
        case
            when is_batch then 'processing=batch'
            when service_tier in ('default', 'standard', 'auto', 'batch') then 'standard'
            else 'service_tier=' || lower(service_tier)
        end                                                      as variant,
        -- a request size inside the reported context window: its lower bound + 1 ('200k-1M' → 200001)
        coalesce(
            try_cast(regexp_extract(lower(context_window), '^([0-9]+)', 1) as bigint)
            * case
                when regexp_matches(lower(context_window), '^[0-9]+k') then 1000
                when regexp_matches(lower(context_window), '^[0-9]+m') then 1000000
                else 1
              end,
            0
        ) + 1                                                    as band_input_tokens
    from resolved

),

rated as (

    select *
    from {{ llm_call_rates(
        'price_input', ref('int_llm_price_bands'), ref('llm_price_overrides'),
        band_tokens='band_input_tokens',
        fallback_factor="case when variant = 'processing=batch' and provider = 'openai' then "
                        ~ threshold('openai_batch_price_factor')
                        ~ " when variant = 'processing=batch' and provider = 'anthropic' then "
                        ~ threshold('anthropic_batch_price_factor') ~ " end",
        keys=['input', 'cache_read', 'cache_write', 'output', 'input_audio', 'output_audio']) }} as rates

),

priced_keys as (

    select
        *,
        list_input_usd_per_mtok * {{ threshold('anthropic_cache_write_1h_factor') }} as list_cache_write_1h_usd_per_mtok,
        input_usd_per_mtok * {{ threshold('anthropic_cache_write_1h_factor') }}      as cache_write_1h_usd_per_mtok,
        1000000 * case when provider = 'openai' then {{ threshold('openai_web_search_usd_per_request') }}
                       else {{ threshold('anthropic_web_search_usd_per_request') }} end as list_web_search_usd_per_mtok,
        1000000 * case when provider = 'openai' then {{ threshold('openai_web_search_usd_per_request') }}
                       else {{ threshold('anthropic_web_search_usd_per_request') }} end as web_search_usd_per_mtok,
        1000000 * {{ threshold('openai_file_search_usd_per_request') }}              as list_file_search_usd_per_mtok,
        1000000 * {{ threshold('openai_file_search_usd_per_request') }}              as file_search_usd_per_mtok
    from rated

),

token_lines as (
{% for token_type, qty_col, key in token_types %}
    select
        usage_date,
        provider,
        account_id,
        model,
        is_batch,
        service_tier,
        context_window,
        price_provider_id,
        price_model_id,
        priced_variant,
        list_valid_from_at                                    as price_valid_from_at,
        '{{ token_type }}'                                    as token_type,
        {{ qty_col }}                                         as tokens,
        cast(list_{{ key }}_usd_per_mtok as decimal(38, 10))  as list_usd_per_mtok,
        cast({{ key }}_usd_per_mtok as decimal(38, 10))       as usd_per_mtok,
        {%- if key in ('web_search', 'file_search') %}
        -- a per-call list price of its own, whatever the model's tokens cost (file searches have no model)
        'list_price'                                          as price_source
        {%- else %}
        price_source
        {%- endif %}
    from priced_keys
    where {{ qty_col }} <> 0
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select
    * exclude (usd_per_mtok),
    cast(tokens * list_usd_per_mtok / 1000000 as decimal(38, 10)) as list_cost_usd,
    case when price_source <> 'unpriced'
         then cast(tokens * usd_per_mtok / 1000000 as decimal(38, 10)) end as cost_usd
from token_lines
