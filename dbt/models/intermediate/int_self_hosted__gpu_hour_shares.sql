-- One row per self-hosted model-server request × GPU-hour it ran in: the request's share of that
-- GPU-hour and that share of the hour's cost lines. Read by int_llm_calls__self_hosted (cost per
-- request) and fct_gpu_cost_allocation (GPU cost per application, and what no request used).
-- work_s = (prompt_tokens / prefill_tokens_per_s + completion_tokens / decode_tokens_per_s) / gpu_count
--          (serving_throughput, longest matching model pattern for the GPU model; else tokens).
-- A request spanning several hours puts work_s × overlap_s / duration_s into each GPU-hour it
-- overlaps (an instantaneous or unfinished request: all of it in its start hour).
-- gpu_hour_share = that weight / Σ weights of every request on that GPU in that hour; the cost
-- columns are gpu_hour_share × the GPU-hour's cost_total / busy / idle / unmeasured line.
-- A request on a GPU without telemetry for that hour keeps one row with null hour and costs.
with requests as (

    select * from {{ ref('stg_self_hosted__requests') }}

),

request_gpus as (

    select
        request_id,
        application,
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
        gpu_hours.cost_busy_usd,
        gpu_hours.cost_idle_usd,
        gpu_hours.cost_unmeasured_usd,
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
        -- no GPU-hour, no share (greatest/least skip the null hour, so overlap_fraction is not null)
        case when hour_at is not null
             then work_s / nullif(sum(work_s) over (partition by gpu_uuid, hour_at), 0) end as gpu_hour_share
    from work

)

select
    request_id,
    application,
    gpu_uuid,
    hour_at,
    work_s,
    gpu_hour_share,
    gpu_hour_share * cost_total_usd      as cost_usd,
    gpu_hour_share * cost_busy_usd       as cost_busy_usd,
    gpu_hour_share * cost_idle_usd       as cost_idle_usd,
    gpu_hour_share * cost_unmeasured_usd as cost_unmeasured_usd
from shares
