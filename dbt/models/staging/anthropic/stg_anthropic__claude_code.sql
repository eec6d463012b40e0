-- Anthropic Claude Code usage report: day × actor × model. estimated_cost amount is CENTS
-- (Anthropic's estimate at list prices), converted to USD; sessions / lines / commits / PRs are per
-- actor × day and repeat on each of the actor's model rows (aggregate them with max, not sum).
with source as (

    select * from {{ source('anthropic', 'anthropic_claude_code') }}

),

renamed as (

    select
        {{ utc('date') }}                                       as usage_day_at,
        cast({{ utc('date') }} as date)                         as usage_date,
        actor_type,
        coalesce(actor_email_address, actor_api_key_name)       as actor_id,
        actor_email_address,
        actor_api_key_name,
        organization_id,
        customer_type,
        subscription_type,
        terminal_type,
        model,
        coalesce(input_tokens, 0)                               as input_tokens,
        coalesce(output_tokens, 0)                              as output_tokens,
        coalesce(cache_read_tokens, 0)                          as cache_read_tokens,
        coalesce(cache_creation_tokens, 0)                      as cache_write_tokens,
        upper(estimated_cost_currency)                          as currency,
        {{ money_from_text('estimated_cost_amount') }}          as estimated_cost_cents,
        cast({{ money_from_text('estimated_cost_amount') }} / 100 as decimal(38, 10)) as estimated_cost,
        num_sessions,
        lines_added,
        lines_removed,
        commits_by_claude_code,
        pull_requests_by_claude_code,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('usage_day_at') }}
