-- The flagged anomalies of one digest week [$1, $2] (dates, inclusive), worst first.
select a.day, a.dimension, a.dimension_value, a.actual_cost_usd, a.expected_cost_usd,
       a.impact_usd, a.impact_pct, a.score, a.root_causes
from main.fct_cost_anomalies as a
where a.day between ? and ?
order by a.impact_usd desc, a.day, a.dimension, a.dimension_value
limit ?
