-- ALL spend in FOCUS 1.2 columns: cloud bills (AWS CUR 2.0, GCP, any FOCUS export), LLM API token spend and
-- amortised owned-GPU cost. Each int_focus__* model already emits the full column list in
-- the same order (macro focus_select), so this is a plain union.
{%- set parts = ['int_focus__aws', 'int_focus__gcp', 'int_focus__files', 'int_focus__llm_api', 'int_focus__onprem_gpu'] %}
{% for part in parts %}
select * from {{ ref(part) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
