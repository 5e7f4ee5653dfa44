-- Configuration 4: the PL/pgSQL event-trigger pair a DBA would write by hand:
-- ddl_command_end -> one row per pg_event_trigger_ddl_commands() row,
-- sql_drop        -> one row per pg_event_trigger_dropped_objects() row,
-- both into one table with a bigserial primary key.
CREATE SCHEMA bench_audit;

CREATE TABLE bench_audit.ddl_log (
    id               bigserial PRIMARY KEY,
    event            text        NOT NULL,
    classid          oid,
    objid            oid,
    command_tag      text,
    object_type      text,
    schema_name      text,
    object_identity  text,
    query            text,
    session_user_name name,
    logged_at        timestamptz,
    txid             bigint
);

CREATE FUNCTION bench_audit.log_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_audit.ddl_log
        (event, classid, objid, command_tag, object_type, schema_name,
         object_identity, query, session_user_name, logged_at, txid)
    SELECT 'ddl_command_end', c.classid, c.objid, c.command_tag, c.object_type,
           c.schema_name, c.object_identity, current_query(), session_user,
           now(), txid_current()
    FROM pg_event_trigger_ddl_commands() AS c;
END
$$;

CREATE FUNCTION bench_audit.log_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_audit.ddl_log
        (event, classid, objid, command_tag, object_type, schema_name,
         object_identity, query, session_user_name, logged_at, txid)
    SELECT 'sql_drop', d.classid, d.objid, tg_tag, d.object_type,
           d.schema_name, d.object_identity, current_query(), session_user,
           now(), txid_current()
    FROM pg_event_trigger_dropped_objects() AS d;
END
$$;

CREATE EVENT TRIGGER bench_audit_ddl_command_end ON ddl_command_end
    EXECUTE FUNCTION bench_audit.log_ddl_command_end();
CREATE EVENT TRIGGER bench_audit_sql_drop ON sql_drop
    EXECUTE FUNCTION bench_audit.log_sql_drop();
