-- The texts the linter and the DDL guard show: lint() rows for a short
-- migration, the guard's WARNING (warn) and ERROR (block) with their detail
-- and hint.
CREATE EXTENSION IF NOT EXISTS schema_guard;
CREATE TABLE lint_orders (id bigint PRIMARY KEY, n integer, code varchar(20));
INSERT INTO lint_orders SELECT g, g, 'c' || g FROM generate_series(1, 30000) g;
CREATE TABLE lint_codes (id bigint PRIMARY KEY);
INSERT INTO lint_codes SELECT g FROM generate_series(1, 12) g;
ANALYZE lint_orders, lint_codes;
SET schema_guard.lint_warning_rows = 1000;
SET schema_guard.lint_error_rows = 20000;

SELECT statement_no, line, rule, severity, object, lock, table_rows, message, hint
FROM schema_guard.lint($$
CREATE INDEX lint_orders_n ON lint_orders (n);
CREATE INDEX lint_codes_id ON lint_codes (id);
ALTER TABLE lint_orders ALTER COLUMN code TYPE text;
ALTER TABLE lint_orders ADD COLUMN status integer NOT NULL;
ALTER TABLE lint_orders ADD CONSTRAINT lint_orders_code FOREIGN KEY (n) REFERENCES lint_codes (id);
ALTER TABLE lint_orders RENAM COLUMN n TO m;
$$) ORDER BY statement_no, rule;

-- The guard.
SET schema_guard.guard_min_rows = 10000;
CREATE INDEX lint_codes_small ON lint_codes (id);
CREATE INDEX lint_orders_n ON lint_orders (n);
SET schema_guard.guard = block;
CREATE INDEX lint_orders_code ON lint_orders (code);
SET lock_timeout = '5s';
ALTER TABLE lint_orders ALTER COLUMN n TYPE bigint;
ALTER TABLE lint_orders SET UNLOGGED;
BEGIN;
SET LOCAL schema_guard.guard = off;
CREATE INDEX lint_orders_code ON lint_orders (code);
COMMIT;
SELECT action, rule, object, lock, table_rows, statement FROM schema_guard.guard_event ORDER BY event_id;
RESET lock_timeout;
RESET schema_guard.guard;
DROP TABLE lint_orders, lint_codes;
