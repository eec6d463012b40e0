-- One row per flagged day × dimension value (dimensions: service, team, team_service).
--   expected_cost_usd = median of the trailing {{ var('anomaly_baseline_days') }} days (excluding the day)
--   scale             = max(1.4826 × MAD of those days, 5% of expected, $0.01)
--   score             = (actual − expected) / scale        (robust z-score)
--   impact_usd        = actual − expected; impact_pct = impact_usd / expected
--   flagged when baseline_days ≥ anomaly_min_history_days, score ≥ anomaly_score_threshold and
--   impact_usd ≥ anomaly_min_impact_usd, except the days after the onset of a level shift:
--   a day is not re-flagged when the previous day already scored ≥ the threshold and the
--   cost stayed within anomaly_level_shift_tolerance of it (the digest reports the onset, not
--   every day until the median catches up) — int_cost_anomaly__flagged.
-- root_causes: the three sub-dimension values with the largest signed contribution to the impact
-- (fct_cost_anomaly_causes: team for a service, service for a team, model/resource for a
-- team_service), then 'other' for the rest when it is worth a cent, in cents, so the figures listed
-- add up to the impact (a rounding cent goes to the largest cause).
with flagged as (

    select * from {{ ref('int_cost_anomaly__flagged') }}

),

causes as (

    select * from {{ ref('fct_cost_anomaly_causes') }}

),

listed as (

    select
        day,
        dimension,
        dimension_value,
        cause_rank,
        sub_dimension || ' ' || sub_value                                  as label,
        contribution_usd,
        round(contribution_usd, 2)                                          as cents
    from causes
    where cause_rank <= 3

),

remainders as (

    -- what the three listed causes leave of the impact: a real 'other' when it is worth a cent,
    -- else only the rounding of the listed figures, which the largest cause absorbs so the cents
    -- shown still add up to the impact (largest-remainder rounding)
    select
        flagged.day,
        flagged.dimension,
        flagged.dimension_value,
        flagged.impact_usd - coalesce(sum(listed.contribution_usd), 0)     as rest_usd,
        round(flagged.impact_usd, 2) - coalesce(sum(listed.cents), 0)      as rest_cents
    from flagged
    left join listed
        on listed.day = flagged.day
        and listed.dimension = flagged.dimension
        and listed.dimension_value = flagged.dimension_value
    group by flagged.day, flagged.dimension, flagged.dimension_value, flagged.impact_usd

),

with_other as (

    select
        listed.day,
        listed.dimension,
        listed.dimension_value,
        listed.cause_rank,
        listed.label,
        listed.cents + case when listed.cause_rank = 1 and abs(remainders.rest_usd) < 0.005
                            then remainders.rest_cents else 0 end          as cents
    from listed
    inner join remainders
        on remainders.day = listed.day
        and remainders.dimension = listed.dimension
        and remainders.dimension_value = listed.dimension_value
    union all
    select day, dimension, dimension_value, 4 as cause_rank, 'other' as label, rest_cents as cents
    from remainders
    where abs(rest_usd) >= 0.005
       or not exists (
           select 1 from listed
           where listed.day = remainders.day
             and listed.dimension = remainders.dimension
             and listed.dimension_value = remainders.dimension_value
       )

),

root_causes as (

    select
        day,
        dimension,
        dimension_value,
        {{ dbt.listagg(
            "label || case when cents < 0 then ' -$' else ' +$' end
             || cast(cast(abs(cents) as decimal(38, 2)) as varchar)",
            "'; '",
            "order by cause_rank") }}                                       as root_causes
    from with_other
    where cents <> 0
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
