-- Computed LLM API cost (usage × list price) vs what the provider billed (OpenAI Costs API,
-- Anthropic cost_report), per day × provider × project/workspace × model (lower-case).
--   delta_usd = billed − computed; delta_pct = delta_usd / billed
--   flagged when either side is missing, usage is unpriced, or
--   |delta_usd| > reconciliation_min_delta_usd and |delta_pct| > reconciliation_tolerance_pct
--   gap_reason: the known structural gaps (seed llm_reconciliation_gaps) whose condition holds on
--   the row, '; '-joined in gap_code order; null when none applies.
with computed as (

    select
        usage_date                                                  as day,
        provider,
        account_id,
        -- web searches are billed without a model: reconcile them on a null model
        case when token_type = 'web_search' then null else lower(model) end as model,
        sum(cost_usd)                                               as computed_cost_usd,
        cast(sum(case when price_source = 'unpriced' then tokens else 0 end) as bigint) as unpriced_tokens,
        cast(sum(tokens) as bigint)                                 as tokens,
        bool_or(service_tier = 'priority')                          as has_priority_tier,
        bool_or(token_type = 'web_search')                          as has_web_search
    from {{ ref('int_llm_api_daily_cost') }}
    group by all

),

billed as (

    select cost_date as day, 'openai' as provider, project_id as account_id,
           line_item_model as model, sum(amount) as billed_cost_usd
    from {{ ref('stg_openai__costs') }}
    group by all
    union all
    select cost_date, 'anthropic', coalesce(workspace_id, 'default'),
           lower(model), sum(amount)
    from {{ ref('stg_anthropic__costs') }}
    group by all

),

joined as (

    select
        coalesce(computed.day, billed.day)                          as day,
        coalesce(computed.provider, billed.provider)                as provider,
        coalesce(computed.account_id, billed.account_id)            as account_id,
        coalesce(computed.model, billed.model)                      as model,
        computed.tokens,
        coalesce(computed.unpriced_tokens, 0)                       as unpriced_tokens,
        cast(computed.computed_cost_usd as decimal(38, 10))         as computed_cost_usd,
        cast(billed.billed_cost_usd as decimal(38, 10))             as billed_cost_usd,
        (computed.day is not null)                                  as has_usage,
        (billed.day is not null)                                    as has_bill,
        coalesce(computed.has_priority_tier, false)                 as has_priority_tier,
        coalesce(computed.has_web_search, false)                    as has_web_search
    from computed
    full outer join billed
        on billed.day = computed.day
        and billed.provider = computed.provider
        and billed.account_id = computed.account_id
        and billed.model is not distinct from computed.model

),

gap_conditions as (

    select
        *,
        day > max(day) over (partition by provider)
              - cast({{ threshold('reconciliation_finalisation_days') }} as integer) as is_recent
    from joined

),

-- one row per (reconciliation row, gap code) whose condition holds; codes of seed llm_reconciliation_gaps
gap_hits as (

    select day, provider, account_id, model, 'priority_tier_omitted' as gap_code
    from gap_conditions where has_priority_tier
    union all
    select day, provider, account_id, model, 'costs_by_line_item'
    from gap_conditions where provider = 'openai' and model is null and has_bill
    union all
    select day, provider, account_id, model, 'web_search_billed_separately'
    from gap_conditions where has_web_search
    union all
    select day, provider, account_id, model, 'not_finalised'
    from gap_conditions where is_recent

),

explained as (

    select
        gap_hits.day, gap_hits.provider, gap_hits.account_id, gap_hits.model,
        string_agg(gaps.gap_reason, '; ' order by gaps.gap_code)    as gap_reason
    from gap_hits
    inner join {{ ref('llm_reconciliation_gaps') }} as gaps
        on gaps.gap_code = gap_hits.gap_code
        and gaps.provider in (gap_hits.provider, '*')
    group by gap_hits.day, gap_hits.provider, gap_hits.account_id, gap_hits.model

),

reconciled as (

select
    joined.*,
    cast(coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0) as decimal(38, 10)) as delta_usd,
    (coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0)) / nullif(billed_cost_usd, 0) as delta_pct,
    case
        when unpriced_tokens > 0 then 'unpriced'
        when not has_bill then 'not_billed'
        when not has_usage then 'no_usage'
        when abs(coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0)) <= {{ threshold('reconciliation_min_delta_usd') }}
          or abs((coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0)) / nullif(billed_cost_usd, 0))
             <= {{ threshold('reconciliation_tolerance_pct') }} then 'match'
        when billed_cost_usd > computed_cost_usd then 'billed_more'
        else 'billed_less'
    end as status,
    (not has_bill or not has_usage or unpriced_tokens > 0
     or (abs(coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0)) > {{ threshold('reconciliation_min_delta_usd') }}
         and coalesce(abs((coalesce(billed_cost_usd, 0) - coalesce(computed_cost_usd, 0)) / nullif(billed_cost_usd, 0)), 1)
             > {{ threshold('reconciliation_tolerance_pct') }})) as is_flagged
from joined

)

select
    reconciled.* exclude (has_priority_tier, has_web_search),  -- EXCLUDE lists names, not references -- noqa: RF02
    explained.gap_reason
from reconciled
left join explained
    on explained.day = reconciled.day
    and explained.provider = reconciled.provider
    and explained.account_id = reconciled.account_id
    and explained.model is not distinct from reconciled.model
