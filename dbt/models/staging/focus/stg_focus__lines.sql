-- FOCUS rows (already in 1.2 columns, connectors.focus_files): PascalCase → snake_case, money
-- DECIMAL(38,10), timestamps UTC TIMESTAMPTZ (*_at). Provider extensions stay JSON text (extra_json).
with source as (

    select * from {{ source('focus', 'focus_lines') }}

),

renamed as (

    select
        AvailabilityZone                                           as availability_zone,
        {{ money('BilledCost') }}                                  as billed_cost,
        BillingAccountId                                           as billing_account_id,
        BillingAccountName                                         as billing_account_name,
        BillingAccountType                                         as billing_account_type,
        BillingCurrency                                            as billing_currency,
        {{ utc('BillingPeriodEnd') }}                              as billing_period_end_at,
        {{ utc('BillingPeriodStart') }}                            as billing_period_start_at,
        CapacityReservationId                                      as capacity_reservation_id,
        CapacityReservationStatus                                  as capacity_reservation_status,
        ChargeCategory                                             as charge_category,
        ChargeClass                                                as charge_class,
        ChargeDescription                                          as charge_description,
        ChargeFrequency                                            as charge_frequency,
        {{ utc('ChargePeriodEnd') }}                               as charge_period_end_at,
        {{ utc('ChargePeriodStart') }}                             as charge_period_start_at,
        CommitmentDiscountCategory                                 as commitment_discount_category,
        CommitmentDiscountId                                       as commitment_discount_id,
        CommitmentDiscountName                                     as commitment_discount_name,
        {{ money('CommitmentDiscountQuantity') }}                  as commitment_discount_quantity,
        CommitmentDiscountStatus                                   as commitment_discount_status,
        CommitmentDiscountType                                     as commitment_discount_type,
        CommitmentDiscountUnit                                     as commitment_discount_unit,
        {{ money('ConsumedQuantity') }}                            as consumed_quantity,
        ConsumedUnit                                               as consumed_unit,
        {{ money('ContractedCost') }}                              as contracted_cost,
        {{ money('ContractedUnitPrice') }}                         as contracted_unit_price,
        {{ money('EffectiveCost') }}                               as effective_cost,
        InvoiceId                                                  as invoice_id,
        InvoiceIssuerName                                          as invoice_issuer_name,
        {{ money('ListCost') }}                                    as list_cost,
        {{ money('ListUnitPrice') }}                               as list_unit_price,
        PricingCategory                                            as pricing_category,
        PricingCurrency                                            as pricing_currency,
        {{ money('PricingCurrencyContractedUnitPrice') }}          as pricing_currency_contracted_unit_price,
        {{ money('PricingCurrencyEffectiveCost') }}                as pricing_currency_effective_cost,
        {{ money('PricingCurrencyListUnitPrice') }}                as pricing_currency_list_unit_price,
        {{ money('PricingQuantity') }}                             as pricing_quantity,
        PricingUnit                                                as pricing_unit,
        ProviderName                                               as provider_name,
        PublisherName                                              as publisher_name,
        RegionId                                                   as region_id,
        RegionName                                                 as region_name,
        ResourceId                                                 as resource_id,
        ResourceName                                               as resource_name,
        ResourceType                                               as resource_type,
        ServiceCategory                                            as service_category,
        ServiceName                                                as service_name,
        ServiceSubcategory                                         as service_subcategory,
        SkuId                                                      as sku_id,
        SkuMeter                                                   as sku_meter,
        SkuPriceDetails                                            as sku_price_details,
        SkuPriceId                                                 as sku_price_id,
        SubAccountId                                               as sub_account_id,
        SubAccountName                                             as sub_account_name,
        SubAccountType                                             as sub_account_type,
        Tags                                                       as tags,
        _extra                                                     as extra_json,
        _row_number                                                as row_number,
        _source_type                                               as source_type,
{{ lineage_columns() }}

    from source

)

select * from renamed
where {{ window_filter('charge_period_start_at') }}
