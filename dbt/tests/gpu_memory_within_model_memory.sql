{#- A GPU never reports more framebuffer than its model has (seed gpu_models.memory_gib, the largest
    variant of the pattern, + 2 % for rounding). More means a source's memory fields changed meaning:
    e.g. a DCGM-exporter version repeating the device's FB figures on every MIG instance, which the
    parser sums per instance (collectors/dcgm.py). Fails the build, so nothing is published. -#}
with per_gpu as (

    select
        gpu_uuid,
        gpu_name,
        max(coalesce(mem_total_bytes, mem_used_bytes)) as max_memory_bytes
    from {{ ref('stg_gpu_telemetry__samples') }}
    group by gpu_uuid, gpu_name

),

matched as (

    select
        per_gpu.*,
        gpu_models.gpu_model,
        gpu_models.memory_gib,
        row_number() over (
            partition by per_gpu.gpu_uuid, per_gpu.gpu_name order by length(gpu_models.nvml_name_pattern) desc
        ) as match_rank
    from per_gpu
    inner join {{ ref('gpu_models') }} as gpu_models
        on per_gpu.gpu_name like gpu_models.nvml_name_pattern

)

select
    gpu_uuid,
    gpu_name,
    gpu_model,
    memory_gib,
    max_memory_bytes / 1048576.0 as max_memory_mib
from matched
where match_rank = 1
  and memory_gib is not null
  and max_memory_bytes > memory_gib * 1073741824 * 1.02
