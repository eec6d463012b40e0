-- Anthropic usage_report buckets. Anthropic reports input WITHOUT cache reads and cache writes
-- (uncached_input_tokens); the all-inclusive input is derived so both providers read alike.
with source as (

    select * from {{ source('anthropic', 'anthropic_usage') }}

),

renamed as (

    select
        {{ utc('starting_at') }}                                as bucket_start_at,
        {{ utc('ending_at') }}                                  as bucket_end_at,
        cast({{ utc('starting_at') }} as date)                  as usage_date,
        api_key_id,
        workspace_id,
        model,
        service_tier,
        context_window,
        coalesce(uncached_input_tokens, 0)                      as uncached_input_tokens,
        coalesce(cache_read_input_tokens, 0)                    as cached_input_tokens,
        coalesce(cache_creation_ephemeral_5m_input_tokens, 0)   as cache_write_5m_tokens,
        coalesce(cache_creation_ephemeral_1h_input_tokens, 0)   as cache_write_1h_tokens,
        coalesce(cache_creation_ephemeral_5m_input_tokens, 0)
            + coalesce(cache_creation_ephemeral_1h_input_tokens, 0) as cache_write_tokens,
        coalesce(uncached_input_tokens, 0)
            + coalesce(cache_read_input_tokens, 0)
            + coalesce(cache_creation_ephemeral_5m_input_tokens, 0)
            + coalesce(cache_creation_ephemeral_1h_input_tokens, 0) as input_tokens,
        coalesce(output_tokens, 0)                              as output_tokens,
        coalesce(server_tool_use_web_search_requests, 0)        as web_search_requests,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('bucket_start_at') }}
