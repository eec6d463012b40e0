-- Last week's flagged anomalies (the 7 days ending at the latest day with spend), worst first.
with bounds as (
    select max(day) as last_day from main.fct_cost_anomalies
)
select a.day, a.dimension, a.dimension_value, a.actual_cost_usd, a.expected_cost_usd,
       a.impact_usd, a.impact_pct, a.score, a.root_causes
from main.fct_cost_anomalies a, bounds b
where a.day > b.last_day - interval 7 day
order by a.impact_usd desc
limit ?
