-- List-price periods per genai-prices provider × model: [valid_from_at, valid_to_at).
-- If one snapshot holds the same period twice (re-ingest), keep the latest load.
with prices as (

    select * from {{ ref('stg_genai_prices__llm_prices') }}

),

deduped as (

    select
        *,
        row_number() over (
            partition by provider_id, model_id, valid_from_at
            order by _ingested_at desc, _load_id desc
        ) as load_rank
    from prices

)

select
    provider_id,
    model_id,
    valid_from_at,
    valid_to_at,
    input_usd_per_mtok,
    cache_read_usd_per_mtok,
    cache_write_usd_per_mtok,
    output_usd_per_mtok,
    input_audio_usd_per_mtok,
    output_audio_usd_per_mtok,
    is_tiered,
    genai_prices_version
from deduped
where load_rank = 1
