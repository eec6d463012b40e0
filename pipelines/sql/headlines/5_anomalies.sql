-- Last week's flagged anomalies (7 days to the latest day), biggest impact first.
with bounds as (select max(day) as last_day from main.fct_cost_anomalies)
select a.day, a.dimension, a.dimension_value, round(a.actual_cost_usd, 2) as actual_usd,
       round(a.expected_cost_usd, 2) as expected_usd, round(a.impact_usd, 2) as impact_usd,
       round(a.score, 1) as score, a.root_causes
from main.fct_cost_anomalies a, bounds b
where a.day > b.last_day - interval 7 day
order by a.impact_usd desc
limit 8
