-- Named queries of PostgreSQL's catalogs that describe the Callback Desk schema, read by
-- delivery/schema_dump.py to generate sql/schema.sql. Each returns its rows in a fixed order
-- and covers every schema but PostgreSQL's own and the Dramatiq broker's (`dramatiq`).
-- Definitions come from the pg_get_*def functions and format_type, never from pg_dump.

-- name: schemas
-- Schemas of our own other than public, by name.
SELECT quote_ident(n.nspname) AS name
FROM pg_namespace n
WHERE n.nspname NOT IN ('public', 'information_schema', 'dramatiq')
  AND n.nspname !~ '^pg_'
ORDER BY n.nspname;

-- name: extensions
-- Extensions installed besides plpgsql (which every database has), by name.
SELECT quote_ident(extname) AS name FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname;

-- name: enum_types
-- Enum types with their labels in sort order, by qualified name.
SELECT format('%I.%I', n.nspname, t.typname) AS name,
       array_agg(quote_literal(e.enumlabel) ORDER BY e.enumsortorder) AS labels
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
GROUP BY n.nspname, t.typname
ORDER BY 1;

-- name: domains
-- Domains with their base type, default, NOT NULL and check constraints, by qualified name.
SELECT format('%I.%I', n.nspname, t.typname) AS name,
       format_type(t.typbasetype, t.typtypmod) AS base_type,
       t.typdefault AS default_value,
       t.typnotnull AS not_null,
       array(SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
             WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS checks
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND n.nspname NOT IN ('information_schema', 'dramatiq')
  AND n.nspname !~ '^pg_'
ORDER BY 1;

-- name: functions
-- Functions and procedures (not those of extensions) as CREATE statements, by qualified name
-- then arguments.
SELECT pg_get_functiondef(p.oid) AS definition
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND n.nspname NOT IN ('information_schema', 'dramatiq')
  AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY n.nspname, p.proname, pg_get_function_identity_arguments(p.oid);

-- name: sequences
-- Sequences other than identity columns' with their settings and the column owning each, by
-- qualified name (their current values are data, not schema).
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart AS start_value, s.seqincrement AS increment, s.seqmin AS min_value,
       s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycles,
       (SELECT format('%I.%I.%I', tn.nspname, t.relname, a.attname)
        FROM pg_depend d
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a') AS owned_by
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'i')
ORDER BY 1;

-- name: tables
-- Tables and partitioned tables by qualified name: persistence, storage options, row level
-- security, the partition key of a partitioned one and the parent and bound of a partition.
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       c.relname AS bare_name,
       c.relpersistence = 'u' AS unlogged,
       c.reloptions AS options,
       c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       (SELECT format('%I.%I', pn.nspname, pc.relname)
        FROM pg_inherits i
        JOIN pg_class pc ON pc.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = c.oid) AS partition_of,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('information_schema', 'dramatiq')
  AND n.nspname !~ '^pg_'
ORDER BY 1;

-- name: columns
-- Columns of every table in their order, with type, default or generation expression,
-- identity and NOT NULL (dropped columns left out).
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       quote_ident(a.attname) AS name,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       a.attnotnull AS not_null,
       a.attidentity AS identity,
       a.attgenerated AS generated,
       pg_get_expr(ad.adbin, ad.adrelid) AS default_value
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
ORDER BY 1, a.attnum;

-- name: constraints
-- Primary key, unique, foreign key, check and exclusion constraints declared on a table itself
-- (not those a partition inherits; NOT NULL is shown on the columns), by table then name.
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       quote_ident(k.conname) AS name,
       pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conislocal AND k.conparentid = 0
  AND n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
ORDER BY 1, k.conname;

-- name: indexes
-- Indexes that no constraint made and that a partition did not inherit from its parent's, as
-- CREATE INDEX statements, by table then name.
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY 1, ic.relname;

-- name: triggers
-- Triggers a migration created (not internal ones, nor the copies partitions get of their
-- parent's) as CREATE TRIGGER statements, by table then name.
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0
  AND n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
ORDER BY 1, t.tgname;

-- name: policies
-- Row level security policies: command, permissive or restrictive, roles (PUBLIC for none)
-- and their USING and WITH CHECK expressions, by table then name.
SELECT format('%I.%I', n.nspname, c.relname) AS table_name,
       quote_ident(p.polname) AS name,
       p.polpermissive AS permissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
       array(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END
             FROM unnest(p.polroles) AS r ORDER BY 1) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expression,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expression
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('information_schema', 'dramatiq') AND n.nspname !~ '^pg_'
ORDER BY 1, p.polname;

-- name: views
-- Views and materialized views with their defining queries, by qualified name.
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       c.relkind = 'm' AS materialized,
       pg_get_viewdef(c.oid, true) AS definition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('information_schema', 'dramatiq')
  AND n.nspname !~ '^pg_'
ORDER BY 1;
