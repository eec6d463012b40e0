-- Owned GPUs in FOCUS 1.2 columns: amortised cost per day × host × GPU model (from int_gpu_hours).
--   BilledCost = EffectiveCost = Σ cost_total_usd of the GPU-hours; ConsumedQuantity = GPU-hours
--   ListUnitPrice = BilledCost / GPU-hours
-- Idle time is included: cost_total_usd charges every observed GPU-hour in full (capex, facility
-- and ops do not stop when the GPU idles); cost_idle_usd, the idle share of it, and
-- cost_unmeasured_usd, the part with no utilisation reading (neither busy nor idle), are reported in
-- SkuPriceDetails so those parts of an owned-GPU line are visible, never added twice.
with gpu_hours as (

    select * from {{ ref('int_gpu_hours') }}
    where cost_total_usd is not null

),

daily as (

    select
        cast(hour_at as date)                   as usage_date,
        host,
        site,
        gpu_model,
        max(team)                               as team,
        max(application)                        as application,
        count(distinct gpu_uuid)                as gpu_count,
        count(*)                                as gpu_hours,
        sum(cost_capex_usd)                     as cost_capex_usd,
        sum(cost_energy_usd)                    as cost_energy_usd,
        sum(cost_facility_usd)                  as cost_facility_usd,
        sum(cost_ops_usd)                       as cost_ops_usd,
        sum(cost_idle_usd)                      as cost_idle_usd,
        sum(cost_unmeasured_usd)                as cost_unmeasured_usd,
        sum(cost_total_usd)                     as cost_total_usd
    from gpu_hours
    group by cast(hour_at as date), host, site, gpu_model

),

enriched as (

    select
        daily.*,
        cast(daily.usage_date as timestamptz)                                   as day_start_at,
        cast({{ dbt.date_trunc('month', 'daily.usage_date') }} as timestamptz)  as month_start_at,
        service_map.service_category,
        service_map.service_subcategory,
        service_map.service_name
    from daily
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = 'onprem'
        and service_map.service_code = 'gpu'

)

select
{{ focus_select({
    'BilledCost': 'cost_total_usd',
    'BillingAccountId': "'onprem'",
    'BillingAccountName': "'On-premises'",
    'BillingAccountType': "'Internal'",
    'BillingCurrency': "'USD'",
    'BillingPeriodEnd': 'month_start_at + interval 1 month',
    'BillingPeriodStart': 'month_start_at',
    'ChargeCategory': "'Usage'",
    'ChargeDescription': "'Amortised owned GPU cost (capex, energy, facility, ops): ' || coalesce(gpu_model, 'unknown GPU') || ' on ' || host",
    'ChargeFrequency': "'Usage-Based'",
    'ChargePeriodEnd': 'day_start_at + interval 1 day',
    'ChargePeriodStart': 'day_start_at',
    'ConsumedQuantity': 'gpu_hours',
    'ConsumedUnit': "'GPU-Hours'",
    'ContractedCost': 'cost_total_usd',
    'ContractedUnitPrice': 'cost_total_usd / gpu_hours',
    'EffectiveCost': 'cost_total_usd',
    'InvoiceIssuerName': "'On-premises'",
    'ListCost': 'cost_total_usd',
    'ListUnitPrice': 'cost_total_usd / gpu_hours',
    'PricingCategory': "'Standard'",
    'PricingCurrency': "'USD'",
    'PricingCurrencyContractedUnitPrice': 'cost_total_usd / gpu_hours',
    'PricingCurrencyEffectiveCost': 'cost_total_usd',
    'PricingCurrencyListUnitPrice': 'cost_total_usd / gpu_hours',
    'PricingQuantity': 'gpu_hours',
    'PricingUnit': "'GPU-Hours'",
    'ProviderName': "'On-premises'",
    'PublisherName': "'On-premises'",
    'RegionId': 'site',
    'RegionName': 'site',
    'ResourceId': 'host',
    'ResourceName': 'host',
    'ResourceType': "'GPU server'",
    'ServiceCategory': "coalesce(service_category, 'Compute')",
    'ServiceName': "coalesce(service_name, 'On-premises GPU cluster')",
    'ServiceSubcategory': "coalesce(service_subcategory, 'Other (Compute)')",
    'SkuId': "'onprem-gpu:' || coalesce(gpu_model, 'unknown')",
    'SkuMeter': "'GPU-Hours'",
    'SkuPriceDetails': "json_object('cost_capex_usd', cost_capex_usd, 'cost_energy_usd', cost_energy_usd, 'cost_facility_usd', cost_facility_usd, 'cost_ops_usd', cost_ops_usd, 'cost_idle_usd', cost_idle_usd, 'cost_unmeasured_usd', cost_unmeasured_usd)",
    'SkuPriceId': "'onprem-gpu:' || coalesce(gpu_model, 'unknown') || ':' || site",
    'SubAccountId': 'site',
    'SubAccountName': 'site',
    'SubAccountType': "'Site'",
    'x_line_id': surrogate_key(['usage_date', 'host', 'gpu_model']),
    'x_source': "'gpu_samples'",
    'x_source_type': "'onprem_gpu'",
    'x_team': 'team',
    'x_application': 'application',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_price_source': "'amortised'",
}) }}
from enriched
