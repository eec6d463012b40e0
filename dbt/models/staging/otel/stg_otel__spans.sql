-- OTel spans with the GenAI fields pulled out of the JSON attribute maps. Which attribute feeds
-- which field (current OTel GenAI names, deprecated ones, OpenInference) is data: the
-- otel_genai_attributes seed, first attribute present wins. Input tokens INCLUDE cached tokens in
-- every one of those conventions.
-- depends_on: {{ ref('otel_genai_attributes') }}
{%- set f = otel_genai_attribute_map() %}
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
        {{ otel_genai_field(f, 'operation_name') }}        as operation_name,
        {{ otel_genai_field(f, 'agent_name') }}            as agent_name,
        {{ otel_genai_field(f, 'agent_id') }}              as agent_id,
        {{ otel_genai_field(f, 'conversation_id') }}       as conversation_id,
        {{ otel_genai_field(f, 'provider_name') }}         as provider_name,
        {{ otel_genai_field(f, 'request_model') }}         as request_model,
        {{ otel_genai_field(f, 'response_model') }}        as response_model,
        {{ otel_genai_field(f, 'response_id') }}           as response_id,
        {{ otel_genai_field(f, 'input_tokens', type='bigint') }}       as input_tokens,
        {{ otel_genai_field(f, 'output_tokens', type='bigint') }}      as output_tokens,
        {{ otel_genai_field(f, 'cached_input_tokens', type='bigint') }} as cached_input_tokens,
        {{ otel_genai_field(f, 'cache_write_tokens', type='bigint') }}  as cache_write_tokens,
        {{ otel_genai_field(f, 'reasoning_tokens', type='bigint') }}    as reasoning_tokens,
        {{ otel_genai_field(f, 'service_tier') }}          as service_tier,
        {{ otel_genai_field(f, 'tool_name') }}             as tool_name,
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
