-- The most expensive queries by busy-only (marginal) cost. Fully loaded cost and the idle GPU time
-- inside it are shown beside: ranking on fully loaded cost would put short chats of an idle GPU week
-- at the top.
select task_id, application, serving, calls,
       round(cost_busy_only_usd, 4) as busy_only_usd,
       round(cost_idle_usd, 4) as idle_usd,
       round(cost_usd, 4) as fully_loaded_usd,
       format('{:.1f} %', 100 * cost_idle_usd / nullif(cost_usd, 0)) as idle_share
from main.fct_cost_per_query
where cost_busy_only_usd is not null
order by cost_busy_only_usd desc, task_id
limit 10
