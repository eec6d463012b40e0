-- How much of what was spent the per-call data covers, per day × application. Cost per query
-- (fct_cost_per_query, agg_cost_per_query_daily) only sees calls that were traced or logged one by
-- one; a provider bill also holds untraced traffic, and owned GPUs also cost for hours no request
-- used. Read this beside any cost-per-query figure.
--   traced_api_cost_usd     = Σ cost_usd of priced API calls in fct_llm_calls (UTC day of the call)
--   billed_api_cost_usd     = Σ billed_cost_usd of fct_llm_reconciliation (OpenAI Costs API,
--                             Anthropic cost_report) of the accounts seed account_attribution maps
--                             to the application; null when the providers billed nothing that day
--   api_coverage_pct        = traced_api_cost_usd / billed_api_cost_usd (a fraction)
--   traced_self_hosted_cost_usd = allocated lines of fct_gpu_cost_allocation (= self-hosted call cost)
--   self_hosted_gpu_cost_usd    = allocated + unallocated idle lines of the application: the owned GPU
--                             cost of the hosts it runs on or owns
--   self_hosted_coverage_pct = traced_self_hosted_cost_usd / self_hosted_gpu_cost_usd
--   coverage_pct            = (traced API + traced self-hosted) / (billed API + self-hosted GPU cost)
-- Accounts and calls without an application are 'unattributed'.
with traced as (

    select
        cast(started_at as date)                                        as day,
        coalesce(application, 'unattributed')                           as application,
        sum(call_count)                                                 as traced_api_calls,
        sum(case when is_unpriced then call_count else 0 end)           as unpriced_api_calls,
        sum(cost_usd)                                                   as traced_api_cost_usd
    from {{ ref('fct_llm_calls') }}
    where serving = 'api'
    group by cast(started_at as date), coalesce(application, 'unattributed')

),

billed as (

    select
        reconciliation.day,
        coalesce(attribution.application, 'unattributed')               as application,
        sum(reconciliation.billed_cost_usd)                             as billed_api_cost_usd
    from {{ ref('fct_llm_reconciliation') }} as reconciliation
    left join {{ ref('account_attribution') }} as attribution
        on attribution.provider = reconciliation.provider
        and attribution.account_id = reconciliation.account_id
    where reconciliation.billed_cost_usd is not null
    group by reconciliation.day, coalesce(attribution.application, 'unattributed')

),

self_hosted as (

    select
        day,
        application,
        sum(case when allocation = 'allocated' then cost_usd else 0 end) as traced_self_hosted_cost_usd,
        sum(cost_usd)                                                   as self_hosted_gpu_cost_usd
    from {{ ref('fct_gpu_cost_allocation') }}
    group by day, application

),

keys as (

    select day, application from traced
    union
    select day, application from billed
    union
    select day, application from self_hosted

),

joined as (

    select
        keys.day,
        keys.application,
        coalesce(traced.traced_api_calls, 0)                            as traced_api_calls,
        coalesce(traced.unpriced_api_calls, 0)                          as unpriced_api_calls,
        coalesce(traced.traced_api_cost_usd, 0)                         as traced_api_cost_usd,
        billed.billed_api_cost_usd,
        coalesce(self_hosted.traced_self_hosted_cost_usd, 0)            as traced_self_hosted_cost_usd,
        self_hosted.self_hosted_gpu_cost_usd
    from keys
    left join traced
        on traced.day = keys.day and traced.application = keys.application
    left join billed
        on billed.day = keys.day and billed.application = keys.application
    left join self_hosted
        on self_hosted.day = keys.day and self_hosted.application = keys.application

)

select
    day,
    application,
    cast(traced_api_calls as bigint)                                    as traced_api_calls,
    cast(unpriced_api_calls as bigint)                                  as unpriced_api_calls,
    cast(traced_api_cost_usd as decimal(38, 10))                        as traced_api_cost_usd,
    cast(billed_api_cost_usd as decimal(38, 10))                        as billed_api_cost_usd,
    cast(traced_api_cost_usd / nullif(billed_api_cost_usd, 0) as double) as api_coverage_pct,
    cast(traced_self_hosted_cost_usd as decimal(38, 10))                as traced_self_hosted_cost_usd,
    cast(self_hosted_gpu_cost_usd as decimal(38, 10))                   as self_hosted_gpu_cost_usd,
    cast(traced_self_hosted_cost_usd / nullif(self_hosted_gpu_cost_usd, 0) as double) as self_hosted_coverage_pct,
    cast(traced_api_cost_usd + traced_self_hosted_cost_usd as decimal(38, 10)) as traced_cost_usd,
    cast(coalesce(billed_api_cost_usd, 0) + coalesce(self_hosted_gpu_cost_usd, 0) as decimal(38, 10)) as spend_usd,
    cast((traced_api_cost_usd + traced_self_hosted_cost_usd)
         / nullif(coalesce(billed_api_cost_usd, 0) + coalesce(self_hosted_gpu_cost_usd, 0), 0) as double) as coverage_pct
from joined
