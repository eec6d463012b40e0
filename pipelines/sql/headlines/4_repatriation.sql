-- Repatriation candidates: workloads whose steady API / cloud GPU spend would be cheaper on owned GPUs.
select workload_type, provider, model, application, verdict,
       round(monthly_cloud_cost_usd, 2) as monthly_cloud_usd,
       round(monthly_onprem_cost_usd, 2) as monthly_onprem_usd,
       gpus_needed, round(payback_months, 1) as payback_months,
       round(payback_months_throughput_minus20, 1) as payback_slow20,
       round(payback_months_price_minus20, 1) as payback_cheap20,
       round(tco_ratio, 2) as tco_ratio, round(score, 2) as score, reasons
from main.fct_repatriation_candidates
order by score desc nulls last
limit 8
