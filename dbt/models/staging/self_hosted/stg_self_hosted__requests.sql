-- Model-server request log. gpu_uuids is a JSON array of the GPUs serving the request.
with source as (

    select * from {{ source('self_hosted', 'self_hosted_requests') }}

),

renamed as (

    select
        request_id,
        nullif(task_id, '')                                     as task_id,
        application,
        model,
        host,
        gpu_uuids                                               as gpu_uuids_json,
        cast(json_extract_string(coalesce(gpu_uuids, '[]'), '$[*]') as varchar[]) as gpu_uuids,
        coalesce(json_array_length(coalesce(gpu_uuids, '[]')), 0) as gpu_count,
        {{ utc('started_at') }}                                 as started_at,
        {{ utc('finished_at') }}                                as finished_at,
        coalesce(prompt_tokens, 0)                              as prompt_tokens,
        coalesce(completion_tokens, 0)                          as completion_tokens,
        status,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('started_at') }}
