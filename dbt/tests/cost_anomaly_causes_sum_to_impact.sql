-- Every flagged anomaly's causes add up to its impact (to the cent): the digest's root causes
-- explain exactly the impact, never more.
select
    anomalies.day,
    anomalies.dimension,
    anomalies.dimension_value,
    anomalies.impact_usd,
    sum(causes.contribution_usd) as contributions_usd
from {{ ref('fct_cost_anomalies') }} as anomalies
left join {{ ref('fct_cost_anomaly_causes') }} as causes
    on causes.day = anomalies.day
    and causes.dimension = anomalies.dimension
    and causes.dimension_value = anomalies.dimension_value
group by all
having abs(coalesce(sum(causes.contribution_usd), 0) - anomalies.impact_usd) >= 0.005
