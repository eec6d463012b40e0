-- One row per flagged anomaly (fct_cost_anomalies) × sub-dimension value: what each value added to
-- or took from the anomaly's impact. Sub-dimension: team for a service, service for a team,
-- model/resource for a team_service (int_cost_anomaly__contributions).
--   actual_cost_usd   = the value's cost on the anomaly day
--   expected_cost_usd = the anomaly's expected cost × the value's share of the trailing
--                       anomaly_baseline_days days (equal shares when that window has no cost)
--   contribution_usd  = actual − expected, signed
-- So Σ actual = the anomaly's actual, Σ expected = its expected and Σ contribution_usd = its
-- impact_usd: the causes explain exactly the impact, never more (a value that shrank offsets).
{%- set n = var('anomaly_baseline_days') %}
with flagged as (

    select * from {{ ref('int_cost_anomaly__flagged') }}

),

windowed as (

    select
        flagged.day,
        flagged.dimension,
        flagged.dimension_value,
        contributions.sub_dimension,
        contributions.sub_value,
        sum(case when contributions.day = flagged.day then contributions.cost_usd else 0 end) as actual_usd,
        sum(case when contributions.day < flagged.day then contributions.cost_usd else 0 end) as baseline_usd
    from flagged
    inner join {{ ref('int_cost_anomaly__contributions') }} as contributions
        on contributions.dimension = flagged.dimension
        and contributions.dimension_value = flagged.dimension_value
        and contributions.day >= {{ dbt.dateadd('day', -n, 'flagged.day') }}
        and contributions.day <= flagged.day
    group by all

),

shared as (

    select
        windowed.*,
        flagged.expected_cost_usd,
        flagged.impact_usd                                                          as anomaly_impact_usd,
        sum(windowed.baseline_usd) over anomaly                                     as anomaly_baseline_usd,
        count(*) over anomaly                                                       as sub_values
    from windowed
    inner join flagged
        on flagged.day = windowed.day
        and flagged.dimension = windowed.dimension
        and flagged.dimension_value = windowed.dimension_value
    window anomaly as (partition by windowed.day, windowed.dimension, windowed.dimension_value)

),

expected as (

    select
        *,
        expected_cost_usd * case when anomaly_baseline_usd <> 0 then baseline_usd / anomaly_baseline_usd
                                 else 1.0 / sub_values end                           as sub_expected_usd
    from shared

)

select
    day,
    dimension,
    dimension_value,
    sub_dimension,
    sub_value,
    cast(actual_usd as decimal(38, 10))                                             as actual_cost_usd,
    cast(sub_expected_usd as decimal(38, 10))                                       as expected_cost_usd,
    cast(actual_usd - sub_expected_usd as decimal(38, 10))                          as contribution_usd,
    cast((actual_usd - sub_expected_usd) / nullif(anomaly_impact_usd, 0) as double) as share_of_impact,
    cast(row_number() over (
        partition by day, dimension, dimension_value
        order by abs(actual_usd - sub_expected_usd) desc, sub_value
    ) as integer)                                                                   as cause_rank
from expected
