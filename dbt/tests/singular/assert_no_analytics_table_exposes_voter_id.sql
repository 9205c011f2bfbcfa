-- Ballot secrecy: columns named voter_id in the analytics schema, where the
-- marts and fct_votes live. Only staging may hold a voter next to a ballot.

-- depends_on: {{ ref('fct_votes') }}
-- depends_on: {{ ref('election_results') }}
-- depends_on: {{ ref('turnout_by_state') }}
-- depends_on: {{ ref('state_winners') }}
-- depends_on: {{ ref('electoral_college') }}
-- depends_on: {{ ref('national_summary') }}
-- depends_on: {{ ref('results_vs_official') }}

with

columns as (

    select * from information_schema.columns

),

final as (

    select
        table_schema,
        table_name,
        column_name
    from columns
    where lower(table_schema) = 'analytics'
        and lower(column_name) = 'voter_id'

)

select * from final
