-- OpenAI usage of EVERY Usage API endpoint (completions, embeddings, moderations, images, audio
-- speeches / transcriptions, vector stores, code interpreter sessions, file search and web search
-- tool calls), one row per endpoint ×
-- bucket × group, each with the unit that endpoint bills by. Metrics an endpoint does not report
-- stay null (not zero).
with source as (

    select * from {{ source('openai', 'openai_usage') }}

),

renamed as (

    select
        {{ utc('start_time') }}                                 as bucket_start_at,
        {{ utc('end_time') }}                                   as bucket_end_at,
        cast({{ utc('start_time') }} as date)                   as usage_date,
        coalesce(endpoint, 'completions')                       as endpoint,
        project_id,
        user_id,
        api_key_id,
        model,
        coalesce(batch, false)                                  as is_batch,
        service_tier,
        input_tokens,
        input_cached_tokens                                     as cached_input_tokens,
        input_cache_write_tokens                                as cache_write_input_tokens,
        output_tokens,
        input_audio_tokens,
        output_audio_tokens,
        num_model_requests                                      as requests,
        images,
        image_size,
        image_source,
        characters,
        seconds,
        usage_bytes,
        num_sessions,
        num_requests                                            as tool_calls,
        vector_store_id,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('bucket_start_at') }}
