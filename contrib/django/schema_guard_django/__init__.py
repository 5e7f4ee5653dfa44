"""schema_guard for Django: the expected schema and the migration graph from
the project, a one-line CI check, and a graph re-declared after migrate."""
