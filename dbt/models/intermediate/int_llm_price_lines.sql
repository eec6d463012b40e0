-- The genai-prices catalogue, long form, one row per provider × model × [valid_from_at,
-- valid_to_at) × variant × tier × price key, from the latest load. Overrides (seed
-- llm_price_overrides) are applied at pricing time by the llm_priced_calls macro.
with lines as (

    select * from {{ ref('stg_genai_prices__llm_price_lines') }}

)

select
    provider_id,
    model_id,
    valid_from_at,
    valid_to_at,
    variant,
    tier_start_tokens,
    price_key,
    usd_per_unit,
    unit_size,
    has_time_of_day_price,
    genai_prices_version,
    'list_price' as price_source
from lines
where _load_id = (select max(_load_id) from lines as latest where latest._ingested_at = (select max(_ingested_at) from lines))
