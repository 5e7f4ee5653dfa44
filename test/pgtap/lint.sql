-- schema_guard.lint(): each rule firing and not firing, the binary
-- compatible type changes, a table created earlier in the script, CONCURRENTLY
-- inside a transaction block, severity scaled by the size of a table with
-- real rows, ignore comments, and a statement that does not parse.
BEGIN;
SET client_min_messages = warning;
SELECT plan(47);

SET LOCAL schema_guard.lint_warning_rows = 1000;
SET LOCAL schema_guard.lint_error_rows = 50000;
SET LOCAL lock_timeout = 0;

CREATE TABLE lint_big (id bigint PRIMARY KEY, code varchar(20), amount numeric(10,2),
                       n integer, note text, ref bigint);
INSERT INTO lint_big SELECT g, 'c' || g, g, g, 'x', g FROM generate_series(1, 60000) g;
CREATE TABLE lint_mid (id bigint PRIMARY KEY, n integer);
INSERT INTO lint_mid SELECT g, g FROM generate_series(1, 2000) g;
CREATE TABLE lint_small (id bigint PRIMARY KEY, n integer);
INSERT INTO lint_small SELECT g, g FROM generate_series(1, 12) g;
CREATE TABLE lint_empty (id bigint PRIMARY KEY, n integer);
ANALYZE lint_big, lint_mid, lint_small, lint_empty;

-- The rules one statement gets, "rule:severity", sorted.
CREATE FUNCTION pg_temp.rules(script text, in_tx boolean DEFAULT false) RETURNS text
LANGUAGE sql AS $$
  SELECT coalesce(string_agg(rule || ':' || severity, ' ' ORDER BY statement_no, rule), '')
  FROM schema_guard.lint(script, in_tx)
$$;
-- The same, with lock_timeout set first (so require-lock-timeout stays out).
CREATE FUNCTION pg_temp.rules_t(script text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(rule || ':' || severity, ' ' ORDER BY statement_no, rule), '')
  FROM schema_guard.lint(E'SET lock_timeout = ''5s'';\n' || script, false)
$$;

-- Index creation and deletion, scaled by size.
SELECT is(pg_temp.rules_t('CREATE INDEX i ON lint_big (n)'),
  'require-concurrent-index-creation:error', 'CREATE INDEX on 60,000 rows: error');
SELECT is(pg_temp.rules_t('CREATE INDEX i ON lint_mid (n)'),
  'require-concurrent-index-creation:warning', 'on 2,000 rows: warning');
SELECT is(pg_temp.rules_t('CREATE INDEX i ON lint_small (n)'),
  'require-concurrent-index-creation:info', 'on 12 rows: info');
SELECT is(pg_temp.rules_t('CREATE INDEX CONCURRENTLY i ON lint_big (n)'), '',
  'CREATE INDEX CONCURRENTLY: nothing');
SELECT is((SELECT table_rows FROM schema_guard.lint('CREATE INDEX i ON lint_big (n)')
           WHERE rule = 'require-concurrent-index-creation'), 60000::bigint,
  'table_rows is the live estimate');
SELECT ok((SELECT table_bytes >= pg_relation_size('lint_big')
           FROM schema_guard.lint('CREATE INDEX i ON lint_big (n)')
           WHERE rule = 'require-concurrent-index-creation'),
  'table_bytes covers the heap');
SELECT is((SELECT lock FROM schema_guard.lint('CREATE INDEX i ON lint_big (n)') LIMIT 1),
  'SHARE', 'the lock CREATE INDEX takes');
SELECT is(pg_temp.rules_t('CREATE TABLE t2 (id bigint, n bigint); CREATE INDEX i ON t2 (n)'), '',
  'a table created earlier in the script counts as empty');
SELECT is(pg_temp.rules_t('DROP INDEX lint_big_pkey'),
  'require-concurrent-index-deletion:error', 'DROP INDEX: the table''s size');
SELECT is(pg_temp.rules_t('DROP INDEX CONCURRENTLY lint_big_pkey'), '',
  'DROP INDEX CONCURRENTLY: nothing');
SELECT is(pg_temp.rules('BEGIN; CREATE INDEX CONCURRENTLY i ON lint_big (n); COMMIT;'),
  'ban-concurrent-index-creation-in-transaction:error', 'CONCURRENTLY inside BEGIN ... COMMIT');
SELECT is(pg_temp.rules('CREATE INDEX CONCURRENTLY i ON lint_big (n)', true),
  'ban-concurrent-index-creation-in-transaction:error', 'CONCURRENTLY with assume_in_transaction');

-- Columns.
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x bigint NOT NULL'),
  'adding-required-field:error', 'NOT NULL without a default on a table with rows');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_empty ADD COLUMN x bigint NOT NULL'),
  'adding-required-field:info', 'on an empty table: info');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x bigint NOT NULL DEFAULT 0'), '',
  'with a constant default: nothing');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x timestamptz DEFAULT now()'), '',
  'a stable default (now()) does not rewrite');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x uuid DEFAULT gen_random_uuid()'),
  'adding-field-with-default:error', 'a volatile default rewrites');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x bigserial PRIMARY KEY'),
  'adding-field-with-default:error adding-serial-primary-key-field:error prefer-identity:info',
  'a serial primary key');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN code SET NOT NULL'),
  'setting-not-nullable-field:error', 'SET NOT NULL scans');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT code_nn CHECK (code IS NOT NULL) NOT VALID; '
                          'ALTER TABLE lint_big VALIDATE CONSTRAINT code_nn; '
                          'ALTER TABLE lint_big ALTER COLUMN code SET NOT NULL'), '',
  'SET NOT NULL after a validated CHECK (code IS NOT NULL): nothing');
ALTER TABLE lint_mid ADD CONSTRAINT n_nn CHECK (n IS NOT NULL);
SELECT is(pg_temp.rules_t('ALTER TABLE lint_mid ALTER COLUMN n SET NOT NULL'), '',
  'a validated check in the live catalog counts too');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD COLUMN x integer'),
  'prefer-bigint-over-int:info', 'a 32-bit integer column: info');
SELECT is(pg_temp.rules_t('CREATE TABLE t3 (id serial PRIMARY KEY, n bigint)'),
  'prefer-bigint-over-int:info prefer-identity:info', 'serial: prefer identity and bigint');

-- Type changes: the binary-compatible ones do not rewrite.
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN code TYPE text'), '',
  'varchar -> text: nothing');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN code TYPE varchar(50)'), '',
  'varchar(20) -> varchar(50): nothing');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN amount TYPE numeric(14,2)'), '',
  'numeric(10,2) -> numeric(14,2): nothing');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN code TYPE varchar(10)'),
  'changing-column-type:error', 'varchar(20) -> varchar(10) rewrites');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN amount TYPE numeric(14,4)'),
  'changing-column-type:error', 'a numeric scale change rewrites');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN n TYPE bigint'),
  'changing-column-type:error', 'integer -> bigint rewrites');

-- Constraints.
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT fk FOREIGN KEY (ref) REFERENCES lint_small (id)'),
  'adding-foreign-key-constraint:error constraint-missing-not-valid:error', 'a foreign key without NOT VALID');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT fk FOREIGN KEY (ref) REFERENCES lint_small (id) NOT VALID'),
  '', 'NOT VALID: nothing');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT c CHECK (n > 0)'),
  'constraint-missing-not-valid:error', 'a check without NOT VALID');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT u UNIQUE (n)'),
  'disallowed-unique-constraint:error', 'a unique constraint builds its index');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ADD CONSTRAINT u UNIQUE USING INDEX some_idx'),
  '', 'UNIQUE USING INDEX: nothing');

-- Renames and drops break clients.
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big RENAME COLUMN note TO remark'),
  'renaming-column:warning', 'renaming a column');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big RENAME TO lint_huge'),
  'renaming-table:warning', 'renaming a table');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big DROP COLUMN note'),
  'ban-drop-column:warning', 'dropping a column');
SELECT is(pg_temp.rules_t('DROP TABLE lint_small'), 'ban-drop-table:warning', 'dropping a table');
SELECT is(pg_temp.rules_t('DROP DATABASE production'), 'ban-drop-database:error', 'dropping a database');
SELECT is(pg_temp.rules_t('BEGIN; BEGIN; COMMIT;'), 'transaction-nesting:warning', 'BEGIN inside BEGIN');

-- lock_timeout.
SELECT is(pg_temp.rules('ALTER TABLE lint_big ADD COLUMN x text'),
  'require-lock-timeout:error', 'ACCESS EXCLUSIVE on a table with rows and no lock_timeout');
SELECT is(pg_temp.rules('ALTER TABLE lint_empty ADD COLUMN x text'), '',
  'not on an empty table');
SELECT is(pg_temp.rules('BEGIN; SET LOCAL lock_timeout = ''2s''; ALTER TABLE lint_big ADD COLUMN x text; COMMIT;'),
  '', 'SET LOCAL lock_timeout in the block');

-- Ignore comments, on the line before or at the end of the statement.
SELECT is(pg_temp.rules_t(E'-- schema_guard:ignore require-concurrent-index-creation\nCREATE INDEX i ON lint_big (n)'),
  '', 'an ignore comment before the statement');
SELECT is(pg_temp.rules_t(E'CREATE INDEX i ON lint_big (n); -- schema_guard:ignore require-concurrent-index-creation\nCREATE INDEX j ON lint_big (n)'),
  'require-concurrent-index-creation:error', 'a trailing comment belongs to its own line''s statement');
SELECT is(pg_temp.rules_t('ALTER TABLE lint_big ALTER COLUMN code SET NOT NULL /* schema_guard:ignore adding-not-nullable-field */'),
  '', 'squawk''s name for the rule works too');

-- A statement that does not parse is a finding; the rest is still linted.
SELECT results_eq(
  $$SELECT statement_no, line, rule, message FROM schema_guard.lint(
      E'SET lock_timeout = ''5s'';\nCREATE INDEX i ON lint_big (n);\nALTER TABLE lint_big ADD COLUM x int;\nDROP TABLE lint_small;')
    ORDER BY statement_no, rule$$,
  $$VALUES (2, 2, 'require-concurrent-index-creation', 'creating index "i" without CONCURRENTLY blocks writes to table "public.lint_big" while the index is built'),
           (3, 3, 'syntax-error', 'syntax error at or near "int"'),
           (4, 4, 'ban-drop-table', 'dropping table "public.lint_small" breaks clients that still use it and cannot be undone')$$,
  'a syntax error with the parser''s message and line, and the statements after it');

SELECT * FROM finish();
ROLLBACK;
