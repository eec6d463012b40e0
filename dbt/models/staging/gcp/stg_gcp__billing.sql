-- GCP detailed billing export rows. credits is a JSON array of {name, amount, ...}: summed here
-- (credits are negative amounts) so downstream never re-parses it.
with source as (

    select * from {{ source('gcp', 'gcp_billing') }}

),

renamed as (

    select
        billing_account_id,
        service_id,
        service_description,
        sku_id,
        sku_description,
        {{ utc('usage_start_time') }}                           as usage_start_at,
        {{ utc('usage_end_time') }}                             as usage_end_at,
        project_id,
        project_name,
        project_number,
        coalesce(labels, '{}')                                  as labels_json,
        system_labels                                           as system_labels_json,
        location_location,
        location_country,
        location_region,
        location_zone,
        nullif(resource_name, '')                               as resource_name,
        nullif(resource_global_name, '')                        as resource_global_name,
        {{ money('cost') }}                                     as cost,
        currency,
        cast(currency_conversion_rate as double)                as currency_conversion_rate,
        cast(usage_amount as double)                            as usage_amount,
        usage_unit,
        cast(usage_amount_in_pricing_units as double)           as usage_amount_in_pricing_units,
        usage_pricing_unit,
        credits                                                 as credits_json,
        coalesce(
            list_sum(cast(json_extract(coalesce(credits, '[]'), '$[*].amount') as decimal(38, 10)[])),
            0
        )                                                       as credits_amount,
        invoice_month,
        -- invoice month YYYYMM → first instant of that month (UTC)
        cast(strptime(invoice_month || '01', '%Y%m%d') as timestamptz) as invoice_month_start_at,
        cost_type,
        {{ utc('export_time') }}                                as exported_at,
        {{ money('price_effective_price') }}                    as effective_unit_price,
        price_unit,
        cast(price_pricing_unit_quantity as double)             as price_pricing_unit_quantity,
        {{ money('cost_at_list') }}                             as cost_at_list,
        transaction_type,
        seller_name,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('usage_start_at') }}
