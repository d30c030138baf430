-- Named queries of the back-office accounts (users/store.py). `callbacks user ...` runs
-- the writes as the database owner; the dashboard reads one account through
-- back_office_account() (migration 007) as its read-only role. Parameters are :named.

-- name: insert_user
-- Create a back-office user; no row returned when the name is taken already.
INSERT INTO users (name, email, role, all_brands, password_hash)
VALUES (:name, :email, :role, :all_brands, :password_hash)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: insert_user_brands
-- Give a user the brands named (names of no brand are skipped; checked before).
INSERT INTO user_brands (user_id, brand_id)
SELECT :user_id, id FROM brands WHERE name = ANY (CAST(:brands AS text[]));

-- name: email_taken
-- The user who has this e-mail address already, in any letter case.
SELECT name FROM users WHERE lower(email) = lower(:email);

-- name: list_users
-- Every back-office user with role, brands and whether a password is set (never the hash), by
-- name.
SELECT u.name, u.email, u.role, u.all_brands, u.password_hash IS NOT NULL AS has_password,
       u.created_at, u.updated_at,
       ARRAY(SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
             WHERE ub.user_id = u.id ORDER BY 1) AS brands
FROM users u
ORDER BY u.name;

-- name: remove_user
-- Delete a user by name (their brands and sessions go with it); the id, or no row for no such
-- user.
DELETE FROM users WHERE name = :name RETURNING id;

-- name: set_password
-- Store a user's new password hash; the id, or no row for no such user.
UPDATE users SET password_hash = :password_hash, updated_at = now()
WHERE name = :name
RETURNING id;

-- name: account
-- One account by name or e-mail, through back_office_account() (migration 007): role, brands,
-- password hash.
SELECT name, email, role, brand_ids, brand_names, password_hash
FROM back_office_account(:login, :by_email);

-- name: user_audited
-- A user as the audit trail records them (the hash only to say whether there is one: the
-- trail masks it).
SELECT u.role, u.all_brands, u.email, u.password_hash,
       ARRAY(SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
             WHERE ub.user_id = u.id ORDER BY 1) AS brands
FROM users u
WHERE u.name = :name;

-- name: email_of
-- A user's e-mail address (to check a new password against it).
SELECT email FROM users WHERE name = :name;
