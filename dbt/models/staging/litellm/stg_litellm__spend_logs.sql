-- LiteLLM SpendLogs renamed to the project's vocabulary. prompt_tokens follows OpenAI semantics
-- (it INCLUDES cached tokens); the cached / cache-write parts come from metadata.usage_object
-- (OpenAI-style prompt_tokens_details.cached_tokens, or Anthropic-style cache_read_input_tokens).
with source as (

    select * from {{ source('litellm', 'litellm_spend_logs') }}

),

renamed as (

    select
        request_id,
        call_type,
        api_key                                              as api_key_hash,
        cast(spend as decimal(38, 10))                       as recorded_cost_usd,
        total_tokens,
        prompt_tokens                                        as input_tokens,
        completion_tokens                                    as output_tokens,
        coalesce(
            try_cast(json_extract_string(metadata, '$.usage_object.prompt_tokens_details.cached_tokens') as bigint),
            try_cast(json_extract_string(metadata, '$.usage_object.cache_read_input_tokens') as bigint)
        )                                                    as cached_input_tokens,
        try_cast(json_extract_string(metadata, '$.usage_object.cache_creation_input_tokens') as bigint)
                                                             as cache_write_tokens,
        try_cast(json_extract_string(metadata, '$.usage_object.completion_tokens_details.reasoning_tokens') as bigint)
                                                             as reasoning_tokens,
        {{ utc('"startTime"') }}                             as started_at,
        {{ utc('"endTime"') }}                               as ended_at,
        coalesce(nullif(model, ''), nullif(model_group, '')) as model,
        nullif(model_group, '')                              as model_group,
        nullif(custom_llm_provider, '')                      as provider_name,
        nullif("user", '')                                   as user_id,
        nullif(team_id, '')                                  as team,
        nullif(end_user, '')                                 as end_user,
        nullif(session_id, '')                               as session_id,
        coalesce(nullif(status, ''), 'success')              as status,
        -- LiteLLM writes str(bool): 'True' when its own response cache answered (no provider call)
        coalesce(lower(cache_hit) = 'true', false)          as is_cache_hit,
        request_tags                                         as request_tags_json,
        metadata                                             as metadata_json,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('started_at') }}
