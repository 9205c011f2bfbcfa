{#-
    A ratio as a double, null when the denominator is zero: the same result on
    DuckDB and Snowflake, whose integer divisions differ.
-#}
{% macro divide(numerator, denominator) -%}
    cast({{ numerator }} as double precision) / nullif({{ denominator }}, 0)
{%- endmacro %}
