-- One row per day × dimension × value from the value's first day to the last day in the data,
-- zero-filled, so a trailing baseline sees the days a value had no spend.
with contributions as (

    select * from {{ ref('int_cost_anomaly__contributions') }}

),

daily as (

    select day, dimension, dimension_value, sum(cost_usd) as cost_usd
    from contributions
    group by all

),

series as (

    select dimension, dimension_value, min(day) as first_day
    from daily
    group by all

),

last_day as (

    select max(day) as last_day from daily

),

spine as (

    select
        series.dimension,
        series.dimension_value,
        cast(unnest(generate_series(series.first_day, last_day.last_day, interval 1 day)) as date) as day
    from series
    cross join last_day

)

select
    spine.day,
    spine.dimension,
    spine.dimension_value,
    cast(coalesce(daily.cost_usd, 0) as decimal(38, 10)) as cost_usd
from spine
left join daily
    on daily.day = spine.day
    and daily.dimension = spine.dimension
    and daily.dimension_value = spine.dimension_value
