-- Optional configuration (--configs ...,empty_evt): empty PL/pgSQL event
-- triggers on ddl_command_end, sql_drop and table_rewrite.  Measures what
-- merely having event triggers costs (PostgreSQL then collects every
-- command for pg_event_trigger_ddl_commands()), with nothing recorded: the
-- floor any event-trigger based audit starts from.
CREATE FUNCTION public.bench_empty_evt() RETURNS event_trigger
LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER bench_empty_ddl_command_end ON ddl_command_end
    EXECUTE FUNCTION public.bench_empty_evt();
CREATE EVENT TRIGGER bench_empty_sql_drop ON sql_drop
    EXECUTE FUNCTION public.bench_empty_evt();
CREATE EVENT TRIGGER bench_empty_table_rewrite ON table_rewrite
    EXECUTE FUNCTION public.bench_empty_evt();
