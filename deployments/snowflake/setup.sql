-- Snowflake objects of the election pipeline: a role for the sync and dbt, a
-- read-only role for dashboards, a virtual warehouse, and one database with the
-- schemas RAW (the sync's tables), STAGING (dbt views and seeds) and ANALYTICS
-- (the marts). Every statement is idempotent: run it again after changing a
-- value, or to repair grants.
--
-- Run it once per account as a user who may use SECURITYADMIN and SYSADMIN,
-- naming an existing user for the pipeline (nothing here creates users or sets
-- passwords; save those in the `election-snowflake` Prefect block instead):
--
--   snowsql -a <account> -u <admin> -o variable_substitution=true \
--     -f deployments/snowflake/setup.sql \
--     -D pipeline_user=<USER> -D pipeline_role=ELECTION_PIPELINE \
--     -D reader_role=ELECTION_READER -D warehouse_name=ELECTION_WH \
--     -D database_name=ELECTION
--
-- The Snowflake CLI takes the same variables: `snow sql -f ... -D name=value`.
-- In a worksheet, replace each &{...} below by its value first. The role,
-- warehouse and database must match ELECTION_SNOWFLAKE_ROLE, _WAREHOUSE and
-- _DATABASE of the pipeline's settings.

set pipeline_user = '&{pipeline_user}';
set pipeline_role = '&{pipeline_role}';
set reader_role = '&{reader_role}';
set warehouse_name = '&{warehouse_name}';
set database_name = '&{database_name}';

set raw_schema = concat($database_name, '.RAW');
set staging_schema = concat($database_name, '.STAGING');
set analytics_schema = concat($database_name, '.ANALYTICS');

-- roles, both under SYSADMIN so that administrators see what they own
use role securityadmin;

create role if not exists identifier($pipeline_role)
    comment = 'Election pipeline: the watermark sync and dbt';
create role if not exists identifier($reader_role)
    comment = 'Election dashboards: read the marts';
grant role identifier($pipeline_role) to role sysadmin;
grant role identifier($reader_role) to role sysadmin;
grant role identifier($pipeline_role) to user identifier($pipeline_user);

-- the virtual warehouse and the database, owned by SYSADMIN
use role sysadmin;

create warehouse if not exists identifier($warehouse_name)
    warehouse_size = 'XSMALL'
    auto_suspend = 60
    auto_resume = true
    initially_suspended = true
    comment = 'Election pipeline: sync loads, dbt builds, dashboard queries';
create database if not exists identifier($database_name)
    comment = 'Election pipeline: raw tables, dbt staging and marts';
create schema if not exists identifier($raw_schema);
create schema if not exists identifier($staging_schema);
create schema if not exists identifier($analytics_schema);

grant usage, operate on warehouse identifier($warehouse_name)
    to role identifier($pipeline_role);
grant usage on warehouse identifier($warehouse_name)
    to role identifier($reader_role);
grant usage, create schema on database identifier($database_name)
    to role identifier($pipeline_role);
grant usage on database identifier($database_name)
    to role identifier($reader_role);

-- the pipeline owns its schemas: the sync creates tables, temporary staging
-- tables and their stages in RAW; dbt replaces views and tables in the others
grant ownership on schema identifier($raw_schema)
    to role identifier($pipeline_role) copy current grants;
grant ownership on schema identifier($staging_schema)
    to role identifier($pipeline_role) copy current grants;
grant ownership on schema identifier($analytics_schema)
    to role identifier($pipeline_role) copy current grants;

-- the readers see the marts, including those dbt makes later
use role securityadmin;

grant usage on schema identifier($analytics_schema)
    to role identifier($reader_role);
grant select on all tables in schema identifier($analytics_schema)
    to role identifier($reader_role);
grant select on all views in schema identifier($analytics_schema)
    to role identifier($reader_role);
grant select on future tables in schema identifier($analytics_schema)
    to role identifier($reader_role);
grant select on future views in schema identifier($analytics_schema)
    to role identifier($reader_role);
