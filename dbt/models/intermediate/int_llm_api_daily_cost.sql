-- API usage × list price as of the usage day, one row per day × provider × account × model ×
-- batch × tier × token type. cost = quantity × usd_per_mtok / 1e6 (× the provider's batch
-- factor for Batch usage). Anthropic server web searches are priced per request
-- (anthropic_web_search_usd_per_request, expressed per million requests). A model without a price keeps cost null and price_source 'unpriced' (never $0).
-- Overrides (seed llm_price_overrides) win: price_source 'override'.
{%- set token_types = [
    ('input',          'uncached_input_tokens', 'prices.input_usd_per_mtok',                                   'input'),
    ('cached_input',   'cached_input_tokens',   'coalesce(prices.cache_read_usd_per_mtok, prices.input_usd_per_mtok)', 'cache_read'),
    ('cache_write',    'cache_write_5m_tokens', 'coalesce(prices.cache_write_usd_per_mtok, prices.input_usd_per_mtok)', 'cache_write'),
    ('cache_write_1h', 'cache_write_1h_tokens', 'prices.input_usd_per_mtok * ' ~ threshold('anthropic_cache_write_1h_factor'), none),
    ('output',         'output_tokens',         'prices.output_usd_per_mtok',                                  'output'),
    ('input_audio',    'input_audio_tokens',    'coalesce(prices.input_audio_usd_per_mtok, prices.input_usd_per_mtok)', none),
    ('output_audio',   'output_audio_tokens',   'coalesce(prices.output_audio_usd_per_mtok, prices.output_usd_per_mtok)', none),
    ('web_search',     'web_search_requests',   '1000000 * ' ~ threshold('anthropic_web_search_usd_per_request'), none),
] %}
with usage as (

    select * from {{ ref('int_llm_api_daily_usage') }}

),

resolved as (

    select
        usage.*,
        resolution.price_provider_id,
        resolution.price_model_id
    from usage
    left join {{ ref('int_llm_model_resolution') }} as resolution
        on resolution.source_provider = usage.provider
        and resolution.model_name = usage.model

),

priced as (

    select
        resolved.*,
        prices.valid_from_at as price_valid_from_at,
        prices.genai_prices_version,
        prices.input_usd_per_mtok,
        prices.cache_read_usd_per_mtok,
        prices.cache_write_usd_per_mtok,
        prices.output_usd_per_mtok,
        prices.input_audio_usd_per_mtok,
        prices.output_audio_usd_per_mtok
    from resolved
    left join {{ ref('int_llm_prices') }} as prices
        on prices.provider_id = resolved.price_provider_id
        and prices.model_id = resolved.price_model_id
        -- price as of the usage bucket's start
        and resolved.bucket_start_at >= prices.valid_from_at
        and resolved.bucket_start_at < prices.valid_to_at

),

-- your prices (seed llm_price_overrides) win over the list price: an absolute $/1M tokens for the
-- token type, else the list price × (1 − discount_pct); variant 'standard' covers every variant
overridden as (

    select
        priced.*,
        overrides.discount_pct                      as override_discount_pct,
        overrides.input_usd_per_mtok                as override_input_usd_per_mtok,
        overrides.cache_read_usd_per_mtok           as override_cache_read_usd_per_mtok,
        overrides.cache_write_usd_per_mtok          as override_cache_write_usd_per_mtok,
        overrides.output_usd_per_mtok               as override_output_usd_per_mtok,
        (overrides.model_id is not null)            as has_override
    from priced
    left join {{ ref('llm_price_overrides') }} as overrides
        on overrides.provider_id = priced.price_provider_id
        and overrides.model_id = priced.price_model_id
        and (overrides.variant = 'standard'
             or overrides.variant = case when priced.is_batch then 'processing=batch'
                                         else 'service_tier=' || priced.service_tier end)
        and priced.usage_date >= overrides.valid_from
        and (overrides.valid_to is null or priced.usage_date < overrides.valid_to)

),

token_lines as (
{% for token_type, qty_col, price_expr, override_key in token_types %}
    select
        usage_date,
        provider,
        account_id,
        model,
        is_batch,
        service_tier,
        price_provider_id,
        price_model_id,
        price_valid_from_at,
        genai_prices_version,
        '{{ token_type }}'                                    as token_type,
        {{ qty_col }}                                         as tokens,
        cast({{ price_expr | replace('prices.', '') }} as decimal(38, 10)) as list_usd_per_mtok,
        has_override,
        cast(coalesce(override_discount_pct, 0) as decimal(38, 10)) as override_discount_pct,
        cast({{ ('override_' ~ override_key ~ '_usd_per_mtok') if override_key else 'null' }} as decimal(38, 10)) as override_usd_per_mtok
    from overridden
    where {{ qty_col }} <> 0
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select
    * exclude (has_override, override_discount_pct, override_usd_per_mtok),
    cast(tokens * list_usd_per_mtok / 1000000 as decimal(38, 10)) as list_cost_usd,
    cast(
        case
            -- an absolute override is the price paid, whatever the variant
            when override_usd_per_mtok is not null then tokens * override_usd_per_mtok / 1000000
            else tokens * list_usd_per_mtok / 1000000 * (1 - override_discount_pct)
            * case
                when is_batch and provider = 'openai' then {{ threshold('openai_batch_price_factor') }}
                -- the batch discount applies to tokens, not to server-tool requests
                when is_batch and provider = 'anthropic' and token_type <> 'web_search'
                    then {{ threshold('anthropic_batch_price_factor') }}
                else 1
              end
        end
        as decimal(38, 10)
    )                                                       as cost_usd,
    case
        when override_usd_per_mtok is not null then 'override'
        when list_usd_per_mtok is null then 'unpriced'
        when has_override then 'override'
        else 'list_price'
    end                                                     as price_source
from token_lines
