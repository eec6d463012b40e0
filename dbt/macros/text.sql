{#- A number as text for a reasons column: rounded to `digits` decimals; 0 digits → an integer
    ('150', not '150.0'). Null stays null. -#}
{% macro number_text(expr, digits) -%}
{%- if digits == 0 -%}
cast(cast(round({{ expr }}) as bigint) as varchar)
{%- else -%}
cast(round(cast({{ expr }} as double), {{ digits }}) as varchar)
{%- endif -%}
{%- endmacro %}
