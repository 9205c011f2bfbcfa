-- Units of Maine and Nebraska whose winner by official votes, or whose
-- electoral votes, differ from the official electoral splits.

with

official_units as (

    select * from {{ ref('int_official_units') }}

),

electoral_splits as (

    select * from {{ ref('stg_official__electoral_splits') }}

),

final as (

    select
        electoral_splits.election_year,
        electoral_splits.state,
        electoral_splits.district,
        electoral_splits.winner_party as split_winner_party,
        official_units.winner_party as votes_winner_party,
        electoral_splits.electoral_votes as split_electoral_votes,
        official_units.electoral_votes as unit_electoral_votes
    from electoral_splits
    left join official_units
        on electoral_splits.election_year = official_units.election_year
        and electoral_splits.state = official_units.state
        and coalesce(electoral_splits.district, 0)
        = coalesce(official_units.district, 0)
    where official_units.unit_code is null
        or official_units.winner_party <> electoral_splits.winner_party
        or official_units.electoral_votes <> electoral_splits.electoral_votes

)

select * from final
