-- Cloud Billing Catalog list prices of GPU/TPU SKUs. unit_price is per usage_unit (the catalog's
-- "h", "min", "s", "GiBy.mo"...); hourly_unit_price converts the time units to per hour.
with source as (

    select * from {{ source('gcp', 'gcp_catalog_skus') }}

),

renamed as (

    select
        service_id,
        service_display_name,
        sku_id,
        sku_name,
        description                                             as sku_description,
        resource_family,
        resource_group,
        usage_type,                                             -- OnDemand, Preemptible, Commit1Yr, Commit3Yr
        service_regions                                         as service_regions_json,
        geo_taxonomy_type,
        {{ utc('effective_time') }}                             as effective_at,
        summary,
        usage_unit,
        usage_unit_description,
        base_unit,
        cast(base_unit_conversion_factor as double)             as base_unit_conversion_factor,
        cast(display_quantity as double)                        as display_quantity,
        cast(tier_index as integer)                             as tier_index,
        cast(start_usage_amount as double)                      as tier_start_usage_amount,
        upper(currency_code)                                    as currency,
        {{ money('unit_price') }}                               as unit_price,
        {{ money("case usage_unit when 'h' then unit_price when 'min' then unit_price * 60 "
                 "when 's' then unit_price * 3600 end") }}      as hourly_unit_price,
        cast(currency_conversion_rate as double)                as currency_conversion_rate,
        service_provider_name,
        _source_name,
        _source_uri,
        _load_id,
        {{ utc('_ingested_at') }}                               as _ingested_at
    from source

)

select * from renamed
