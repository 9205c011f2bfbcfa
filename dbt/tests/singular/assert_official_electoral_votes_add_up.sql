-- Years whose electoral units do not add up to 538 electoral votes, and
-- states whose units do not add up to the state's electoral votes.

with

official_units as (

    select * from {{ ref('int_official_units') }}

),

pres_results as (

    select * from {{ ref('stg_official__pres_results') }}

),

by_year as (

    select
        election_year,
        cast(null as {{ dbt.type_string() }}) as state,
        sum(electoral_votes) as unit_electoral_votes,
        538 as expected_electoral_votes
    from official_units
    group by
        election_year

),

by_state as (

    select
        official_units.election_year,
        official_units.state,
        sum(official_units.electoral_votes) as unit_electoral_votes,
        max(pres_results.electoral_votes) as expected_electoral_votes
    from official_units
    inner join pres_results
        on official_units.election_year = pres_results.election_year
        and official_units.state = pres_results.state
    group by
        official_units.election_year,
        official_units.state

),

totals as (

    select * from by_year
    union all
    select * from by_state

),

final as (

    select * from totals
    where unit_electoral_votes <> expected_electoral_votes

)

select * from final
