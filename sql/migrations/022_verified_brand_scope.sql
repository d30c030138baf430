-- The brand scope of a back-office session is proved, not claimed.
--
-- Before, the row-level security policies trusted the setting callbacks.brands, which any
-- back-office role could set to '*' with set_config() and so read every brand. Now they read
-- callbacks.scope, a statement signed with the installation key 'back_office_scope' (migration
-- 016) that no back-office role can read:
--
--   v1;<backend pid>;<expires, epoch seconds>;<brands: '*', ids '3,7' or none>;<HMAC hex>
--
-- back_office_scope() (SECURITY DEFINER: it reads the key as the owner) checks the signature,
-- that the statement was made for this very connection (so a statement seen in another
-- session's pg_stat_activity is useless there) and that it has not expired, and answers the
-- brands it grants; anything else grants nothing. The policies' functions keep their names, so
-- every policy written since migration 007 follows. PARALLEL RESTRICTED: a parallel worker has
-- a pid of its own, so the check runs in the leader.

CREATE FUNCTION back_office_scope() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    scope text := current_setting('callbacks.scope', true);
    parts text[] := string_to_array(scope, ';');
    key record;
BEGIN
    -- Cheap refusals first: policies call this once or twice per table of every query.
    IF array_length(parts, 1) IS DISTINCT FROM 5 OR parts[1] <> 'v1'
       OR parts[2] <> pg_backend_pid()::text
       OR parts[3] !~ '^[0-9]{1,12}$' OR parts[3]::bigint < extract(epoch FROM clock_timestamp())
       OR parts[5] !~ '^[0-9a-f]{64}$'
    THEN
        RETURN '';
    END IF;
    SELECT inner_pad, outer_pad INTO key FROM installation_keys WHERE name = 'back_office_scope';
    IF sha256(key.outer_pad || sha256(key.inner_pad
                                      || convert_to(left(scope, length(scope) - 65), 'UTF8')))
       IS DISTINCT FROM decode(parts[5], 'hex')
    THEN
        RETURN '';
    END IF;
    RETURN parts[4];  -- signed by the dashboard: '*', '3,7' or ''
END $$;

CREATE OR REPLACE FUNCTION back_office_all_brands() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
    SELECT back_office_scope() = '*'
$$;

CREATE OR REPLACE FUNCTION back_office_brand_ids() RETURNS integer[]
LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$
    SELECT CAST(string_to_array(nullif(nullif(back_office_scope(), ''), '*'), ',')
                AS integer[])
$$;

-- Password hashes are the owner's alone: the dashboard reads accounts through the owner's
-- connection (dashboard/auth.py), and no back-office role may call back_office_account().
SELECT callbacks_owner_only('FUNCTION back_office_account(text, boolean)');
SELECT callbacks_owner_only('TABLE users');
SELECT callbacks_owner_only('TABLE user_brands');
