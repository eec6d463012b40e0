-- One row per self-hosted model-server request, costed by its share of the GPU-hours serving it
-- (shares and the split of a request's work over hours and GPUs: int_self_hosted__gpu_hour_shares).
-- cost_usd            = Σ share × cost_total_usd   (fully loaded: the GPU-hour's idle time is spread
--                                                   over the requests that ran in it)
-- cost_busy_only_usd  = Σ share × cost_busy_usd    (only the busy share); null when any of its
--                       GPU-hours has seconds without a busy reading: the marginal cost is unknown
--                       there, and unknown must not read as busy or idle
-- cost_unmeasured_usd = Σ share × cost_unmeasured_usd (the part of cost_usd on such seconds)
-- No GPU-hour data → null, 'unpriced'.
with requests as (

    select * from {{ ref('stg_self_hosted__requests') }}

),

request_cost as (

    select
        request_id,
        sum(cost_usd)                                          as cost_usd,
        sum(cost_busy_usd)                                     as cost_busy_only_usd,
        sum(cost_unmeasured_usd)                               as cost_unmeasured_usd,
        count(cost_usd)                                        as gpus_costed
    from {{ ref('int_self_hosted__gpu_hour_shares') }}
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
    -- native 'ok'; vLLM's finish reasons 'stop' / 'length' are answers too ('abort' is not)
    case when lower(requests.status) in ('ok', 'stop', 'length') then 'ok' else 'error' end as status,
    cast(null as integer)                                   as depth,
    case when coalesce(request_cost.gpus_costed, 0) > 0
         then cast(request_cost.cost_usd as decimal(38, 10)) end as cost_usd,
    case when coalesce(request_cost.gpus_costed, 0) > 0 then 'gpu_time' else 'unpriced' end as price_source,
    cast(null as varchar)                                   as price_model_id,
    'self_hosted_requests'                                  as source_table,
    case when coalesce(request_cost.gpus_costed, 0) > 0 and request_cost.cost_unmeasured_usd = 0
         then cast(request_cost.cost_busy_only_usd as decimal(38, 10)) end as cost_busy_only_usd,
    case when coalesce(request_cost.gpus_costed, 0) > 0
         then cast(request_cost.cost_unmeasured_usd as decimal(38, 10)) end as cost_unmeasured_usd,
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
