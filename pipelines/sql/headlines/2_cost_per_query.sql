-- Top applications by cost per query: p50 / p95 / mean over all their queries.
select application, serving, count(*) as queries,
       round(quantile_cont(cost_usd, 0.5), 5) as p50_usd,
       round(quantile_cont(cost_usd, 0.95), 5) as p95_usd,
       round(avg(cost_usd), 5) as mean_usd,
       round(sum(cost_usd), 2) as total_usd
from main.fct_cost_per_query
where cost_usd is not null
group by all
order by p95_usd desc
limit 8
