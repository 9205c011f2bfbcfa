with

pres_results as (

    select * from {{ ref('stg_official__pres_results') }}

),

district_results as (

    select * from {{ ref('stg_official__district_results') }}

),

electoral_splits as (

    select * from {{ ref('stg_official__electoral_splits') }}

),

statewide_units as (

    select
        pres_results.election_year,
        pres_results.state,
        cast(null as integer) as district,
        -- NOTE: Maine and Nebraska give only two electoral votes statewide,
        -- the rest by district; every other state gives them all statewide.
        coalesce(
            electoral_splits.electoral_votes,
            pres_results.electoral_votes
        ) as electoral_votes,
        pres_results.dem_votes,
        pres_results.rep_votes,
        pres_results.oth_votes,
        pres_results.total_votes
    from pres_results
    left join electoral_splits
        on pres_results.election_year = electoral_splits.election_year
        and pres_results.state = electoral_splits.state
        and electoral_splits.is_statewide

),

district_units as (

    select
        district_results.election_year,
        district_results.state,
        district_results.district,
        coalesce(electoral_splits.electoral_votes, 1) as electoral_votes,
        district_results.dem_votes,
        district_results.rep_votes,
        district_results.oth_votes,
        district_results.total_votes
    from district_results
    left join electoral_splits
        on district_results.election_year = electoral_splits.election_year
        and district_results.state = electoral_splits.state
        and district_results.district = electoral_splits.district

),

units as (

    select * from statewide_units
    union all
    select * from district_units

),

final as (

    select
        election_year,
        {{ unit_code('state', 'district') }} as unit_code,
        state,
        district,
        electoral_votes,
        dem_votes,
        rep_votes,
        oth_votes,
        total_votes,
        -- the official winner is the leader of the two major candidates: the
        -- other votes are spread over many candidates
        case
            when dem_votes > rep_votes then 'DEM'
            when rep_votes > dem_votes then 'REP'
        end as winner_party
    from units

)

select * from final
