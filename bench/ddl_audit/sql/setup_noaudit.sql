-- Configuration 1: no audit at all (pgaudit is preloaded cluster-wide but
-- pgaudit.log = 'none' here, as in every database but the pgaudit one).
SELECT 1;
