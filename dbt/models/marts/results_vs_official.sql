with

electoral_units as (

    select * from {{ ref('int_electoral_units') }}

),

state_winners as (

    select * from {{ ref('state_winners') }}

),

final as (

    select
        electoral_units.election_id,
        electoral_units.unit_code,
        electoral_units.state,
        electoral_units.district,
        electoral_units.electoral_votes,
        state_winners.winner_party as simulated_winner_party,
        electoral_units.official_winner_party,
        coalesce(
            state_winners.winner_party
            = electoral_units.official_winner_party,
            false
        ) as winner_matches,
        state_winners.total_votes as simulated_votes,
        electoral_units.official_total_votes as official_votes,
        {{ divide('state_winners.dem_votes', 'state_winners.total_votes') }}
            as simulated_dem_share,
        {{ divide(
            'electoral_units.official_dem_votes',
            'electoral_units.official_total_votes'
        ) }} as official_dem_share,
        {{ divide('state_winners.rep_votes', 'state_winners.total_votes') }}
            as simulated_rep_share,
        {{ divide(
            'electoral_units.official_rep_votes',
            'electoral_units.official_total_votes'
        ) }} as official_rep_share,
        {{ divide('state_winners.oth_votes', 'state_winners.total_votes') }}
            as simulated_oth_share,
        {{ divide(
            'electoral_units.official_oth_votes',
            'electoral_units.official_total_votes'
        ) }} as official_oth_share
    from electoral_units
    inner join state_winners
        on electoral_units.election_id = state_winners.election_id
        and electoral_units.unit_code = state_winners.unit_code

)

select * from final
