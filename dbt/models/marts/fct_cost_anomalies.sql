-- One row per flagged day × dimension value (dimensions: service, team, team_service).
--   expected_cost_usd = median of the trailing {{ var('anomaly_baseline_days') }} days (excluding the day)
--   scale             = max(1.4826 × MAD of those days, 5% of expected, $0.01)
--   score             = (actual − expected) / scale        (robust z-score)
--   impact_usd        = actual − expected; impact_pct = impact_usd / expected
--   flagged when baseline_days ≥ anomaly_min_history_days, score ≥ anomaly_score_threshold and
--   impact_usd ≥ anomaly_min_impact_usd, except the days after the onset of a level shift:
--   a day is not re-flagged when the previous day already scored ≥ the threshold and the
--   cost stayed within anomaly_level_shift_tolerance of it (the digest reports the onset, not
--   every day until the median catches up). root_causes names the sub-dimension values (team for a
--   service, service for a team, model/resource for a team_service) with the largest increase
--   over their own trailing mean.
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

),

sub_daily as (

    select
        *,
        coalesce(sum(cost_usd) over (
            partition by dimension, dimension_value, sub_dimension, sub_value
            order by day
            range between interval {{ n }} days preceding and interval 1 day preceding
        ), 0) / {{ n }}                                               as trailing_mean_usd
    from {{ ref('int_cost_anomaly__contributions') }}

),

sub_deltas as (

    select
        flagged.day,
        flagged.dimension,
        flagged.dimension_value,
        sub_daily.sub_dimension,
        sub_daily.sub_value,
        sub_daily.cost_usd - sub_daily.trailing_mean_usd              as delta_usd,
        row_number() over (
            partition by flagged.day, flagged.dimension, flagged.dimension_value
            order by sub_daily.cost_usd - sub_daily.trailing_mean_usd desc, sub_daily.sub_value
        )                                                             as delta_rank
    from flagged
    inner join sub_daily
        on sub_daily.day = flagged.day
        and sub_daily.dimension = flagged.dimension
        and sub_daily.dimension_value = flagged.dimension_value

),

root_causes as (

    select
        day,
        dimension,
        dimension_value,
        {{ dbt.listagg(
            "sub_dimension || ' ' || sub_value || ' +$' || cast(cast(round(delta_usd, 2) as decimal(38, 2)) as varchar)",
            "'; '",
            "order by delta_usd desc") }}                             as root_causes
    from sub_deltas
    where delta_rank <= 3 and delta_usd > 0
    group by all

)

select
    flagged.day,
    flagged.dimension,
    flagged.dimension_value,
    cast(flagged.cost_usd as decimal(38, 10))                         as actual_cost_usd,
    cast(flagged.expected_cost_usd as decimal(38, 10))                as expected_cost_usd,
    cast(flagged.impact_usd as decimal(38, 10))                       as impact_usd,
    flagged.impact_usd / nullif(flagged.expected_cost_usd, 0)        as impact_pct,
    flagged.score,
    flagged.baseline_days,
    root_causes.root_causes
from flagged
left join root_causes
    on root_causes.day = flagged.day
    and root_causes.dimension = flagged.dimension
    and root_causes.dimension_value = flagged.dimension_value
