-- Total spend by source type and month (billed and effective, USD).
select strftime(day, '%Y-%m') as month, source_type,
       round(sum(billed_cost), 2) as billed_usd, round(sum(effective_cost), 2) as effective_usd
from main.fct_daily_spend
group by all
order by month, source_type
