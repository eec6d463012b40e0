-- genai-prices list prices per provider × model × price period, USD per million tokens.
-- Open-ended periods are closed with sentinels so an as-of join is a plain range predicate.
with source as (

    select * from {{ source('genai_prices', 'llm_prices') }}

),

renamed as (

    select
        provider_id,
        model_id,
        model_match                                             as model_match_json,
        coalesce({{ utc('price_start_at') }}, cast('1970-01-01 00:00:00+00' as timestamptz)) as valid_from_at,
        coalesce({{ utc('price_end_at') }}, cast('9999-12-31 00:00:00+00' as timestamptz))   as valid_to_at,
        {{ money('input_mtok') }}                               as input_usd_per_mtok,
        {{ money('cache_read_mtok') }}                          as cache_read_usd_per_mtok,
        {{ money('cache_write_mtok') }}                         as cache_write_usd_per_mtok,
        {{ money('output_mtok') }}                              as output_usd_per_mtok,
        {{ money('input_audio_mtok') }}                         as input_audio_usd_per_mtok,
        {{ money('output_audio_mtok') }}                        as output_audio_usd_per_mtok,
        coalesce(tiered, false)                                 as is_tiered,
        genai_prices_version,
        _source_name,
        _load_id,
        {{ utc('_ingested_at') }}                               as _ingested_at

    from source

)

select * from renamed
