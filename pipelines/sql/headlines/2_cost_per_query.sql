-- Top applications by cost per query: p50 / p95 / mean of the busy-only (marginal) cost, the figure
-- to compare by; a self-hosted query's fully loaded cost also carries its GPUs' idle time, shown
-- apart as idle_share (of the fully loaded total). Traced calls only: see the coverage headline.
select application, serving, count(*) as queries,
       round(quantile_cont(cost_busy_only_usd, 0.5), 5) as p50_usd,
       round(quantile_cont(cost_busy_only_usd, 0.95), 5) as p95_usd,
       round(avg(cost_busy_only_usd), 5) as mean_usd,
       round(sum(cost_busy_only_usd), 2) as total_usd,
       round(sum(cost_usd), 2) as fully_loaded_usd,
       format('{:.1f} %', 100 * sum(cost_idle_usd) / nullif(sum(cost_usd), 0)) as idle_share
from main.fct_cost_per_query
where cost_busy_only_usd is not null
group by all
order by p95_usd desc
limit 8
