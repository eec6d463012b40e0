-- Rows of any FOCUS export (focus_files, aws_focus) in the focus_costs column list. They are
-- FOCUS already: columns pass through. Only the mart's not-null contract needs fallbacks, each
-- one a FOCUS-consistent choice, not a guess at money:
--   EffectiveCost   = BilledCost where the export has none (no amortisation known)
--   ProviderName    = InvoiceIssuerName, else the configured source's name
--   ServiceCategory = 'Other' where absent (a FOCUS value)
--   BillingCurrency = PricingCurrency where absent
-- Lines aispend converted itself from a provider-native export (connectors/focus_mappings,
-- source_type 'mapped:<mapping>') are ours, so they are completed to FOCUS 1.2 where the native
-- export has no such field (third-party FOCUS lines are never altered this way):
--   ContractedCost  = ContractedUnitPrice × PricingQuantity, else BilledCost
--   ListCost        = ListUnitPrice × PricingQuantity, else ContractedCost (the export has no list
--                     price: list is not known to be higher than contracted)
--   PricingCurrency = BillingCurrency; PricingCurrency* prices and EffectiveCost = their billing-
--                     currency values (one currency on these exports)
--   BillingAccountName = BillingAccountId (OCI cost reports carry the tenancy OCID, no name);
--   RegionName = RegionId (a region missing from the mapping's lookup); ResourceType = ServiceName
--   (a resource id whose form names no type); PublisherName = ProviderName (Azure leaves it empty
--   for first-party services)
-- Team and application come from Tags through the tag_keys seed (provider 'focus').
-- GPU instances: AWS FOCUS exports carry x_UsageType ('USE1-BoxUsage:p5.48xlarge'); its instance
-- type is looked up in cloud_gpu_instances (instance type names do not collide across providers).
with gpu_instances as (

    select instance_type, min(gpu_model) as gpu_model, min(gpu_count) as gpu_count
    from {{ ref('cloud_gpu_instances') }}
    group by 1

),

lines as (

    select
        stg.*,
        {{ tag_value('stg.tags', 'focus', 'team') }}        as tag_team,
        {{ tag_value('stg.tags', 'focus', 'application') }} as tag_application,
        gpu.gpu_model,
        gpu.gpu_count
    from {{ ref('stg_focus__lines') }} as stg
    left join gpu_instances as gpu
        on gpu.instance_type = regexp_extract(json_extract_string(stg.extra_json, '$.x_UsageType'), ':([^:]+)$', 1)

),

completed as (

    select
        * replace (
            case when is_converted then coalesce(billing_account_name, billing_account_id)
                 else billing_account_name end                                  as billing_account_name,
            case when is_converted then coalesce(region_name, region_id) else region_name end as region_name,
            case when is_converted and resource_id is not null then coalesce(resource_type, service_name)
                 else resource_type end                                         as resource_type,
            case when is_converted then coalesce(publisher_name, provider_name) else publisher_name end
                                                                                as publisher_name,
            case when is_converted then coalesce(pricing_currency, billing_currency) else pricing_currency end
                                                                                as pricing_currency,
            case when is_converted and coalesce(pricing_currency, billing_currency) = billing_currency
                 then coalesce(pricing_currency_effective_cost, effective_cost, billed_cost)
                 else pricing_currency_effective_cost end                       as pricing_currency_effective_cost,
            case when is_converted and coalesce(pricing_currency, billing_currency) = billing_currency
                 then coalesce(pricing_currency_contracted_unit_price, contracted_unit_price)
                 else pricing_currency_contracted_unit_price end                as pricing_currency_contracted_unit_price,
            case when is_converted and coalesce(pricing_currency, billing_currency) = billing_currency
                 then coalesce(pricing_currency_list_unit_price, list_unit_price)
                 else pricing_currency_list_unit_price end                      as pricing_currency_list_unit_price,
            case when is_converted
                 then coalesce(contracted_cost, {{ money('contracted_unit_price * pricing_quantity') }}, billed_cost)
                 else contracted_cost end                                       as contracted_cost,
            case when is_converted
                 then coalesce(list_cost, {{ money('list_unit_price * pricing_quantity') }}, contracted_cost,
                               {{ money('contracted_unit_price * pricing_quantity') }}, billed_cost)
                 else list_cost end                                             as list_cost
        )
    from (select *, starts_with(source_type, 'mapped:') as is_converted from lines)

)

select
{{ focus_select({
    'AvailabilityZone': 'availability_zone',
    'BilledCost': 'billed_cost',
    'BillingAccountId': 'billing_account_id',
    'BillingAccountName': 'billing_account_name',
    'BillingAccountType': 'billing_account_type',
    'BillingCurrency': 'coalesce(billing_currency, pricing_currency)',
    'BillingPeriodEnd': 'billing_period_end_at',
    'BillingPeriodStart': 'billing_period_start_at',
    'CapacityReservationId': 'capacity_reservation_id',
    'CapacityReservationStatus': 'capacity_reservation_status',
    'ChargeCategory': 'charge_category',
    'ChargeClass': 'charge_class',
    'ChargeDescription': 'charge_description',
    'ChargeFrequency': 'charge_frequency',
    'ChargePeriodEnd': 'charge_period_end_at',
    'ChargePeriodStart': 'charge_period_start_at',
    'CommitmentDiscountCategory': 'commitment_discount_category',
    'CommitmentDiscountId': 'commitment_discount_id',
    'CommitmentDiscountName': 'commitment_discount_name',
    'CommitmentDiscountQuantity': 'commitment_discount_quantity',
    'CommitmentDiscountStatus': 'commitment_discount_status',
    'CommitmentDiscountType': 'commitment_discount_type',
    'CommitmentDiscountUnit': 'commitment_discount_unit',
    'ConsumedQuantity': 'consumed_quantity',
    'ConsumedUnit': 'consumed_unit',
    'ContractedCost': 'contracted_cost',
    'ContractedUnitPrice': 'contracted_unit_price',
    'EffectiveCost': 'coalesce(effective_cost, billed_cost)',
    'InvoiceId': 'invoice_id',
    'InvoiceIssuerName': 'invoice_issuer_name',
    'ListCost': 'list_cost',
    'ListUnitPrice': 'list_unit_price',
    'PricingCategory': 'pricing_category',
    'PricingCurrency': 'pricing_currency',
    'PricingCurrencyContractedUnitPrice': 'pricing_currency_contracted_unit_price',
    'PricingCurrencyEffectiveCost': 'pricing_currency_effective_cost',
    'PricingCurrencyListUnitPrice': 'pricing_currency_list_unit_price',
    'PricingQuantity': 'pricing_quantity',
    'PricingUnit': 'pricing_unit',
    'ProviderName': 'coalesce(provider_name, invoice_issuer_name, _source_name)',
    'PublisherName': 'publisher_name',
    'RegionId': 'region_id',
    'RegionName': 'region_name',
    'ResourceId': 'resource_id',
    'ResourceName': 'resource_name',
    'ResourceType': 'resource_type',
    'ServiceCategory': "coalesce(service_category, 'Other')",
    'ServiceName': 'service_name',
    'ServiceSubcategory': 'service_subcategory',
    'SkuId': 'sku_id',
    'SkuMeter': 'sku_meter',
    'SkuPriceDetails': 'sku_price_details',
    'SkuPriceId': 'sku_price_id',
    'SubAccountId': 'sub_account_id',
    'SubAccountName': 'sub_account_name',
    'SubAccountType': 'sub_account_type',
    'Tags': 'tags',
    'x_line_id': surrogate_key(['_source_name', '_source_uri', 'row_number']),
    'x_source': 'source_type',
    'x_source_type': "'cloud_bill'",
    'x_team': 'tag_team',
    'x_application': 'tag_application',
    'x_gpu_model': 'gpu_model',
    'x_gpu_count': 'gpu_count',
    'x_load_id': '_load_id',
}) }}
from completed
