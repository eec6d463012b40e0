-- A view, not a table: focus_costs is its only reader, so materialising it would write every CUR
-- line twice (5M lines: ~8 s and a second copy on disk); its keys are tested there (x_line_id).
{{ config(materialized='view') }}
-- AWS CUR 2.0 line items in FOCUS 1.2 columns. Costs per line_item_line_item_type (FOCUS 1.2
-- BilledCost / EffectiveCost / ListCost / ContractedCost; the commitment rules EffectiveCost-C-005,
-- -C-012, -C-013):
--   type                     BilledCost   EffectiveCost                 ListCost          ContractedCost
--   Usage, Tax, Credit, Fee… unblended    unblended                     public on-demand  unblended
--   DiscountedUsage (RI)     0            reservation_effective_cost    public on-demand  public on-demand
--   SavingsPlanCoveredUsage  0            savings_plan_effective_cost   public on-demand  unblended
--   SavingsPlanNegation      0            0                             0                 0
--   SavingsPlanRecurringFee, RIFee,
--   SavingsPlanUpfrontFee, an RI's upfront Fee
--                            unblended    0 (a purchase covering future usage)  unblended  unblended
-- plus, per recurring fee with unused commitment, one derived Usage line (CommitmentDiscountStatus
-- 'Unused', BilledCost 0) whose EffectiveCost is the unused part: SP total_commitment_to_date −
-- used_commitment; RI unused amortised upfront + unused recurring fee. So per commitment
-- Σ EffectiveCost of its Usage lines (used + unused) = Σ BilledCost of its purchases.
-- Covered usage carries the on-demand cost in unblended and the negation line takes it back, so
-- BilledCost 0 on both keeps Σ BilledCost = Σ unblended = the invoice.
-- InvoiceIssuerName is 'AWS', as ProviderName: AWS invoices Marketplace charges too (the seller is the
-- publisher); FOCUS requires BilledCost 0 when a third party is paid.
-- Bedrock token usage types ('USE1-Llama3-1-70B-input-tokens') give x_model and x_token_type.
with cur as (

    select * from {{ ref('stg_aws__cur') }}

),

-- team / application per distinct tag set (a few thousand at most, against millions of lines):
-- the tag-key lookup is a correlated subquery, cheap on the distinct sets, costly per line.
-- Reads the staging model directly, not `cur`: a CTE read twice is materialised whole.
tag_sets as (

    select
        tags.resource_tags_json,
        {{ tag_value('tags.resource_tags_json', 'aws', 'team') }}        as tag_team,
        {{ tag_value('tags.resource_tags_json', 'aws', 'application') }} as tag_application
    from (select distinct resource_tags_json from {{ ref('stg_aws__cur') }}) as tags

),

enriched as (

    select
        cur.*,
        charge_map.charge_category,
        nullif(charge_map.charge_class, '')                     as charge_class,
        charge_map.charge_frequency,
        coalesce(service_map.service_category, 'Other')         as service_category,
        coalesce(service_map.service_subcategory, 'Other')      as service_subcategory,
        coalesce(service_map.service_name, cur.product_code)    as service_name,
        gpu_instances.gpu_model,
        gpu_instances.gpu_count,
        coalesce(unit_map.focus_unit, cur.pricing_unit)         as focus_unit,
        nullif(cur.sku, '')                                     as sku_id,
        tag_sets.tag_team,
        tag_sets.tag_application,
        nullif(regexp_extract(cur.usage_type, '^[A-Za-z0-9]+-(.+)-(input|output)-tokens$', 1), '') as token_model,
        nullif(regexp_extract(cur.usage_type, '-(input|output)-tokens$', 1), '') as token_type
    from cur
    left join tag_sets
        on tag_sets.resource_tags_json = cur.resource_tags_json
    left join {{ ref('charge_category_map') }} as charge_map
        on charge_map.provider = 'aws'
        and charge_map.line_item_type = cur.line_item_type
    left join {{ ref('service_category_map') }} as service_map
        on service_map.provider = 'aws'
        and service_map.service_code = cur.product_code
    left join {{ ref('unit_map') }} as unit_map
        on unit_map.provider = 'aws'
        and unit_map.source_unit = cur.pricing_unit
    left join {{ ref('cloud_gpu_instances') }} as gpu_instances
        on gpu_instances.provider = 'aws'
        and gpu_instances.instance_type = cur.instance_type

),

focus as (

    select
        *,
        coalesce(charge_category, 'Usage') as focus_charge_category,
        case
            when line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation') then 0
            else unblended_cost
        end as billed_cost,
        case
            when line_item_type = 'SavingsPlanCoveredUsage' then coalesce(savings_plan_effective_cost, unblended_cost)
            when line_item_type = 'DiscountedUsage' then coalesce(reservation_effective_cost, unblended_cost)
            when line_item_type in ('SavingsPlanNegation', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee', 'RIFee') then 0
            -- an RI's upfront payment
            when line_item_type = 'Fee' and reservation_arn is not null then 0
            else unblended_cost
        end as effective_cost,
        case
            when line_item_type = 'SavingsPlanRecurringFee'
                then savings_plan_total_commitment_to_date - savings_plan_used_commitment
            when line_item_type = 'RIFee'
                then coalesce(reservation_unused_amortized_upfront_fee, 0) + coalesce(reservation_unused_recurring_fee, 0)
        end as unused_commitment_cost,
        {{ surrogate_key(['line_item_id', 'time_interval', 'usage_start_at', 'line_item_type', '_load_id']) }} as line_key,
        case
            when line_item_type = 'SavingsPlanNegation' then 0
            when line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
                then coalesce(public_on_demand_cost, unblended_cost)
            else unblended_cost
        end as list_cost,
        case
            when line_item_type = 'SavingsPlanNegation' then 0
            when line_item_type = 'DiscountedUsage' then coalesce(public_on_demand_cost, unblended_cost)
            else unblended_cost
        end as contracted_cost,
        case
            when line_item_type in ('SavingsPlanCoveredUsage', 'SavingsPlanNegation', 'SavingsPlanRecurringFee',
                                    'SavingsPlanUpfrontFee') then savings_plan_arn
            when line_item_type in ('DiscountedUsage', 'RIFee', 'Fee') then reservation_arn
        end as commitment_id
    from enriched

),

final as (

    select
        *,
        case when commitment_id like 'arn:aws:savingsplans:%' then 'Spend'
             when commitment_id is not null then 'Usage' end                as commitment_category,
        case when commitment_id like 'arn:aws:savingsplans:%' then 'Savings Plan'
             when commitment_id is not null then 'Reserved Instance' end    as commitment_type,
        case when commitment_id is not null and focus_charge_category = 'Usage' then 'Used' end as commitment_status,
        focus_charge_category in ('Usage', 'Purchase')                      as is_priced,
        false                                                               as is_unused
    from focus

),

-- the unused part of a commitment's recurring fee, as the Usage line FOCUS expects: the fee row
-- once more (is_unused_row). One pass over `final` (unnest), not a union of two references to it:
-- a CTE read twice is materialised whole, which on millions of CUR lines spills to disk.
expanded as (

    select
        *,
        unnest(case when unused_commitment_cost > 0 and commitment_id is not null then [false, true]
                    else [false] end) as is_unused_row
    from final

),

lines as (

    select * replace (
        case when is_unused_row then 'Usage' else focus_charge_category end                  as focus_charge_category,
        case when is_unused_row then 'Usage-Based' else charge_frequency end                 as charge_frequency,
        case when is_unused_row then 'Unused commitment: ' || coalesce(line_item_description, commitment_id)
             else line_item_description end                                                  as line_item_description,
        case when is_unused_row then cast(0 as decimal(38, 10)) else billed_cost end         as billed_cost,
        case when is_unused_row then unused_commitment_cost else effective_cost end          as effective_cost,
        case when is_unused_row then cast(0 as decimal(38, 10)) else list_cost end           as list_cost,
        case when is_unused_row then cast(0 as decimal(38, 10)) else contracted_cost end     as contracted_cost,
        case when is_unused_row then cast(unused_commitment_cost / nullif(unblended_rate, 0) as double)
             else usage_amount end                                                           as usage_amount,
        case when is_unused_row then 'Unused' else commitment_status end                     as commitment_status,
        is_unused_row                                                                        as is_unused
    )
    from expanded

)

select
{{ focus_select({
    'AvailabilityZone': 'availability_zone',
    'BilledCost': 'billed_cost',
    'BillingAccountId': 'payer_account_id',
    'BillingAccountName': 'payer_account_id',
    'BillingAccountType': "'Billing Account'",
    'BillingCurrency': 'currency_code',
    'BillingPeriodEnd': 'billing_period_end_at',
    'BillingPeriodStart': 'billing_period_start_at',
    'ChargeCategory': 'focus_charge_category',
    'ChargeClass': 'charge_class',
    'ChargeDescription': 'line_item_description',
    'ChargeFrequency': "coalesce(charge_frequency, 'Usage-Based')",
    'ChargePeriodEnd': 'usage_end_at',
    'ChargePeriodStart': 'usage_start_at',
    'ConsumedQuantity': "case when focus_charge_category = 'Usage' and not is_unused then usage_amount end",
    'CommitmentDiscountCategory': 'commitment_category',
    'CommitmentDiscountId': 'commitment_id',
    'CommitmentDiscountName': 'commitment_id',
    'CommitmentDiscountStatus': 'commitment_status',
    'CommitmentDiscountType': 'commitment_type',
    'ConsumedUnit': "case when focus_charge_category = 'Usage' and not is_unused then focus_unit end",
    'ContractedCost': 'contracted_cost',
    'ContractedUnitPrice': 'case when is_priced then abs(unblended_rate) end',
    'EffectiveCost': 'effective_cost',
    'InvoiceId': 'invoice_id',
    'InvoiceIssuerName': "'AWS'",
    'ListCost': 'list_cost',
    'ListUnitPrice': 'case when is_priced then abs(public_on_demand_rate) end',
    'PricingCategory': "case when not is_priced then null when pricing_term = 'Spot' then 'Dynamic' when is_unused or line_item_type in ('SavingsPlanCoveredUsage', 'DiscountedUsage') then 'Committed' else 'Standard' end",
    'PricingCurrency': 'currency_code',
    'PricingCurrencyContractedUnitPrice': 'case when is_priced then abs(unblended_rate) end',
    'PricingCurrencyEffectiveCost': 'effective_cost',
    'PricingCurrencyListUnitPrice': 'case when is_priced then abs(public_on_demand_rate) end',
    'PricingQuantity': 'case when is_priced then usage_amount end',
    'PricingUnit': 'case when is_priced then focus_unit end',
    'ProviderName': "'AWS'",
    'PublisherName': "case when billing_entity = 'AWS Marketplace' then coalesce(legal_entity, 'AWS Marketplace') else 'AWS' end",
    'RegionId': 'region_code',
    'RegionName': 'region_name',
    'ResourceId': 'resource_id',
    'ResourceName': 'resource_id',
    'ResourceType': 'case when resource_id is not null then coalesce(instance_type, product_family) end',
    'ServiceCategory': 'service_category',
    'ServiceName': 'service_name',
    'ServiceSubcategory': 'service_subcategory',
    'SkuId': "case when focus_charge_category <> 'Tax' then sku_id end",
    'SkuMeter': "case when focus_charge_category <> 'Tax' and sku_id is not null then usage_type end",
    'SkuPriceDetails': "case when focus_charge_category <> 'Tax' and sku_id is not null then json_object('usage_type', usage_type, 'operation', operation, 'pricing_term', pricing_term) end",
    'SkuPriceId': "case when focus_charge_category <> 'Tax' and sku_id is not null then sku_id || ':' || coalesce(pricing_term, 'OnDemand') end",
    'SubAccountId': 'usage_account_id',
    'SubAccountName': 'usage_account_name',
    'SubAccountType': "'Account'",
    'Tags': 'resource_tags_json',
    'x_line_id': "case when is_unused then md5(line_key || '|unused') else line_key end",
    'x_source': "'aws_cur'",
    'x_source_type': "'cloud_bill'",
    'x_team': 'tag_team',
    'x_application': 'tag_application',
    'x_model': 'token_model',
    'x_token_type': 'token_type',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_load_id': '_load_id',
}) }}
from lines
