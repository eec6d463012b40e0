-- Every day × dimension value scored against its baseline, and the flagged ones (see fct_cost_anomalies
-- for the formulas). One row per flagged day × dimension × value.
{%- set n = var('anomaly_baseline_days') %}
with daily as (

    select * from {{ ref('int_cost_anomaly__daily') }}

),

baselined as (

    select
        *,
        median(cost_usd) over baseline_window                                as expected_cost_usd,
        mad(cost_usd) over baseline_window                                   as mad_cost_usd,
        count(*) over baseline_window                                        as baseline_days
    from daily
    window baseline_window as (
        partition by dimension, dimension_value
        order by day
        rows between {{ n }} preceding and 1 preceding
    )

),

scored as (

    select
        *,
        cost_usd - expected_cost_usd                                  as impact_usd,
        (cost_usd - expected_cost_usd)
            / greatest(1.4826 * mad_cost_usd, 0.05 * abs(expected_cost_usd), 0.01) as score
    from baselined
    where expected_cost_usd is not null

),

with_previous as (

    select
        *,
        lag(score)    over (partition by dimension, dimension_value order by day) as previous_score,
        lag(cost_usd) over (partition by dimension, dimension_value order by day) as previous_cost_usd
    from scored

),

flagged as (

    select *
    from with_previous
    where baseline_days >= {{ threshold('anomaly_min_history_days') }}
      and score >= {{ threshold('anomaly_score_threshold') }}
      and impact_usd >= {{ threshold('anomaly_min_impact_usd') }}
      and not (
          coalesce(previous_score, 0) >= {{ threshold('anomaly_score_threshold') }}
          and abs(cost_usd - previous_cost_usd) <= {{ threshold('anomaly_level_shift_tolerance') }} * previous_cost_usd
      )

)

select
    day,
    dimension,
    dimension_value,
    cost_usd,
    expected_cost_usd,
    impact_usd,
    score,
    baseline_days
from flagged
