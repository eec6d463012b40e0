-- CUR 2.0 line items: renamed, money cast to DECIMAL, timestamps to UTC TIMESTAMPTZ.
-- JSON maps (product, resource_tags, cost_category, discount) stay JSON text; the few product
-- attributes FOCUS needs are extracted here.
with source as (

    select * from {{ source('aws', 'aws_cur') }}

),

renamed as (

    select
        identity_line_item_id                                   as line_item_id,
        identity_time_interval                                  as time_interval,
        bill_payer_account_id                                   as payer_account_id,
        bill_invoice_id                                         as invoice_id,
        bill_billing_entity                                     as billing_entity,
        bill_bill_type                                          as bill_type,
        {{ utc('bill_billing_period_start_date') }}             as billing_period_start_at,
        {{ utc('bill_billing_period_end_date') }}               as billing_period_end_at,
        line_item_line_item_type                                as line_item_type,
        {{ utc('line_item_usage_start_date') }}                 as usage_start_at,
        {{ utc('line_item_usage_end_date') }}                   as usage_end_at,
        line_item_usage_account_id                              as usage_account_id,
        line_item_usage_account_name                            as usage_account_name,
        line_item_product_code                                  as product_code,
        line_item_usage_type                                    as usage_type,
        line_item_operation                                     as operation,
        nullif(line_item_resource_id, '')                       as resource_id,
        nullif(line_item_availability_zone, '')                 as availability_zone,
        cast(line_item_usage_amount as double)                  as usage_amount,
        {{ money_from_text('line_item_unblended_rate') }}       as unblended_rate,
        {{ money('line_item_unblended_cost') }}                 as unblended_cost,
        {{ money('line_item_blended_cost') }}                   as blended_cost,
        {{ money('line_item_net_unblended_cost') }}             as net_unblended_cost,
        line_item_currency_code                                 as currency_code,
        line_item_line_item_description                         as line_item_description,
        line_item_legal_entity                                  as legal_entity,
        {{ money('pricing_public_on_demand_cost') }}            as public_on_demand_cost,
        {{ money_from_text('pricing_public_on_demand_rate') }}  as public_on_demand_rate,
        nullif(pricing_unit, '')                                as pricing_unit,
        nullif(pricing_term, '')                                as pricing_term,
        product_servicecode                                     as service_code,
        product_product_family                                  as product_family,
        nullif(product_instance_type, '')                       as instance_type,
        nullif(product_instance_family, '')                     as instance_family,
        nullif(product_region_code, '')                         as region_code,
        product_sku                                             as sku,
        {{ money('savings_plan_savings_plan_effective_cost') }} as savings_plan_effective_cost,
        {{ money('reservation_effective_cost') }}               as reservation_effective_cost,
        -- commitment columns for the FOCUS commitment semantics; null where the export lacks them
        {{ optional_columns(source('aws', 'aws_cur'), [
            ('savings_plan_savings_plan_a_r_n', 'varchar', 'savings_plan_arn'),
            ('savings_plan_total_commitment_to_date', 'decimal(38, 10)', 'savings_plan_total_commitment_to_date'),
            ('savings_plan_used_commitment', 'decimal(38, 10)', 'savings_plan_used_commitment'),
            ('reservation_reservation_a_r_n', 'varchar', 'reservation_arn'),
            ('reservation_unused_amortized_upfront_fee_for_billing_period', 'decimal(38, 10)', 'reservation_unused_amortized_upfront_fee'),
            ('reservation_unused_recurring_fee', 'decimal(38, 10)', 'reservation_unused_recurring_fee'),
        ]) }},
        json_extract_string(product, '$.location')              as region_name,
        product                                                 as product_json,
        coalesce(resource_tags, '{}')                           as resource_tags_json,
        cost_category                                           as cost_category_json,
        discount                                                as discount_json,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('usage_start_at') }}
