-- Last file of the measured session: the backend's /proc/<pid>/stat after the
-- last workload statement has returned (the backend is idle, so its
-- utime+stime are final for the workload).
\! cat "/proc/$SGB_BACKEND_PID/stat" > "$SGB_STAT_END"
