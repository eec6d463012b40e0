{#-
  LLM call pricing as one vectorised as-of join (never a loop per call).

  llm_price_bands(lines): the long catalogue (provider × model × [valid_from_at, valid_to_at) ×
  variant × tier_start_tokens × price_key) pivoted to one row per provider × model × period ×
  variant × input-token band. genai-prices tiers are thresholds on the call's TOTAL input tokens
  (cache included): once input_tokens > tier start, that tier's rate applies to ALL tokens of that
  price key; a key without a tier at a band keeps its highest lower tier.

  llm_priced_calls(calls, bands, overrides): prices `calls`, which must carry call_at,
  price_provider_id, price_model_id, variant ('standard', 'processing=batch', 'service_tier=flex',
  ...), and normalised token counts: input_tokens INCLUDING cache reads and writes,
  cache_read_tokens, cache_write_tokens, output_tokens. A variant the model has no price for
  falls back to 'standard' (as genai-prices does). An override row (seed llm_price_overrides,
  variant 'standard' covers every variant) wins over the catalogue: absolute prices where given,
  else the catalogue price × (1 − discount_pct). No price at all → cost null, price_source 'unpriced'.
-#}

{% macro llm_price_bands(lines) -%}
(
with lines as (
    select provider_id, model_id, valid_from_at, valid_to_at, variant, tier_start_tokens, price_key, usd_per_unit
    from {{ lines }}
    where price_key in ('input_mtok', 'cache_read_mtok', 'cache_write_mtok', 'output_mtok')
),
edges as (
    select distinct provider_id, model_id, valid_from_at, valid_to_at, variant, tier_start_tokens
    from lines
),
bands as (
    select
        *,
        lead(tier_start_tokens) over (
            partition by provider_id, model_id, valid_from_at, variant order by tier_start_tokens
        ) as next_tier_start_tokens
    from edges
),
band_prices as (
    select bands.*, lines.price_key, lines.usd_per_unit
    from bands
    inner join lines
        on lines.provider_id = bands.provider_id
        and lines.model_id = bands.model_id
        and lines.valid_from_at = bands.valid_from_at
        and lines.variant = bands.variant
        and lines.tier_start_tokens <= bands.tier_start_tokens
    qualify row_number() over (
        partition by bands.provider_id, bands.model_id, bands.valid_from_at, bands.variant,
                     bands.tier_start_tokens, lines.price_key
        order by lines.tier_start_tokens desc
    ) = 1
)
select
    provider_id,
    model_id,
    valid_from_at,
    valid_to_at,
    variant,
    tier_start_tokens,
    -- the call's input_tokens must be > band_above and <= band_upto
    case when tier_start_tokens = 0 then -1 else tier_start_tokens end      as band_above_tokens,
    coalesce(next_tier_start_tokens, 9223372036854775807)                   as band_upto_tokens,
    cast(max(case when price_key = 'input_mtok' then usd_per_unit end) as decimal(18, 9)) as input_usd_per_mtok,
    cast(max(case when price_key = 'cache_read_mtok' then usd_per_unit end) as decimal(18, 9)) as cache_read_usd_per_mtok,
    cast(max(case when price_key = 'cache_write_mtok' then usd_per_unit end) as decimal(18, 9)) as cache_write_usd_per_mtok,
    cast(max(case when price_key = 'output_mtok' then usd_per_unit end) as decimal(18, 9)) as output_usd_per_mtok
from band_prices
group by all
)
{%- endmacro %}

{% macro llm_priced_calls(calls, bands, overrides) -%}
{%- set keys = ['input', 'cache_read', 'cache_write', 'output'] -%}
(
with joined as (
    select
        calls.*,
        case when vb.model_id is not null then vb.valid_from_at else sb.valid_from_at end as list_valid_from_at,
        {%- for k in keys %}
        case when vb.model_id is not null then vb.{{ k }}_usd_per_mtok else sb.{{ k }}_usd_per_mtok end as list_{{ k }}_usd_per_mtok,
        {%- endfor %}
        (vb.model_id is not null or sb.model_id is not null)                  as has_list_price,
        ov.valid_from                                                         as override_valid_from,
        ov.discount_pct                                                       as override_discount_pct,
        {%- for k in keys %}
        ov.{{ k }}_usd_per_mtok                                               as override_{{ k }}_usd_per_mtok,
        {%- endfor %}
        (ov.model_id is not null)                                             as has_override
    from {{ calls }} as calls
    left join {{ bands }} as vb
        on vb.provider_id = calls.price_provider_id
        and vb.model_id = calls.price_model_id
        and vb.variant = calls.variant
        and calls.variant <> 'standard'
        and calls.call_at >= vb.valid_from_at and calls.call_at < vb.valid_to_at
        and calls.input_tokens > vb.band_above_tokens and calls.input_tokens <= vb.band_upto_tokens
    left join {{ bands }} as sb
        on sb.provider_id = calls.price_provider_id
        and sb.model_id = calls.price_model_id
        and sb.variant = 'standard'
        and calls.call_at >= sb.valid_from_at and calls.call_at < sb.valid_to_at
        and calls.input_tokens > sb.band_above_tokens and calls.input_tokens <= sb.band_upto_tokens
    left join {{ overrides }} as ov
        on ov.provider_id = calls.price_provider_id
        and ov.model_id = calls.price_model_id
        and (ov.variant = calls.variant or ov.variant = 'standard')
        and calls.call_at >= cast(ov.valid_from as timestamptz)
        and calls.call_at < coalesce(cast(ov.valid_to as timestamptz), cast('9999-12-31 00:00:00+00' as timestamptz))
),
rated as (
    -- rates as DOUBLE: 64-bit float arithmetic keeps ~15 significant digits (far below a cent on
    -- any call) and is several times faster than DECIMAL(38) products over millions of calls
    select
        *,
        {%- for k in keys %}
        coalesce(
            cast(override_{{ k }}_usd_per_mtok as double),
            cast(list_{{ k }}_usd_per_mtok as double) * (1 - coalesce(cast(override_discount_pct as double), 0))
            {%- if k in ('cache_read', 'cache_write') %},
            -- no separate cache price: cache tokens are plain input tokens
            coalesce(cast(override_input_usd_per_mtok as double),
                     cast(list_input_usd_per_mtok as double) * (1 - coalesce(cast(override_discount_pct as double), 0)))
            {%- endif %}
        ) as {{ k }}_usd_per_mtok,
        {%- endfor %}
        case when has_override then 'override' when has_list_price then 'list_price' else 'unpriced' end as price_source
    from joined
)
select
    * exclude (has_list_price, has_override),
    case when price_source <> 'unpriced' then cast((
          -- clamped: a source reporting more cached than total input must not earn a credit
          greatest(input_tokens - coalesce(cache_read_tokens, 0) - coalesce(cache_write_tokens, 0), 0) * coalesce(input_usd_per_mtok, 0)
        + coalesce(cache_read_tokens, 0) * coalesce(cache_read_usd_per_mtok, 0)
        + coalesce(cache_write_tokens, 0) * coalesce(cache_write_usd_per_mtok, 0)
        + coalesce(output_tokens, 0) * coalesce(output_usd_per_mtok, 0)
    ) / 1000000.0 as decimal(18, 9)) end as cost_usd
from rated
)
{%- endmacro %}
