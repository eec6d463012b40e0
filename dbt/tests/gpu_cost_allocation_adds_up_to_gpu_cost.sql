{#- Allocated + unallocated idle = the owned GPU cost, per day × cluster, to the cent: fails with the
    day × cluster rows that disagree (a GPU-hour dropped or counted twice by the allocation). -#}
with allocation as (
    select day, cluster, sum(cost_usd) as allocated_usd
    from {{ ref('fct_gpu_cost_allocation') }}
    group by day, cluster
),
gpu as (
    select cast(hour_at as date) as day, site as cluster, sum(cost_total_usd) as gpu_cost_usd
    from {{ ref('fct_gpu_hours') }}
    where cost_total_usd is not null
    group by cast(hour_at as date), site
)
select coalesce(gpu.day, allocation.day) as day, coalesce(gpu.cluster, allocation.cluster) as cluster,
       gpu.gpu_cost_usd, allocation.allocated_usd
from gpu
full outer join allocation
    on allocation.day = gpu.day
    and allocation.cluster = gpu.cluster
where abs(coalesce(gpu.gpu_cost_usd, 0) - coalesce(allocation.allocated_usd, 0)) >= 0.005
