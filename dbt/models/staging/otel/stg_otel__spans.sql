-- OTel spans with the GenAI semantic-convention attributes pulled out of the JSON attribute maps.
-- Input tokens follow the semconv: gen_ai.usage.input_tokens INCLUDES cached tokens.
with source as (

    select * from {{ source('otel', 'otel_spans') }}

),

renamed as (

    select
        lower(trace_id)                                         as trace_id,
        lower(span_id)                                          as span_id,
        lower(nullif(parent_span_id, ''))                       as parent_span_id,
        name                                                    as span_name,
        kind                                                    as span_kind,
        {{ utc('start_time') }}                                 as started_at,
        {{ utc('end_time') }}                                   as ended_at,
        status_code,
        service_name,
        scope_name,
        {{ json_str('attributes', 'gen_ai.operation.name') }}   as operation_name,
        {{ json_str('attributes', 'gen_ai.agent.name') }}       as agent_name,
        {{ json_str('attributes', 'gen_ai.conversation.id') }}  as conversation_id,
        coalesce({{ json_str('attributes', 'gen_ai.provider.name') }},
                 {{ json_str('attributes', 'gen_ai.system') }}) as provider_name,
        {{ json_str('attributes', 'gen_ai.request.model') }}    as request_model,
        {{ json_str('attributes', 'gen_ai.response.model') }}   as response_model,
        {{ json_bigint('attributes', 'gen_ai.usage.input_tokens') }}  as input_tokens,
        {{ json_bigint('attributes', 'gen_ai.usage.output_tokens') }} as output_tokens,
        {{ json_bigint('attributes', 'gen_ai.usage.cache_read.input_tokens') }}     as cached_input_tokens,
        {{ json_bigint('attributes', 'gen_ai.usage.cache_creation.input_tokens') }} as cache_write_tokens,
        {{ json_bigint('attributes', 'gen_ai.usage.reasoning.output_tokens') }}     as reasoning_tokens,
        coalesce({{ json_str('attributes', 'gen_ai.openai.request.service_tier') }},
                 {{ json_str('attributes', 'openai.request.service_tier') }})       as service_tier,
        {{ json_str('attributes', 'gen_ai.tool.name') }}        as tool_name,
        {{ json_str('attributes', 'error.type') }}              as error_type,
        -- application: app.name if set, else the OTel service.name of the emitting app
        coalesce({{ json_str('resource_attributes', 'app.name') }},
                 {{ json_str('resource_attributes', 'service.name') }},
                 service_name)                                  as application,
        {{ json_str('resource_attributes', 'team') }}           as team,
        attributes                                              as attributes_json,
        resource_attributes                                     as resource_attributes_json,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('started_at') }}
