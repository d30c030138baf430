-- Who may use the back-office, and what each of them sees.
--
-- Users: built-in accounts (argon2 password hashes) managed with `callbacks user add|list|
-- remove|passwd`, never by the dashboard. With OIDC sign-in the same rows give an identity its
-- role and brands, matched by e-mail address. Each user has one or more brands, or all.

CREATE TABLE users (
    id            serial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$'),
    email         text CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    role          text NOT NULL CHECK (role IN ('analyst', 'integration_manager', 'admin')),
    all_brands    boolean NOT NULL DEFAULT false,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE user_brands (
    user_id  integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    brand_id integer NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, brand_id)
);

-- The account behind a sign-in: by user name (built-in passwords) or by e-mail address (OIDC).
-- The dashboard's read-only role reads accounts only through these functions; it cannot list
-- users. brand_ids and brand_names are NULL for a user of all brands.
CREATE FUNCTION back_office_account(login text, by_email boolean DEFAULT false)
RETURNS TABLE (name text, email text, role text, brand_ids integer[], brand_names text[],
               password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.name, u.email, u.role,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT ub.brand_id FROM user_brands ub WHERE ub.user_id = u.id ORDER BY 1) END,
           CASE WHEN NOT u.all_brands THEN ARRAY(
               SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
               WHERE ub.user_id = u.id ORDER BY 1) END,
           u.password_hash
    FROM users u
    WHERE CASE WHEN by_email THEN lower(u.email) = lower(login) ELSE u.name = login END
$$;
REVOKE ALL ON FUNCTION back_office_account(text, boolean) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'callbacks_reader') THEN
        -- Migration 002's default privileges would let the reader list users and hashes.
        REVOKE ALL ON users, user_brands FROM callbacks_reader;
        GRANT EXECUTE ON FUNCTION back_office_account(text, boolean) TO callbacks_reader;
    END IF;
END $$;
