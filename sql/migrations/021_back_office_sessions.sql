-- Signed-in back-office sessions (sign-in with a built-in account's password).
--
-- The browser keeps an HttpOnly cookie naming a random session id, signed with the installation
-- key 'session_cookie' (migration 016); only the SHA-256 of the id is stored here, so a copy of
-- this table signs no one in. A session ends at its expiry, at sign-out (its row is deleted),
-- when its user's password changes (trigger below, whoever changes it) and when its user is
-- removed (ON DELETE CASCADE). Every page run checks its row, so an ended session is refused at
-- the next click even though the browser still holds the cookie.
--
-- Owner only: the dashboard checks sessions through the owner's connection; no back-office role
-- can read or write the table (migration 002's default privileges would let the reader SELECT
-- it, so they are revoked by name).

CREATE TABLE back_office_sessions (
    id_hash    bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id    integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address    text,                         -- the client address that signed in
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX back_office_sessions_user ON back_office_sessions (user_id);
CREATE INDEX back_office_sessions_expires ON back_office_sessions (expires_at);

-- A new password ends every session of the user (`callbacks user passwd`, or any other writer).
CREATE FUNCTION end_sessions_on_password_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM back_office_sessions WHERE user_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_password_ends_sessions AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION end_sessions_on_password_change();

SELECT callbacks_owner_only('TABLE back_office_sessions');
