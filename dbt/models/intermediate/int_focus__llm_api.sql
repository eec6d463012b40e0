-- LLM API token spend in FOCUS 1.2 columns: one line per day × provider × project/workspace ×
-- model × token type, computed from usage × list price as of that day (int_llm_api_daily_cost).
--   PricingQuantity = tokens / 1e6, PricingUnit '1000000 Tokens' (FOCUS UnitFormat <quantity> <unit>), ListUnitPrice = list USD per 1M tokens
--   ListCost = tokens × ListUnitPrice / 1e6; BilledCost = EffectiveCost = ListCost × batch factor
-- Unpriced lines (no list price for the model) are left out: they surface in
-- fct_llm_reconciliation, never as $0 spend.
with token_costs as (

    select * from {{ ref('int_llm_api_daily_cost') }}
    where price_source <> 'unpriced'

),

daily as (

    select
        usage_date,
        provider,
        account_id,
        model,
        token_type,
        max(price_model_id)          as price_model_id,
        max(price_valid_from_at)     as price_valid_from_at,
        max(list_usd_per_mtok)       as list_usd_per_mtok,
        sum(tokens)                  as tokens,
        sum(list_cost_usd)           as list_cost_usd,
        sum(cost_usd)                as cost_usd
    from token_costs
    group by usage_date, provider, account_id, model, token_type

),

enriched as (

    select
        daily.*,
        cast(daily.usage_date as timestamptz)                        as day_start_at,
        cast({{ dbt.date_trunc('month', 'daily.usage_date') }} as timestamptz) as month_start_at,
        case daily.provider when 'openai' then 'OpenAI' when 'anthropic' then 'Anthropic' else daily.provider end as provider_name,
        case daily.provider when 'openai' then 'Project' else 'Workspace' end as sub_account_type,
        service_map.service_category,
        service_map.service_subcategory,
        service_map.service_name,
        attribution.team,
        attribution.application
    from daily
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = daily.provider
        and service_map.service_code = 'api'
    left join {{ ref('account_attribution') }} as attribution
        on attribution.provider = daily.provider
        and attribution.account_id = daily.account_id

)

select
{{ focus_select({
    'BilledCost': 'cost_usd',
    'BillingAccountId': 'provider',
    'BillingAccountName': "provider_name || ' organization'",
    'BillingAccountType': "'Organization'",
    'BillingCurrency': "'USD'",
    'BillingPeriodEnd': 'month_start_at + interval 1 month',
    'BillingPeriodStart': 'month_start_at',
    'ChargeCategory': "'Usage'",
    'ChargeDescription': "model || ' ' || case when token_type = 'web_search' then 'web search requests' else replace(token_type, '_', ' ') || ' tokens' end",
    'ChargeFrequency': "'Usage-Based'",
    'ChargePeriodEnd': 'day_start_at + interval 1 day',
    'ChargePeriodStart': 'day_start_at',
    'ConsumedQuantity': 'tokens',
    'ConsumedUnit': "case when token_type = 'web_search' then 'Requests' else 'Tokens' end",
    'ContractedCost': 'cost_usd',
    'ContractedUnitPrice': 'cost_usd / nullif(tokens, 0) * 1000000',
    'EffectiveCost': 'cost_usd',
    'InvoiceIssuerName': 'provider_name',
    'ListCost': 'list_cost_usd',
    'ListUnitPrice': 'list_usd_per_mtok',
    'PricingCategory': "'Standard'",
    'PricingCurrency': "'USD'",
    'PricingCurrencyContractedUnitPrice': 'cost_usd / nullif(tokens, 0) * 1000000',
    'PricingCurrencyEffectiveCost': 'cost_usd',
    'PricingCurrencyListUnitPrice': 'list_usd_per_mtok',
    'PricingQuantity': 'tokens / 1000000.0',
    'PricingUnit': "case when token_type = 'web_search' then '1000000 Requests' else '1000000 Tokens' end",
    'ProviderName': 'provider_name',
    'PublisherName': 'provider_name',
    'ServiceCategory': "coalesce(service_category, 'AI and Machine Learning')",
    'ServiceName': 'coalesce(service_name, provider_name)',
    'ServiceSubcategory': "coalesce(service_subcategory, 'Generative AI')",
    'SkuId': "coalesce(price_model_id, model) || ':' || token_type",
    'SkuMeter': "case when token_type = 'web_search' then 'web search requests' else replace(token_type, '_', ' ') || ' tokens' end",
    'SkuPriceDetails': "json_object('genai_prices_model', price_model_id, 'price_valid_from', price_valid_from_at)",
    'SkuPriceId': "coalesce(price_model_id, model) || ':' || token_type || ':' || strftime(price_valid_from_at, '%Y-%m-%d')",
    'SubAccountId': 'account_id',
    'SubAccountName': 'account_id',
    'SubAccountType': 'sub_account_type',
    'x_line_id': surrogate_key(['usage_date', 'provider', 'account_id', 'model', 'token_type']),
    'x_source': "provider || '_usage'",
    'x_source_type': "'llm_api'",
    'x_team': 'team',
    'x_application': 'application',
    'x_model': 'model',
    'x_token_type': 'token_type',
    'x_price_source': "'list_price'",
}) }}
from enriched
