-- How genai-prices recognises a model name (flattened match clauses). Compared lower-case.
with source as (

    select * from {{ source('genai_prices', 'llm_price_matches') }}

),

renamed as (

    select
        provider_id,
        model_id,
        match_kind,
        lower(match_value)                                      as match_value,
        _source_name,
        _load_id

    from source

)

select * from renamed
