{#- What-if overrides of the assumption seeds (`aispend whatif --set ...`, pipelines/whatif.py).
    var('whatif') = {'gpu_models': {column: {gpu_model or '*': value}},
                     'sites': {column: {site or '*': value}},
                     'thresholds': {name: value}}
    Without the var every macro reads the seed unchanged. Keys and columns are validated by the
    CLI and again here; values are rendered as numbers only. -#}
{% macro _whatif() -%}
{{ return(var('whatif', none) or {}) }}
{%- endmacro %}

{% macro assumption_seed(seed_name) -%}
{%- set specs = {
    'gpu_models': ('gpu_model', ['purchase_price_usd', 'server_overhead_usd_per_gpu', 'useful_life_years', 'tdp_w', 'idle_power_w']),
    'sites': ('site', ['usd_per_kwh', 'pue', 'colo_usd_per_kw_month', 'ops_usd_per_gpu_month']),
} -%}
{%- set key_col = specs[seed_name][0] -%}
{%- set columns = specs[seed_name][1] -%}
{%- set overrides = _whatif().get(seed_name, {}) -%}
{%- if not overrides -%}
{{ ref(seed_name) }}
{%- else -%}
(select * replace (
{%- for col, by_key in overrides.items() %}
    {%- if col not in columns %}{{ exceptions.raise_compiler_error("whatif: " ~ seed_name ~ " has no overridable column " ~ col) }}{% endif %}
    {%- set default = ('cast(' ~ (by_key['*'] | float) ~ ' as double)') if '*' in by_key else ('cast(' ~ col ~ ' as double)') %}
    {%- set keyed = [] %}
    {%- for key, value in by_key.items() if key != '*' %}
        {%- do keyed.append("when " ~ key_col ~ " = '" ~ (key | replace("'", "''")) ~ "' then cast(" ~ (value | float) ~ " as double)") %}
    {%- endfor %}
    {% if keyed %}case {{ keyed | join(' ') }} else {{ default }} end{% else %}{{ default }}{% endif %} as {{ col }}{{ ',' if not loop.last }}
{%- endfor %}
) from {{ ref(seed_name) }})
{%- endif -%}
{%- endmacro %}

{#- Months for the on-prem capex to be repaid by the monthly saving on opex; null when never. -#}
{% macro repatriation_payback(gpus, monthly_cloud) -%}
case when ({{ monthly_cloud }}) - {{ gpus }} * opex_per_gpu_month_usd > 0
     then {{ gpus }} * capex_per_gpu_usd / (({{ monthly_cloud }}) - {{ gpus }} * opex_per_gpu_month_usd) end
{%- endmacro %}

{#- Whole serving replicas for a demand of `gpu_hours_per_hour` (GPU-hours needed per hour): at least
    one, each of gpus_per_replica GPUs run at sizing_utilisation, plus spare_replicas. -#}
{% macro repatriation_replicas(gpu_hours_per_hour) -%}
(greatest(1, ceil(({{ gpu_hours_per_hour }}) / (sizing_utilisation * gpus_per_replica))) + spare_replicas)
{%- endmacro %}
