-- One row per self-hosted model-server request, costed by its share of the GPU-hours serving it.
-- For each GPU × hour: share = work_s / Σ work_s of all requests started on that GPU in that hour,
-- work_s = (prompt_tokens / prefill_tokens_per_s + completion_tokens / decode_tokens_per_s)
--          / gpu_count  (serving_throughput, longest matching model pattern for the GPU model).
-- cost_usd = Σ over the request's GPUs of share × cost_total_usd of that GPU-hour (fully loaded:
-- capex, energy, facility, ops, idle time included). No GPU-hour data → null, 'unpriced'.
with requests as (

    select * from {{ ref('stg_self_hosted__requests') }}

),

request_gpus as (

    select
        request_id,
        {{ dbt.date_trunc('hour', 'started_at') }} as hour_at,
        unnest(gpu_uuids)                         as gpu_uuid,
        greatest(gpu_count, 1)                    as gpu_count,
        lower(model)                              as model_key,
        prompt_tokens,
        completion_tokens
    from requests

),

with_gpu_hour as (

    select
        request_gpus.*,
        gpu_hours.gpu_model,
        gpu_hours.cost_total_usd
    from request_gpus
    left join {{ ref('int_gpu_hours') }} as gpu_hours
        on gpu_hours.gpu_uuid = request_gpus.gpu_uuid
        and gpu_hours.hour_at = request_gpus.hour_at

),

throughput as (

    select
        with_gpu_hour.request_id,
        with_gpu_hour.gpu_uuid,
        serving_throughput.prefill_tokens_per_s,
        serving_throughput.decode_tokens_per_s,
        row_number() over (
            partition by with_gpu_hour.request_id, with_gpu_hour.gpu_uuid
            order by length(serving_throughput.model_pattern) desc
        ) as match_rank
    from with_gpu_hour
    inner join {{ ref('serving_throughput') }} as serving_throughput
        on serving_throughput.gpu_model = with_gpu_hour.gpu_model
        and with_gpu_hour.model_key like serving_throughput.model_pattern

),

work as (

    select
        with_gpu_hour.*,
        coalesce(
            (with_gpu_hour.prompt_tokens / throughput.prefill_tokens_per_s
             + with_gpu_hour.completion_tokens / throughput.decode_tokens_per_s),
            -- no throughput assumption: weigh by tokens
            cast(with_gpu_hour.prompt_tokens + with_gpu_hour.completion_tokens as double)
        ) / with_gpu_hour.gpu_count as work_s
    from with_gpu_hour
    left join throughput
        on throughput.request_id = with_gpu_hour.request_id
        and throughput.gpu_uuid = with_gpu_hour.gpu_uuid
        and throughput.match_rank = 1

),

shares as (

    select
        *,
        work_s / nullif(sum(work_s) over (partition by gpu_uuid, hour_at), 0) as gpu_hour_share
    from work

),

request_cost as (

    select
        request_id,
        sum(gpu_hour_share * cost_total_usd) as cost_usd,
        count(cost_total_usd)                as gpus_costed
    from shares
    group by request_id

)

select
    requests.request_id                                     as call_id,
    coalesce(requests.task_id, requests.request_id)         as task_id,
    cast(null as varchar)                                   as parent_id,
    cast(null as varchar)                                   as trace_id,
    cast(null as varchar)                                   as conversation_id,
    requests.started_at,
    requests.finished_at                                    as ended_at,
    'self_hosted'                                           as provider,
    requests.model,
    requests.prompt_tokens                                  as input_tokens,
    cast(0 as bigint)                                       as cached_input_tokens,
    cast(0 as bigint)                                       as cache_write_tokens,
    requests.completion_tokens                              as output_tokens,
    cast(0 as bigint)                                       as reasoning_tokens,
    false                                                   as is_batch,
    cast(null as varchar)                                   as service_tier,
    'self_hosted'                                           as serving,
    application_teams.team                                  as team,
    requests.application,
    cast(null as varchar)                                   as agent,
    case when requests.status = 'ok' then 'ok' else 'error' end as status,
    cast(null as integer)                                   as depth,
    case when coalesce(request_cost.gpus_costed, 0) > 0
         then cast(request_cost.cost_usd as decimal(38, 10)) end as cost_usd,
    case when coalesce(request_cost.gpus_costed, 0) > 0 then 'gpu_time' else 'unpriced' end as price_source,
    cast(null as varchar)                                   as price_model_id,
    'self_hosted_requests'                                  as source_table
from requests
left join request_cost
    on request_cost.request_id = requests.request_id
left join {{ ref('int_application_teams') }} as application_teams
    on application_teams.application = requests.application
