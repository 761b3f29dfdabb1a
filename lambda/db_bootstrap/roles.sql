-- The stage's least-privilege database roles and the canary table, in one transaction.
--
-- Run by the roles bootstrap (db_bootstrap.py) as the RDS master user on the cluster's writer,
-- on every Create and Update of its custom resource. Every statement is idempotent: a re-run
-- puts back whatever drifted (a revoked grant, a role that may no longer sign in) and changes
-- nothing else. {health_user} and {validator_user} are replaced by checked identifiers.
-- Nothing here needs more than the RDS master user has (rds_superuser, CREATEROLE, CREATEDB):
-- no SUPERUSER, REPLICATION or BYPASSRLS attribute is named, set or cleared.
DO $bootstrap$
BEGIN
    -- Roles that sign in with IAM tokens only: members of rds_iam, no password.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{health_user}') THEN
        CREATE ROLE {health_user} LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{validator_user}') THEN
        CREATE ROLE {validator_user} LOGIN;
    END IF;
    ALTER ROLE {health_user} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD NULL;
    ALTER ROLE {validator_user} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD NULL;
    GRANT rds_iam TO {health_user}, {validator_user};

    -- Only the owner (the master user) creates anything in this database: no tables in the
    -- public schema (PostgreSQL 15's default, made explicit) and no temporary tables.
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());

    -- The canary (lambda/health_check/dr_health/canary.py is the contract), owned by the
    -- master user. A table the health check created before this bootstrap existed lacks the
    -- NOT NULL: added only then, so a re-run takes no exclusive lock.
    CREATE TABLE IF NOT EXISTS public.dr_canary (
        id text PRIMARY KEY,
        written_at timestamptz NOT NULL
    );
    IF EXISTS (
        SELECT FROM pg_attribute
        WHERE attrelid = 'public.dr_canary'::regclass AND attname = 'written_at'
            AND NOT attnotnull
    ) THEN
        ALTER TABLE public.dr_canary ALTER COLUMN written_at SET NOT NULL;
    END IF;
    -- Exactly these grants, whatever was granted before.
    REVOKE ALL ON public.dr_canary FROM PUBLIC, {health_user}, {validator_user};
    GRANT SELECT, INSERT, UPDATE ON public.dr_canary TO {health_user};
    GRANT SELECT ON public.dr_canary TO {validator_user};
END
$bootstrap$
