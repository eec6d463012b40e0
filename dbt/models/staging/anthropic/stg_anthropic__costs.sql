-- Anthropic cost_report rows. amount is given in CENTS as a decimal string: converted to USD.
with source as (

    select * from {{ source('anthropic', 'anthropic_costs') }}

),

renamed as (

    select
        {{ utc('starting_at') }}                                as bucket_start_at,
        {{ utc('ending_at') }}                                  as bucket_end_at,
        cast({{ utc('starting_at') }} as date)                  as cost_date,
        workspace_id,
        description,
        cost_type,
        model,
        service_tier,
        context_window,
        token_type,
        upper(currency)                                         as currency,
        {{ money_from_text('amount') }}                         as amount_cents,
        cast({{ money_from_text('amount') }} / 100 as decimal(38, 10)) as amount,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('bucket_start_at') }}
