-- OpenAI Costs API buckets (what OpenAI bills); used only for reconciliation.
with source as (

    select * from {{ source('openai', 'openai_costs') }}

),

renamed as (

    select
        {{ utc('start_time') }}                                 as bucket_start_at,
        {{ utc('end_time') }}                                   as bucket_end_at,
        cast({{ utc('start_time') }} as date)                   as cost_date,
        project_id,
        organization_id,
        -- null in an ungrouped answer (the documented example): a cost of unknown line item
        coalesce(line_item, 'unspecified')                      as line_item,
        -- line items read like '<model>, input' / '<model>, cached input': the model is the
        -- text before the first comma (null when the line item names no model)
        nullif(lower(trim(split_part(line_item, ',', 1))), '')  as line_item_model,
        nullif(lower(trim(split_part(line_item, ',', 2))), '')  as line_item_kind,
        {{ money('amount_value') }}                             as amount,
        upper(amount_currency)                                  as currency,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('bucket_start_at') }}
