-- Cost per query per day × application × model (day of the query's first call, UTC).
-- Percentiles over queries with a known cost; unpriced queries are counted separately.
with queries as (

    select * from {{ ref('fct_cost_per_query') }}

)

select
    cast(started_at as date)                                        as day,
    coalesce(application, 'unattributed')                           as application,
    model,
    count(*)                                                        as queries,
    count(cost_usd)                                                 as priced_queries,
    count(*) - count(cost_usd)                                      as unpriced_queries,
    cast(sum(cost_usd) as decimal(38, 10))                          as total_cost_usd,
    cast(avg(cost_usd) as decimal(38, 10))                          as mean_cost_usd,
    cast(percentile_cont(0.5) within group (order by cost_usd) as decimal(38, 10))  as p50_cost_usd,
    cast(percentile_cont(0.95) within group (order by cost_usd) as decimal(38, 10)) as p95_cost_usd,
    avg(calls)                                                      as mean_calls
from queries
group by all
