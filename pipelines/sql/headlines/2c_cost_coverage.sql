-- How much of the spend cost per query sees, per application over the whole period: traced API
-- call cost ÷ the provider-billed cost of its accounts, and self-hosted request cost ÷ the owned
-- GPU cost of its hosts (the rest is the unallocated idle line of fct_gpu_cost_allocation).
select application,
       round(sum(traced_api_cost_usd), 2) as traced_api_usd,
       round(sum(billed_api_cost_usd), 2) as billed_api_usd,
       format('{:.1f} %', 100 * sum(traced_api_cost_usd) / nullif(sum(billed_api_cost_usd), 0)) as api_coverage,
       round(sum(traced_self_hosted_cost_usd), 2) as traced_self_hosted_usd,
       round(sum(self_hosted_gpu_cost_usd), 2) as gpu_cost_usd,
       format('{:.1f} %', 100 * sum(traced_self_hosted_cost_usd) / nullif(sum(self_hosted_gpu_cost_usd), 0))
           as self_hosted_coverage,
       format('{:.1f} %', 100 * sum(traced_cost_usd) / nullif(sum(spend_usd), 0)) as coverage
from main.agg_cost_coverage_daily
group by application
order by application
