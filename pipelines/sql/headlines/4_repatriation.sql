-- Repatriation candidates: workloads whose steady API / cloud GPU spend would be cheaper on owned GPUs,
-- sized in whole serving replicas (replicas × GPUs per replica, and where that replica size comes from).
select workload_type, provider, model, application, verdict,
       round(monthly_cloud_cost_usd, 2) as monthly_cloud_usd,
       round(monthly_onprem_cost_usd, 2) as monthly_onprem_usd,
       replicas_needed as replicas, gpus_per_replica, gpus_needed, replica_size_source as replica_size_from,
       round(payback_months, 1) as payback_months,
       round(payback_months_throughput_minus20, 1) as payback_slow20,
       round(payback_months_price_minus20, 1) as payback_cheap20,
       round(tco_ratio, 2) as tco_ratio, round(score, 2) as score, reasons
from main.fct_repatriation_candidates
order by score desc nulls last
limit 8
