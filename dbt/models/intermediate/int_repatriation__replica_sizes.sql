-- GPUs per serving replica for each model size class × GPU model that repatriation sizes on.
-- Owned GPUs serve a model in whole replicas: a replica must hold the weights and a KV cache, so a
-- 70B-class model needs several GPUs however light its traffic. Two sources:
--   self_hosted_logs : the organisation's own model servers (stg_self_hosted__requests.gpu_count),
--                      classed by model name against serving_throughput's explicit open-model
--                      patterns (the catch-all '%' row describes API models, not what a server
--                      runs) and by GPU model (fct_gpu_hours of the request's GPUs); the GPU count
--                      most requests of that class × GPU ran on (ties: the larger)
--   seed             : serving_replicas (weights + KV cache fitted in GPU memory)
-- A measured size wins: it is how the organisation really serves that class. Every size class ×
-- GPU model serving_throughput can size a workload on has a row, so a class the seed forgot shows
-- as a null gpus_per_replica (and fails its not_null test) instead of silently unsized workloads.
with requests as (

    select distinct
        requests.request_id,
        lower(requests.model)              as model_key,
        requests.model,
        greatest(requests.gpu_count, 1)    as gpu_count,
        gpus.gpu_model
    from {{ ref('stg_self_hosted__requests') }} as requests
    cross join lateral (select unnest(requests.gpu_uuids) as gpu_uuid) as gpu
    inner join (
        select distinct gpu_uuid, gpu_model from {{ ref('fct_gpu_hours') }} where gpu_model is not null
    ) as gpus
        on gpus.gpu_uuid = gpu.gpu_uuid

),

classed as (

    -- the longest matching pattern names the class
    select
        requests.request_id,
        requests.gpu_model,
        any_value(requests.gpu_count)                                                     as gpu_count,
        any_value(requests.model)                                                         as model,
        arg_max(serving_throughput.size_class, length(serving_throughput.model_pattern)) as size_class
    from requests
    inner join {{ ref('serving_throughput') }} as serving_throughput
        on requests.model_key like serving_throughput.model_pattern
        and serving_throughput.gpu_model = requests.gpu_model
    where serving_throughput.model_pattern <> '%'
    group by requests.request_id, requests.gpu_model

),

counted as (

    select size_class, gpu_model, gpu_count, count(*) as requests, min(model) as model
    from classed
    group by size_class, gpu_model, gpu_count

),

measured as (

    select
        size_class,
        gpu_model,
        gpu_count                                                  as gpus_per_replica,
        model,
        sum(requests) over (partition by size_class, gpu_model)    as measured_requests,
        row_number() over (partition by size_class, gpu_model order by requests desc, gpu_count desc) as rank_in_class
    from counted

),

classes as (

    select size_class, gpu_model from {{ ref('serving_throughput') }}
    union
    select size_class, gpu_model from {{ ref('serving_replicas') }}

)

select
    classes.size_class,
    classes.gpu_model,
    cast(coalesce(measured.gpus_per_replica, seed.gpus_per_replica) as integer) as gpus_per_replica,
    case when measured.gpus_per_replica is not null then 'self_hosted_logs'
         when seed.gpus_per_replica is not null then 'seed' end    as replica_size_source,
    cast(seed.gpus_per_replica as integer)                         as seed_gpus_per_replica,
    cast(measured.gpus_per_replica as integer)                     as measured_gpus_per_replica,
    cast(measured.measured_requests as bigint)                     as measured_requests,
    measured.model                                                 as measured_model,
    seed.model_memory_gb,
    seed.gpu_memory_gb
from classes
left join {{ ref('serving_replicas') }} as seed
    on seed.size_class = classes.size_class
    and seed.gpu_model = classes.gpu_model
left join (select * from measured where rank_in_class = 1) as measured
    on measured.size_class = classes.size_class
    and measured.gpu_model = classes.gpu_model
