{#-
  LLM call pricing as one vectorised as-of join (never a loop per call).

  llm_price_bands(lines): the long catalogue (provider × model × [valid_from_at, valid_to_at) ×
  variant × tier_start_tokens × price_key) pivoted to one row per provider × model × period ×
  variant × input-token band. genai-prices tiers are thresholds on the call's TOTAL input tokens
  (cache included): once input_tokens > tier start, that tier's rate applies to ALL tokens of that
  price key; a key without a tier at a band keeps its highest lower tier.

  llm_call_rates(...) resolves the price each call pays per token type (variant, context tier,
  overrides, as of the call's time); llm_priced_calls(...) turns those rates into the call's cost.
  Every pricing path (per-call sources, provider usage buckets, agent run totals) goes through
  llm_call_rates, so they share one set of price rows and one set of rules (documented below).
-#}

{% macro llm_price_bands(lines) -%}
(
with lines as (
    select provider_id, model_id, valid_from_at, valid_to_at, variant, tier_start_tokens, price_key, usd_per_unit
    from {{ lines }}
    where price_key in ('input_mtok', 'cache_read_mtok', 'cache_write_mtok', 'output_mtok',
                        'input_audio_mtok', 'output_audio_mtok')
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
    cast(max(case when price_key = 'output_mtok' then usd_per_unit end) as decimal(18, 9)) as output_usd_per_mtok,
    cast(max(case when price_key = 'input_audio_mtok' then usd_per_unit end) as decimal(18, 9)) as input_audio_usd_per_mtok,
    cast(max(case when price_key = 'output_audio_mtok' then usd_per_unit end) as decimal(18, 9)) as output_audio_usd_per_mtok
from band_prices
group by all
)
{%- endmacro %}


{#- The price each of `calls` pays, per price key: one as-of join shared by every pricing path
    (per-call sources through llm_priced_calls, provider usage buckets in int_llm_api_daily_cost),
    so a price rule changes in one place.

    `calls` must carry call_at, price_provider_id, price_model_id, variant and the column named by
    `band_tokens` (the per-call input size that picks the context tier: input_tokens for a call;
    a bucket or a run total passes a per-call size instead).

    Rules, in order:
    - list price: the call's variant ('processing=batch', 'service_tier=flex', ...) when the
      catalogue prices it for that period and band, else 'standard' (genai-prices' own fallback).
      `fallback_factor` (optional SQL over the calls' columns, null = none) multiplies the standard
      price when the variant fell back, e.g. a provider's Batch discount for a model the catalogue
      has no Batch price for; price_source then says 'list_price_fallback_factor'.
    - overrides (seed llm_price_overrides) win over the list price: an override row for the call's
      own variant beats a 'standard' row (which covers every variant); absolute $/1M where given,
      else list × (1 − discount_pct). Two rows of the same provider × model × variant must not
      overlap in time (data test llm_price_overrides_do_not_overlap); ranges are [valid_from, valid_to).
    - a key without a price falls back to its base key (cache read/write and input audio → input,
      output audio → output).
    Returns calls.* plus priced_variant (the catalogue variant used), list_valid_from_at,
    list_<key>_usd_per_mtok (before overrides / factors), <key>_usd_per_mtok (what is paid),
    fallback_factor, price_source ('override' | 'list_price' | 'list_price_fallback_factor' |
    'unpriced': no input or output price at all).
-#}
{% macro llm_call_rates(calls, bands, overrides, band_tokens='input_tokens', fallback_factor=none,
                        keys=['input', 'cache_read', 'cache_write', 'output']) -%}
{%- set base_key = {'cache_read': 'input', 'cache_write': 'input', 'input_audio': 'input', 'output_audio': 'output'} -%}
{%- set override_keys = ['input', 'cache_read', 'cache_write', 'output'] -%}
(
with joined as (
    select
        calls.*,
        case when vb.model_id is not null then calls.variant when sb.model_id is not null then 'standard' end as priced_variant,
        case when vb.model_id is not null then vb.valid_from_at else sb.valid_from_at end as list_valid_from_at,
        {%- for k in keys %}
        case when vb.model_id is not null then vb.{{ k }}_usd_per_mtok else sb.{{ k }}_usd_per_mtok end as catalogue_{{ k }}_usd_per_mtok,
        {%- endfor %}
        (vb.model_id is null and sb.model_id is not null and calls.variant <> 'standard') as is_variant_fallback,
        coalesce(ovv.valid_from, ovs.valid_from)                             as override_valid_from,
        case when ovv.model_id is not null then ovv.discount_pct else ovs.discount_pct end as override_discount_pct,
        {%- for k in override_keys %}
        case when ovv.model_id is not null then ovv.{{ k }}_usd_per_mtok else ovs.{{ k }}_usd_per_mtok end as override_{{ k }}_usd_per_mtok,
        {%- endfor %}
        (ovv.model_id is not null or ovs.model_id is not null)                as has_override
    from {{ calls }} as calls
    left join {{ bands }} as vb
        on vb.provider_id = calls.price_provider_id
        and vb.model_id = calls.price_model_id
        and vb.variant = calls.variant
        and calls.variant <> 'standard'
        and calls.call_at >= vb.valid_from_at and calls.call_at < vb.valid_to_at
        and calls.{{ band_tokens }} > vb.band_above_tokens and calls.{{ band_tokens }} <= vb.band_upto_tokens
    left join {{ bands }} as sb
        on sb.provider_id = calls.price_provider_id
        and sb.model_id = calls.price_model_id
        and sb.variant = 'standard'
        and calls.call_at >= sb.valid_from_at and calls.call_at < sb.valid_to_at
        and calls.{{ band_tokens }} > sb.band_above_tokens and calls.{{ band_tokens }} <= sb.band_upto_tokens
    -- the call's own variant first, then the 'standard' override covering every variant
    left join {{ overrides }} as ovv
        on ovv.provider_id = calls.price_provider_id
        and ovv.model_id = calls.price_model_id
        and ovv.variant = calls.variant
        and calls.variant <> 'standard'
        and calls.call_at >= cast(ovv.valid_from as timestamptz)
        and calls.call_at < coalesce(cast(ovv.valid_to as timestamptz), cast('9999-12-31 00:00:00+00' as timestamptz))
    left join {{ overrides }} as ovs
        on ovs.provider_id = calls.price_provider_id
        and ovs.model_id = calls.price_model_id
        and ovs.variant = 'standard'
        and calls.call_at >= cast(ovs.valid_from as timestamptz)
        and calls.call_at < coalesce(cast(ovs.valid_to as timestamptz), cast('9999-12-31 00:00:00+00' as timestamptz))
),
factored as (
    select
        *,
        {%- if fallback_factor %}
        case when is_variant_fallback then cast({{ fallback_factor }} as double) end as fallback_factor
        {%- else %}
        cast(null as double) as fallback_factor
        {%- endif %}
    from joined
),
rated as (
    -- rates as DOUBLE: 64-bit float arithmetic keeps ~15 significant digits (far below a cent on
    -- any call) and is several times faster than DECIMAL(38) products over millions of calls
    select
        *,
        {%- for k in keys %}
        {%- set b = base_key.get(k) %}
        cast(coalesce(catalogue_{{ k }}_usd_per_mtok{% if b %}, catalogue_{{ b }}_usd_per_mtok{% endif %}) as double) as list_{{ k }}_usd_per_mtok,
        coalesce(
            {%- if k in override_keys %}
            cast(override_{{ k }}_usd_per_mtok as double),
            {%- endif %}
            cast(catalogue_{{ k }}_usd_per_mtok as double) * (1 - coalesce(cast(override_discount_pct as double), 0)) * coalesce(fallback_factor, 1)
            {%- if b %},
            -- no separate price for this key: its tokens are plain {{ b }} tokens
            cast(override_{{ b }}_usd_per_mtok as double),
            cast(catalogue_{{ b }}_usd_per_mtok as double) * (1 - coalesce(cast(override_discount_pct as double), 0)) * coalesce(fallback_factor, 1)
            {%- endif %}
        ) as {{ k }}_usd_per_mtok{% if not loop.last %},{% endif %}
        {%- endfor %}
    from factored
)
select
    * exclude (
        {%- for k in keys %}catalogue_{{ k }}_usd_per_mtok, {% endfor %}
        is_variant_fallback, has_override),
    case
        when input_usd_per_mtok is null and output_usd_per_mtok is null then 'unpriced'
        when has_override then 'override'
        when fallback_factor is not null then 'list_price_fallback_factor'
        else 'list_price'
    end as price_source
from rated
)
{%- endmacro %}

{#- The pricing input of a per-call source whose usage is in the OpenAI shape (input tokens INCLUDE
    cache reads and writes: OTel GenAI, LiteLLM): `relation`'s columns with null counts as 0, its
    cached_input_tokens as cache_read_tokens, started_at as call_at, and `variant`. -#}
{% macro llm_openai_shape_price_input(relation, variant) -%}
select
    {{ relation }}.* replace (
        coalesce(input_tokens, 0)       as input_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(output_tokens, 0)      as output_tokens
    ),
    coalesce(cached_input_tokens, 0)    as cache_read_tokens,
    started_at                          as call_at,
    {{ variant }}                       as variant
from {{ relation }}
{%- endmacro %}

{#- Prices `calls` (see llm_call_rates for what they carry) with normalised token counts:
    input_tokens INCLUDING cache reads and writes, cache_read_tokens, cache_write_tokens,
    output_tokens. Unknown usage (input or output tokens null) or no price → cost null and
    price_source 'unpriced', never $0. -#}
{% macro llm_priced_calls(calls, bands, overrides, band_tokens='input_tokens', fallback_factor=none) -%}
(
select
    * exclude (price_source),
    case when input_tokens is null or output_tokens is null then 'unpriced' else price_source end as price_source,
    case when price_source <> 'unpriced' and input_tokens is not null and output_tokens is not null then cast((
          -- clamped: a source reporting more cached than total input must not earn a credit
          greatest(input_tokens - coalesce(cache_read_tokens, 0) - coalesce(cache_write_tokens, 0), 0) * coalesce(input_usd_per_mtok, 0)
        + coalesce(cache_read_tokens, 0) * coalesce(cache_read_usd_per_mtok, 0)
        + coalesce(cache_write_tokens, 0) * coalesce(cache_write_usd_per_mtok, 0)
        + output_tokens * coalesce(output_usd_per_mtok, 0)
    ) / 1000000.0 as decimal(18, 9)) end as cost_usd
from {{ llm_call_rates(calls, bands, overrides, band_tokens, fallback_factor) }} as rates
)
{%- endmacro %}

{#- `relation` with the genai-prices model its (provider, model name) resolves to
    (int_llm_model_resolution): adds price_provider_id and price_model_id (null = unknown model).
    provider_expr / model_expr are SQL over the alias `src`. -#}
{% macro llm_resolved_models(relation, provider_expr, model_expr) -%}
(
    select
        src.*,
        resolution.price_provider_id,
        resolution.price_model_id
    from {{ relation }} as src
    left join {{ ref('int_llm_model_resolution') }} as resolution
        on resolution.source_provider = {{ provider_expr }}
        and resolution.model_name = {{ model_expr }}
)
{%- endmacro %}

{#- UNION ALL of `relations` over an explicit column list, in that order (portable, unlike a
    by-name union): every relation must expose every column, so a source missing one fails the
    build instead of silently contributing nulls. -#}
{% macro union_all_columns(relations, columns) -%}
{%- for rel in relations %}
select {{ columns | join(', ') }} from {{ rel }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- endmacro %}

{#- Pairs of override rows (seed llm_price_overrides) for the same provider × model × variant
    whose [valid_from, valid_to) ranges overlap (open valid_to = forever): which price wins would
    be undefined and the pricing join would count such calls twice. One row per pair with a
    `problem` text naming both rows. A range ending on the day the next starts does NOT overlap. -#}
{% macro llm_price_override_overlaps(overrides) -%}
(
with rows as (
    select
        provider_id, model_id, variant, valid_from, valid_to,
        row_number() over (partition by provider_id, model_id, variant order by valid_from, valid_to) as n
    from {{ overrides }}
)
select
    a.provider_id,
    a.model_id,
    a.variant,
    a.valid_from as first_valid_from,
    a.valid_to   as first_valid_to,
    b.valid_from as second_valid_from,
    b.valid_to   as second_valid_to,
    a.provider_id || '/' || a.model_id || '/' || a.variant
        || ': [' || cast(a.valid_from as varchar) || ', ' || coalesce(cast(a.valid_to as varchar), 'open') || ')'
        || ' overlaps [' || cast(b.valid_from as varchar) || ', ' || coalesce(cast(b.valid_to as varchar), 'open') || ')'
        as problem
from rows as a
inner join rows as b
    on b.provider_id = a.provider_id
    and b.model_id = a.model_id
    and b.variant = a.variant
    and b.n > a.n
    and b.valid_from < coalesce(a.valid_to, cast('9999-12-31' as date))
    and a.valid_from < coalesce(b.valid_to, cast('9999-12-31' as date))
)
{%- endmacro %}
