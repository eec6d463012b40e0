-- The full genai-prices catalogue, long form: provider × model × [valid_from_at, valid_to_at) ×
-- variant × tier × price key. Open-ended periods are closed with a sentinel so an as-of join is
-- a plain range predicate.
with source as (

    select * from {{ source('genai_prices', 'llm_price_lines') }}

),

renamed as (

    select
        provider_id,
        model_id,
        coalesce({{ utc('valid_from') }}, cast('1970-01-01 00:00:00+00' as timestamptz)) as valid_from_at,
        coalesce({{ utc('valid_to') }}, cast('9999-12-31 00:00:00+00' as timestamptz))   as valid_to_at,
        variant,
        cast(tier_start_tokens as bigint)                       as tier_start_tokens,
        price_key,
        cast(usd_per_unit as decimal(38, 18))                   as usd_per_unit,
        cast(unit_size as bigint)                               as unit_size,
        coalesce(has_time_of_day_price, false)                  as has_time_of_day_price,
        genai_prices_version,
        _source_name,
        _load_id,
        {{ utc('_ingested_at') }}                               as _ingested_at

    from source

)

select * from renamed
