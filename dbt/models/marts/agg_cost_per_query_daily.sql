-- Cost per query per day × application × model (day = UTC date of the query's first call).
-- Cost statistics are over the priced queries (cost_usd known); unpriced ones are counted apart.
--   cost_per_1k_queries_usd      = total_cost_usd / priced_queries × 1000
--   p50 / p95 / p99              = percentile_cont over priced queries' cost_usd (interpolated in
--                                  double, rounded to 1e-10: decimal interpolation truncates)
--   *_busy_only_*                = the same over queries whose busy-only (marginal) cost is known:
--                                  the default to compare and rank by, because cost_usd of a
--                                  self-hosted query also carries its GPUs' idle time (total_cost_idle_usd)
--   week-on-week                 = the same application × model on the SAME WEEKDAY 7 days earlier
--                                  (weekly seasonality cancels out); change_pct = (now − then) / then
--   success_rate                 = successful_queries / queries_with_outcome
--   cost_per_successful_task_usd = Σ cost_usd of the priced queries with an outcome (failures
--                                  included: they were paid for) / successful ones among them
with queries as (

    select * from {{ ref('fct_cost_per_query') }}

),

daily as (

    select
        cast(started_at as date)                                        as day,
        coalesce(application, 'unattributed')                           as application,
        model,
        count(*)                                                        as queries,
        count(cost_usd)                                                 as priced_queries,
        count(*) - count(cost_usd)                                      as unpriced_queries,
        sum(cost_usd)                                                   as total_cost_usd,
        avg(cost_usd)                                                   as mean_cost_usd,
        percentile_cont(0.5) within group (order by cast(cost_usd as double))          as p50_cost_usd,
        percentile_cont(0.95) within group (order by cast(cost_usd as double))         as p95_cost_usd,
        percentile_cont(0.99) within group (order by cast(cost_usd as double))         as p99_cost_usd,
        count(cost_busy_only_usd)                                       as busy_only_queries,
        sum(cost_busy_only_usd)                                         as total_cost_busy_only_usd,
        avg(cost_busy_only_usd)                                         as mean_cost_busy_only_usd,
        percentile_cont(0.5) within group (order by cast(cost_busy_only_usd as double))  as p50_cost_busy_only_usd,
        percentile_cont(0.95) within group (order by cast(cost_busy_only_usd as double)) as p95_cost_busy_only_usd,
        percentile_cont(0.99) within group (order by cast(cost_busy_only_usd as double)) as p99_cost_busy_only_usd,
        sum(cost_idle_usd)                                              as total_cost_idle_usd,
        sum(cost_unmeasured_usd)                                        as total_cost_unmeasured_usd,
        avg(calls)                                                      as mean_calls,
        count(is_success)                                               as queries_with_outcome,
        count(*) filter (where is_success)                              as successful_queries,
        sum(cost_usd) filter (where is_success is not null)             as outcome_cost_usd,
        count(*) filter (where is_success and cost_usd is not null)     as priced_successful_queries
    from queries
    group by all

),

metrics as (

    select
        *,
        total_cost_usd * 1000.0 / nullif(priced_queries, 0)             as cost_per_1k_queries_usd,
        -- busy-only cost is unknown for unpriced queries and for those on unmeasured GPU seconds
        total_cost_busy_only_usd * 1000.0 / nullif(busy_only_queries, 0) as cost_per_1k_queries_busy_only_usd
    from daily

)

select
    now_.day,
    now_.application,
    now_.model,
    now_.queries,
    now_.priced_queries,
    now_.unpriced_queries,
    cast(now_.total_cost_usd as decimal(38, 10))                        as total_cost_usd,
    cast(now_.mean_cost_usd as decimal(38, 10))                         as mean_cost_usd,
    cast(round(now_.p50_cost_usd, 10) as decimal(38, 10))                          as p50_cost_usd,
    cast(round(now_.p95_cost_usd, 10) as decimal(38, 10))                          as p95_cost_usd,
    cast(round(now_.p99_cost_usd, 10) as decimal(38, 10))                          as p99_cost_usd,
    cast(now_.cost_per_1k_queries_usd as decimal(38, 10))               as cost_per_1k_queries_usd,
    cast(now_.total_cost_busy_only_usd as decimal(38, 10))              as total_cost_busy_only_usd,
    cast(now_.mean_cost_busy_only_usd as decimal(38, 10))               as mean_cost_busy_only_usd,
    cast(now_.cost_per_1k_queries_busy_only_usd as decimal(38, 10))     as cost_per_1k_queries_busy_only_usd,
    cast(round(now_.p50_cost_busy_only_usd, 10) as decimal(38, 10))     as p50_cost_busy_only_usd,
    cast(round(now_.p95_cost_busy_only_usd, 10) as decimal(38, 10))     as p95_cost_busy_only_usd,
    cast(round(now_.p99_cost_busy_only_usd, 10) as decimal(38, 10))     as p99_cost_busy_only_usd,
    cast(now_.total_cost_idle_usd as decimal(38, 10))                   as total_cost_idle_usd,
    cast(now_.total_cost_unmeasured_usd as decimal(38, 10))             as total_cost_unmeasured_usd,
    cast(now_.mean_calls as double)                                     as mean_calls,
    prev.queries                                                        as prev_week_queries,
    cast(prev.cost_per_1k_queries_usd as decimal(38, 10))               as prev_week_cost_per_1k_queries_usd,
    cast((now_.queries - prev.queries) * 1.0 / nullif(prev.queries, 0) as double) as queries_change_pct,
    cast((now_.cost_per_1k_queries_usd - prev.cost_per_1k_queries_usd)
         / nullif(prev.cost_per_1k_queries_usd, 0) as double)           as cost_per_1k_change_pct,
    now_.queries_with_outcome,
    now_.successful_queries,
    cast(now_.successful_queries * 1.0 / nullif(now_.queries_with_outcome, 0) as double) as success_rate,
    cast(now_.outcome_cost_usd / nullif(now_.priced_successful_queries, 0) as decimal(38, 10))
                                                                        as cost_per_successful_task_usd
from metrics as now_
left join metrics as prev
    on prev.application = now_.application
    and prev.model is not distinct from now_.model
    and prev.day = cast({{ dbt.dateadd('day', -7, 'now_.day') }} as date)
