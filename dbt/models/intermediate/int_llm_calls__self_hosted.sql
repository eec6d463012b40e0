-- One row per self-hosted model-server request, costed by its share of the GPU-hours serving it.
-- work_s = (prompt_tokens / prefill_tokens_per_s + completion_tokens / decode_tokens_per_s) / gpu_count
--          (serving_throughput, longest matching model pattern for the GPU model; else tokens).
-- A request spanning several hours puts work_s × overlap_s / duration_s into each GPU-hour it
-- overlaps (an instantaneous or unfinished request: all of it in its start hour).
-- share of a GPU-hour = that weight / Σ weights of every request on that GPU in that hour.
-- cost_usd           = Σ share × cost_total_usd   (fully loaded: the GPU-hour's idle time is spread
--                                                  over the requests that ran in it)
-- cost_busy_only_usd = Σ share × (cost_total_usd − cost_idle_usd)   (only the busy share)
-- No GPU-hour data → null, 'unpriced'.
with requests as (

    select * from {{ ref('stg_self_hosted__requests') }}

),

request_gpus as (

    select
        request_id,
        started_at,
        case when finished_at > started_at then finished_at
             else {{ dbt.dateadd('millisecond', 1, 'started_at') }} end as span_end_at,
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
        gpu_hours.hour_at,
        gpu_hours.gpu_model,
        gpu_hours.cost_total_usd,
        gpu_hours.cost_idle_usd,
        {{ dbt.datediff(
            'greatest(request_gpus.started_at, gpu_hours.hour_at)',
            'least(request_gpus.span_end_at, ' ~ dbt.dateadd('hour', 1, 'gpu_hours.hour_at') ~ ')',
            'millisecond') }}
        / nullif({{ dbt.datediff('request_gpus.started_at', 'request_gpus.span_end_at', 'millisecond') }}, 0)
            as overlap_fraction
    from request_gpus
    left join {{ ref('int_gpu_hours') }} as gpu_hours
        on gpu_hours.gpu_uuid = request_gpus.gpu_uuid
        and gpu_hours.hour_at < request_gpus.span_end_at
        and {{ dbt.dateadd('hour', 1, 'gpu_hours.hour_at') }} > request_gpus.started_at

),

throughput as (

    select
        with_gpu_hour.request_id,
        with_gpu_hour.gpu_uuid,
        with_gpu_hour.hour_at,
        serving_throughput.prefill_tokens_per_s,
        serving_throughput.decode_tokens_per_s,
        row_number() over (
            partition by with_gpu_hour.request_id, with_gpu_hour.gpu_uuid, with_gpu_hour.hour_at
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
        ) / with_gpu_hour.gpu_count * with_gpu_hour.overlap_fraction as work_s
    from with_gpu_hour
    left join throughput
        on throughput.request_id = with_gpu_hour.request_id
        and throughput.gpu_uuid = with_gpu_hour.gpu_uuid
        and throughput.hour_at = with_gpu_hour.hour_at
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
        sum(gpu_hour_share * cost_total_usd)                   as cost_usd,
        sum(gpu_hour_share * (cost_total_usd - cost_idle_usd)) as cost_busy_only_usd,
        count(cost_total_usd)                                  as gpus_costed
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
    'self_hosted_requests'                                  as source_table,
    case when coalesce(request_cost.gpus_costed, 0) > 0
         then cast(request_cost.cost_busy_only_usd as decimal(38, 10)) end as cost_busy_only_usd,
    cast(null as bigint)                                    as call_count,
    cast(null as bigint)                                    as tool_calls,
    cast(null as decimal(38, 10))                           as recorded_cost_usd,
    cast(null as double)                                    as outcome_reward,
    cast(null as varchar)                                   as response_id
from requests
left join request_cost
    on request_cost.request_id = requests.request_id
left join {{ ref('int_application_teams') }} as application_teams
    on application_teams.application = requests.application
