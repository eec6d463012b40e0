-- OpenAI completions usage buckets, fields as the API names them. What they mean depends on the
-- bucket's date (OpenAI changed it; seed openai_usage_semantics): int_llm_api_daily_usage derives
-- the billed parts (uncached, cache write, audio) from them.
-- Only the completions endpoint (raw rows from before the endpoint column were all completions);
-- every endpoint with its own units is in stg_openai__usage_endpoints.
with source as (

    select * from {{ source('openai', 'openai_usage') }}

),

renamed as (

    select
        {{ utc('start_time') }}                                 as bucket_start_at,
        {{ utc('end_time') }}                                   as bucket_end_at,
        cast({{ utc('start_time') }} as date)                   as usage_date,
        project_id,
        user_id,
        api_key_id,
        model,
        coalesce(batch, false)                                  as is_batch,
        service_tier,
        coalesce(input_tokens, 0)                               as input_tokens,
        coalesce(input_cached_tokens, 0)                        as cached_input_tokens,
        coalesce(output_tokens, 0)                              as output_tokens,
        coalesce(input_audio_tokens, 0)                         as input_audio_tokens,
        coalesce(output_audio_tokens, 0)                        as output_audio_tokens,
        coalesce(num_model_requests, 0)                         as requests,
        coalesce(endpoint, 'completions')                       as endpoint,
        -- newer fields: null = the API did not report them (not zero)
        input_cache_write_tokens                                as cache_write_input_tokens,
        input_uncached_tokens                                   as reported_uncached_input_tokens,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('bucket_start_at') }}
  and endpoint = 'completions'
