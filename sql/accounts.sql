-- Named queries of the back-office accounts (dashboard/accounts.py). `callbacks user ...` runs
-- the writes as the database owner; the dashboard reads one account through
-- back_office_account() (migration 007) as its read-only role. Parameters are :named.

-- name: insert_user
INSERT INTO users (name, email, role, all_brands, password_hash)
VALUES (:name, :email, :role, :all_brands, :password_hash)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: insert_user_brands
INSERT INTO user_brands (user_id, brand_id)
SELECT :user_id, id FROM brands WHERE name = ANY (CAST(:brands AS text[]));

-- name: brands_named
SELECT name FROM brands WHERE name = ANY (CAST(:names AS text[]));

-- name: email_taken
SELECT name FROM users WHERE lower(email) = lower(:email);

-- name: list_users
SELECT u.name, u.email, u.role, u.all_brands, u.password_hash IS NOT NULL AS has_password,
       u.created_at, u.updated_at,
       ARRAY(SELECT b.name FROM user_brands ub JOIN brands b ON b.id = ub.brand_id
             WHERE ub.user_id = u.id ORDER BY 1) AS brands
FROM users u
ORDER BY u.name;

-- name: remove_user
DELETE FROM users WHERE name = :name RETURNING id;

-- name: set_password
UPDATE users SET password_hash = :password_hash, updated_at = now()
WHERE name = :name
RETURNING id;

-- name: account
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
SELECT email FROM users WHERE name = :name;
