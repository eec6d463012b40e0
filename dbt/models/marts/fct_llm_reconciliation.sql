-- Computed LLM API cost (usage × list price) vs what the provider billed (OpenAI Costs API,
-- Anthropic cost_report), per day × provider × project/workspace × model (lower-case).
--   delta_usd = billed − computed; delta_pct = delta_usd / billed
--   flagged when either side is missing, usage is unpriced, or
--   |delta_usd| > reconciliation_min_delta_usd and |delta_pct| > reconciliation_tolerance_pct
--   a project-day billed partly without a line item (OpenAI's ungrouped answer, 'unspecified') is
--   one row on a null model; with no project either, the provider's whole day is one row
--   (account_id and model null)
--   gap_reason: the known structural gaps (seed llm_reconciliation_gaps) whose condition holds on
--   the row, '; '-joined in gap_code order; null when none applies.
with computed_lines as (

    select
        usage_date                                                  as day,
        provider,
        account_id,
        -- tool calls are billed without a model: reconcile them on a null model
        case when token_type in ('web_search', 'file_search') then null else lower(model) end as model,
        cost_usd,
        case when price_source = 'unpriced' then tokens else 0 end  as unpriced_tokens,
        tokens,
        service_tier = 'priority'                                   as is_priority_tier,
        token_type in ('web_search', 'file_search')                 as is_tool_call
    from {{ ref('int_llm_api_daily_cost') }}

),

billed_lines as (

    select cost_date as day, 'openai' as provider, project_id as account_id,
           line_item_model as model, amount, line_item = 'unspecified' as is_unspecified
    from {{ ref('stg_openai__costs') }}
    union all
    select cost_date, 'anthropic', coalesce(workspace_id, 'default'),
           lower(model), amount, false
    from {{ ref('stg_anthropic__costs') }}

),

-- a bill without a line item (OpenAI's ungrouped answer) cannot be split by model: that
-- project-day — or, with no project either, the provider's whole day — is compared as a whole,
-- both sides rolled up to a null model (and a null account)
unspecified as (

    select distinct day, provider, account_id
    from billed_lines
    where is_unspecified

),
{% for side in ['computed', 'billed'] %}
{{ side }}_scoped as (

    select
        lines.*,
        (whole_day.day is not null or whole_account.day is not null) as is_rolled_up,
        case when whole_day.day is null then lines.account_id end  as scoped_account_id,
        case when whole_day.day is null and whole_account.day is null then lines.model end as scoped_model
    from {{ side }}_lines as lines
    left join unspecified as whole_day
        on whole_day.day = lines.day
        and whole_day.provider = lines.provider
        and whole_day.account_id is null
    left join unspecified as whole_account
        on whole_account.day = lines.day
        and whole_account.provider = lines.provider
        and whole_account.account_id = lines.account_id

),
{% endfor %}
computed as (

    select
        day,
        provider,
        scoped_account_id                                           as account_id,
        scoped_model                                                as model,
        sum(cost_usd)                                               as computed_cost_usd,
        cast(sum(unpriced_tokens) as bigint)                        as unpriced_tokens,
        cast(sum(tokens) as bigint)                                 as tokens,
        bool_or(is_priority_tier)                                   as has_priority_tier,
        bool_or(is_tool_call)                                       as has_web_search,
        bool_or(is_rolled_up)                                       as is_rolled_up
    from computed_scoped
    group by day, provider, scoped_account_id, scoped_model

),

billed as (

    select
        day,
        provider,
        scoped_account_id                                           as account_id,
        scoped_model                                                as model,
        sum(amount)                                                 as billed_cost_usd,
        bool_or(is_rolled_up)                                       as is_rolled_up
    from billed_scoped
    group by day, provider, scoped_account_id, scoped_model

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
        coalesce(computed.has_web_search, false)                    as has_web_search,
        coalesce(computed.is_rolled_up, billed.is_rolled_up, false) as is_rolled_up
    from computed
    full outer join billed
        on billed.day = computed.day
        and billed.provider = computed.provider
        and billed.account_id is not distinct from computed.account_id
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
    union all
    select day, provider, account_id, model, 'line_item_unspecified'
    from gap_conditions where is_rolled_up

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
    reconciled.* exclude (has_priority_tier, has_web_search, is_rolled_up),  -- EXCLUDE lists names, not references -- noqa: RF02
    explained.gap_reason
from reconciled
left join explained
    on explained.day = reconciled.day
    and explained.provider = reconciled.provider
    and explained.account_id is not distinct from reconciled.account_id
    and explained.model is not distinct from reconciled.model
