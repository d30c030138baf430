-- Credentials in a brand's URL (https://user:password@host/...) are kept apart from it: the URL
-- is read by every back-office role (Callback history, the Actions page, the Integration Test)
-- and was shown with its password, while the credentials were never sent. From here on the
-- brand's URL carries none; its user:password lives in brand_url_credentials, which only the
-- owner (the workers, the `callbacks` command) reads, and goes out as Authorization: Basic.
--
-- Integration Test URLs may carry no credentials (the back-office reads them); alert URLs
-- neither (`callbacks alert url add` refuses them; those added before keep working, as the
-- alert sender passes them on, and are readable by the owner only — migration 011).

CREATE TABLE brand_url_credentials (
    brand_id   integer PRIMARY KEY REFERENCES brands (id) ON DELETE CASCADE,
    username   text NOT NULL,
    password   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- No back-office role reads or writes it: migration 002's default privileges would let the
-- reader SELECT it, so the grants are revoked by name; row-level security with no policy
-- refuses every row to anyone but the owner should a grant come back.
SELECT callbacks_owner_only('TABLE brand_url_credentials');
ALTER TABLE brand_url_credentials ENABLE ROW LEVEL SECURITY;

-- Percent-decoding of a URL's user name or password (%40 is '@'); a value that does not decode
-- to UTF-8 is kept as it was written.
CREATE FUNCTION pg_temp.url_decode(encoded text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    decoded bytea := '';
    i integer := 1;
BEGIN
    WHILE i <= length(encoded) LOOP
        IF substr(encoded, i, 1) = '%' AND substr(encoded, i + 1, 2) ~ '^[0-9A-Fa-f]{2}$' THEN
            decoded := decoded || decode(substr(encoded, i + 1, 2), 'hex');
            i := i + 3;
        ELSE
            decoded := decoded || convert_to(substr(encoded, i, 1), 'UTF8');
            i := i + 1;
        END IF;
    END LOOP;
    RETURN convert_from(decoded, 'UTF8');
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
    RETURN encoded;
END $$;

-- The URL without its user information (everything between "scheme://" and the authority's
-- last '@').
CREATE FUNCTION pg_temp.without_userinfo(url text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\1')
$$;

-- Existing brands: the credentials move out, the URL is cleaned.
INSERT INTO brand_url_credentials (brand_id, username, password)
SELECT id,
       pg_temp.url_decode(split_part(userinfo, ':', 1)),
       CASE WHEN position(':' IN userinfo) > 0
            THEN pg_temp.url_decode(substr(userinfo, position(':' IN userinfo) + 1))
            ELSE '' END
FROM (SELECT id, substring(base_url FROM '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)@') AS userinfo
      FROM brands) b
WHERE userinfo <> '';
UPDATE brands SET base_url = pg_temp.without_userinfo(base_url)
WHERE base_url <> pg_temp.without_userinfo(base_url);

-- Wherever such a URL was copied, it is cleaned too: test URLs (a clean twin wins), the runs
-- and steps of the Integration Test, and re-routes in the action audit trail (append-only for
-- everything else; this scrub is the one rewrite, made by the owner while migrating).
DELETE FROM brand_test_urls t
WHERE t.url <> pg_temp.without_userinfo(t.url)
  AND EXISTS (SELECT FROM brand_test_urls o
              WHERE o.brand_id = t.brand_id AND o.url <> t.url
                AND pg_temp.without_userinfo(o.url) = pg_temp.without_userinfo(t.url)
                AND (o.url = pg_temp.without_userinfo(o.url) OR o.url < t.url));
UPDATE brand_test_urls SET url = pg_temp.without_userinfo(url)
WHERE url <> pg_temp.without_userinfo(url);

UPDATE integration_runs SET base_url = pg_temp.without_userinfo(base_url)
WHERE base_url <> pg_temp.without_userinfo(base_url);
UPDATE integration_steps
SET request = jsonb_set(request, '{url}', to_jsonb(pg_temp.without_userinfo(request ->> 'url')))
WHERE request ->> 'url' <> pg_temp.without_userinfo(request ->> 'url');

ALTER TABLE actions DISABLE TRIGGER actions_append_only;
UPDATE actions
SET parameters = parameters
    || jsonb_build_object('old_url', pg_temp.without_userinfo(parameters ->> 'old_url'),
                          'new_url', pg_temp.without_userinfo(parameters ->> 'new_url'))
WHERE kind = 'set_url'
  AND (parameters ->> 'old_url' <> pg_temp.without_userinfo(parameters ->> 'old_url')
       OR parameters ->> 'new_url' <> pg_temp.without_userinfo(parameters ->> 'new_url'));
ALTER TABLE actions ENABLE TRIGGER actions_append_only;

-- From now on a brand's credentials never follow it to another URL, whoever changes it (a
-- back-office re-route cannot see them): a new base_url drops them. `callbacks brand add`
-- and `set-url` store the new URL's own credentials after the change.
CREATE FUNCTION forget_brand_url_credentials() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    DELETE FROM brand_url_credentials WHERE brand_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER brands_url_changed AFTER UPDATE OF base_url ON brands FOR EACH ROW
    WHEN (OLD.base_url IS DISTINCT FROM NEW.base_url)
    EXECUTE FUNCTION forget_brand_url_credentials();
