-- First file of the measured session (psql -f prologue.sql -f workload.sql
-- -f epilogue.sql, one connection).  Records the backend pid and the
-- backend's /proc/<pid>/stat before the workload.  The harness sets
-- SGB_PIDFILE, SGB_STAT_START and SGB_STAT_END in psql's environment.
SELECT pg_backend_pid() AS sgb_backend_pid \gset
\setenv SGB_BACKEND_PID :sgb_backend_pid
\! echo "$SGB_BACKEND_PID" > "$SGB_PIDFILE"; cat "/proc/$SGB_BACKEND_PID/stat" > "$SGB_STAT_START"
