-- Daily effective cost per anomaly dimension value, split by the sub-dimension used to explain
-- an anomaly:  service → team,  team → service,  team_service ('team / service') → model or
-- resource. Source: focus_costs Usage lines whose charge period is at most one day (monthly
-- taxes, fees and credits dated at the period start are not daily signals). Nulls become
-- 'unattributed' / 'other'.
with focus as (

    select
        cast(ChargePeriodStart as date)            as day,
        ServiceName                                as service,
        coalesce(x_team, 'unattributed')           as team,
        coalesce(nullif(x_model, ''), nullif(ResourceId, ''), nullif(SkuMeter, ''), 'other') as resource,
        EffectiveCost                              as cost_usd
    from {{ ref('focus_costs') }}
    where ChargeCategory = 'Usage'
      and ChargePeriodEnd <= ChargePeriodStart + interval 1 day

),

exploded as (

    select day, 'service' as dimension, service as dimension_value,
           'team' as sub_dimension, team as sub_value, cost_usd
    from focus
    union all
    select day, 'team', team, 'service', service, cost_usd
    from focus
    union all
    select day, 'team_service', team || ' / ' || service, 'resource', resource, cost_usd
    from focus

)

select
    day,
    dimension,
    dimension_value,
    sub_dimension,
    sub_value,
    cast(sum(cost_usd) as decimal(38, 10)) as cost_usd
from exploded
group by all
