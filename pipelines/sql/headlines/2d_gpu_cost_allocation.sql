-- Owned GPU cost per cluster: allocated to the applications whose requests used it, and the
-- unallocated idle GPU-hours no request ran in. allocated + unallocated = the GPUs' cost.
select cluster, allocation, application,
       round(sum(gpu_hours), 1) as gpu_hours,
       round(sum(cost_usd), 2) as cost_usd,
       round(sum(cost_idle_usd), 2) as idle_usd,
       round(sum(cost_unmeasured_usd), 2) as unmeasured_usd
from main.fct_gpu_cost_allocation
group by all
order by cluster, allocation, application
