-- Named queries of back-office sessions (dashboard/sessions.py), run as the database owner
-- (migration 021 keeps the table from every other role). Parameters are :named; :id_hash is
-- the SHA-256 of the session id the cookie carries.

-- name: start
INSERT INTO back_office_sessions (id_hash, user_id, address, expires_at)
SELECT :id_hash, u.id, :address, to_timestamp(:expires_at)
FROM users u
WHERE u.name = :name
RETURNING user_id;

-- name: forget_expired
DELETE FROM back_office_sessions WHERE expires_at <= now();

-- name: user_name
SELECT u.name
FROM back_office_sessions s JOIN users u ON u.id = s.user_id
WHERE s.id_hash = :id_hash AND s.expires_at > now();

-- name: end
DELETE FROM back_office_sessions WHERE id_hash = :id_hash;

-- name: user_exists
SELECT 1 FROM users WHERE name = :name;

-- name: end_all
DELETE FROM back_office_sessions s USING users u
WHERE u.id = s.user_id AND u.name = :name;

-- name: count_of_user
SELECT count(*) FROM back_office_sessions s JOIN users u ON u.id = s.user_id
WHERE u.name = :name AND s.expires_at > now();
