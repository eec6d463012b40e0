-- Every serving_replicas row must hold its model: gpus_per_replica × gpu_memory_gb × 0.9 (vLLM's
-- default gpu_memory_utilization: the rest is activations and the CUDA context) ≥ model_memory_gb;
-- and every size class × GPU model that serving_throughput can size a workload on has a row
-- (without one, its workloads get no replica size and stay 'insufficient data').
select size_class, gpu_model, 'replica memory ' || cast(gpus_per_replica * gpu_memory_gb * 0.9 as varchar)
       || ' GB < model ' || cast(model_memory_gb as varchar) || ' GB' as problem
from {{ ref('serving_replicas') }}
where gpus_per_replica * gpu_memory_gb * 0.9 < model_memory_gb
union all
select distinct t.size_class, t.gpu_model, 'serving_throughput size class without a serving_replicas row'
from {{ ref('serving_throughput') }} as t
left join {{ ref('serving_replicas') }} as r
    on r.size_class = t.size_class
    and r.gpu_model = t.gpu_model
where r.size_class is null
