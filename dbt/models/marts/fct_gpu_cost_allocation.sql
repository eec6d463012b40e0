-- Owned GPU cost per day × cluster, split between the applications whose self-hosted requests
-- used it and an explicit 'unallocated idle' line for the GPU-hours in which no logged request ran.
-- Self-hosted query costs (fct_cost_per_query) are request shares of GPU-hours, so an hour with no
-- request reaches no query: without this line the queries' costs silently fall short of the GPUs'.
--   cluster   = the host's site (seed host_sites; 'default' for hosts missing from it). The seed has
--               no cluster key of its own; a site is the unit its cost assumptions (seed sites) price.
--   allocated = Σ over request × GPU-hour shares (int_self_hosted__gpu_hour_shares) of share × the
--               GPU-hour's cost lines, by the request's application: Σ = Σ self-hosted call cost_usd
--   unallocated idle = Σ cost lines of the GPU-hours no request has a share of, under the
--               application that owns the host (host_sites). Its cost_busy_usd is busy time no
--               request log accounts for (0 when those hours were truly idle).
-- Per day × cluster: Σ cost_usd (allocated + unallocated idle) = Σ fct_gpu_hours.cost_total_usd
-- (checked in tests/e2e and tests/collectors, not as a dbt data test: one that refs fct_gpu_hours is
-- picked by every build selecting it, e.g. `aispend whatif`, which does not rebuild this mart).
with gpu_hours as (

    select
        gpu_uuid,
        hour_at,
        cast(hour_at as date)                       as day,
        site                                        as cluster,
        coalesce(application, 'unattributed')       as owner_application,
        cost_total_usd,
        cost_busy_usd,
        cost_idle_usd,
        cost_unmeasured_usd
    from {{ ref('fct_gpu_hours') }}
    where cost_total_usd is not null

),

shares as (

    select * from {{ ref('int_self_hosted__gpu_hour_shares') }}
    where gpu_hour_share > 0

),

allocated as (

    select
        gpu_hours.day,
        gpu_hours.cluster,
        'allocated'                                     as allocation,
        coalesce(shares.application, 'unattributed')    as application,
        sum(shares.gpu_hour_share)                      as gpu_hours,
        count(distinct shares.request_id)               as requests,
        sum(shares.cost_usd)                            as cost_usd,
        sum(shares.cost_busy_usd)                       as cost_busy_usd,
        sum(shares.cost_idle_usd)                       as cost_idle_usd,
        sum(shares.cost_unmeasured_usd)                 as cost_unmeasured_usd
    from shares
    inner join gpu_hours
        on gpu_hours.gpu_uuid = shares.gpu_uuid
        and gpu_hours.hour_at = shares.hour_at
    group by gpu_hours.day, gpu_hours.cluster, coalesce(shares.application, 'unattributed')

),

unallocated as (

    select
        day,
        cluster,
        'unallocated idle'                              as allocation,
        owner_application                               as application,
        cast(count(*) as double)                        as gpu_hours,
        0                                               as requests,
        sum(cost_total_usd)                             as cost_usd,
        sum(cost_busy_usd)                              as cost_busy_usd,
        sum(cost_idle_usd)                              as cost_idle_usd,
        sum(cost_unmeasured_usd)                        as cost_unmeasured_usd
    from gpu_hours
    where not exists (
        select 1 from shares
        where shares.gpu_uuid = gpu_hours.gpu_uuid
          and shares.hour_at = gpu_hours.hour_at
    )
    group by day, cluster, owner_application

),

lines as (

    select * from allocated
    union all
    select * from unallocated

)

select
    day,
    cluster,
    allocation,
    application,
    cast(gpu_hours as double)                   as gpu_hours,
    cast(requests as bigint)                    as requests,
    cast(cost_usd as decimal(38, 10))           as cost_usd,
    cast(cost_busy_usd as decimal(38, 10))      as cost_busy_usd,
    cast(cost_idle_usd as decimal(38, 10))      as cost_idle_usd,
    cast(cost_unmeasured_usd as decimal(38, 10)) as cost_unmeasured_usd
from lines
