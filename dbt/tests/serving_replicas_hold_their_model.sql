-- Every serving_replicas row must hold its model: gpus_per_replica × gpu_memory_gb × 0.9 (vLLM's
-- default gpu_memory_utilization: the rest is activations and the CUDA context) ≥ model_memory_gb.
-- (A class × GPU model that serving_throughput sizes on but this seed lacks fails the not_null test
-- of int_repatriation__replica_sizes.gpus_per_replica.)
select size_class, gpu_model,
       'replica memory ' || cast(gpus_per_replica * gpu_memory_gb * 0.9 as varchar)
       || ' GB < model ' || cast(model_memory_gb as varchar) || ' GB' as problem
from {{ ref('serving_replicas') }}
where gpus_per_replica * gpu_memory_gb * 0.9 < model_memory_gb
