-- Daily spend per source type × provider × service × team × application × model, from focus_costs.
-- day = the UTC date of ChargePeriodStart.
with focus as (

    select * from {{ ref('focus_costs') }}

)

select
    cast(ChargePeriodStart as date)              as day,
    x_source_type                                as source_type,
    ProviderName                                 as provider,
    ServiceCategory                              as service_category,
    ServiceName                                  as service_name,
    coalesce(x_team, 'unattributed')             as team,
    coalesce(x_application, 'unattributed')      as application,
    x_model                                      as model,
    cast(sum(BilledCost) as decimal(38, 10))     as billed_cost,
    cast(sum(EffectiveCost) as decimal(38, 10))  as effective_cost,
    cast(sum(ListCost) as decimal(38, 10))       as list_cost,
    count(*)                                     as focus_lines
from focus
group by all
