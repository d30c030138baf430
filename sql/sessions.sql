-- Named queries of back-office sessions (users/sessions.py), run as the database owner
-- (migration 021 keeps the table from every other role). Parameters are :named; :id_hash is
-- the SHA-256 of the session id the cookie carries.

-- name: start
-- Record a new signed-in session of a user (only the hash of its id); no row for no such user.
INSERT INTO back_office_sessions (id_hash, user_id, address, expires_at)
SELECT :id_hash, u.id, :address, to_timestamp(:expires_at)
FROM users u
WHERE u.name = :name
RETURNING user_id;

-- name: forget_expired
-- Delete every session past its expiry.
DELETE FROM back_office_sessions WHERE expires_at <= now();

-- name: user_name
-- The user a live session belongs to, by the hash of its id (nothing once expired or ended).
SELECT u.name
FROM back_office_sessions s JOIN users u ON u.id = s.user_id
WHERE s.id_hash = :id_hash AND s.expires_at > now();

-- name: end
-- Sign one session out: delete its row.
DELETE FROM back_office_sessions WHERE id_hash = :id_hash;

-- name: user_exists
-- Whether a user of this name exists.
SELECT 1 FROM users WHERE name = :name;

-- name: end_all
-- Sign a user out everywhere: delete every session of theirs.
DELETE FROM back_office_sessions s USING users u
WHERE u.id = s.user_id AND u.name = :name;

-- name: count_of_user
-- How many live sessions a user has.
SELECT count(*) FROM back_office_sessions s JOIN users u ON u.id = s.user_id
WHERE u.name = :name AND s.expires_at > now();
