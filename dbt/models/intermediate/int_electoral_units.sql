with

elections as (

    select * from {{ ref('stg_raw__elections') }}

),

official_units as (

    select * from {{ ref('int_official_units') }}

),

final as (

    select
        elections.election_id,
        elections.election_year,
        elections.ratio,
        official_units.unit_code,
        official_units.state,
        official_units.district,
        official_units.electoral_votes,
        official_units.dem_votes as official_dem_votes,
        official_units.rep_votes as official_rep_votes,
        official_units.oth_votes as official_oth_votes,
        official_units.total_votes as official_total_votes,
        official_units.winner_party as official_winner_party
    from elections
    inner join official_units
        on elections.election_year = official_units.election_year

)

select * from final
