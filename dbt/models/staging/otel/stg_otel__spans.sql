-- OTel spans with the GenAI fields pulled out of the OTLP attribute lists the raw zone keeps as
-- given (JSON extraction by key: a cast). Which attribute feeds which field (current OTel GenAI
-- names, deprecated ones, OpenLLMetry's, OpenInference) is data: the otel_genai_attributes seed,
-- first attribute present wins. Input tokens INCLUDE cache reads and writes and output tokens
-- INCLUDE reasoning in every one of those conventions (the seed's `semantics`); total and audio
-- counts are kept to check that (dbt test otel_token_counts_keep_their_identities), not priced.
-- depends_on: {{ ref('otel_genai_attributes') }}
{%- set f = otel_genai_attribute_map() %}
{%- set span_keys = otel_genai_attribute_names(f) + ['error.type'] %}
{%- set resource_keys = ['app.name', 'service.name', 'team'] %}
with source as (

    select
        *,
        {{ otel_attr_entries('attributes', span_keys) }}              as attr_entries,
        {{ otel_attr_entries('resource_attributes', resource_keys) }} as res_entries
    from {{ source('otel', 'otel_spans') }}

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
        {{ otel_genai_field(f, 'total_tokens', type='bigint') }}        as total_tokens,
        {{ otel_genai_field(f, 'input_audio_tokens', type='bigint') }}  as input_audio_tokens,
        {{ otel_genai_field(f, 'output_audio_tokens', type='bigint') }} as output_audio_tokens,
        {{ otel_genai_field(f, 'service_tier') }}          as service_tier,
        {{ otel_genai_field(f, 'tool_name') }}             as tool_name,
        {{ otel_attr('attr_entries', 'attributes', 'error.type') }} as error_type,
        -- application: app.name if set, else the OTel service.name of the emitting app
        coalesce({{ otel_attr('res_entries', 'resource_attributes', 'app.name') }},
                 {{ otel_attr('res_entries', 'resource_attributes', 'service.name') }},
                 service_name)                                  as application,
        {{ otel_attr('res_entries', 'resource_attributes', 'team') }} as team,
        attributes                                              as attributes_json,
        resource_attributes                                     as resource_attributes_json,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('started_at') }}
