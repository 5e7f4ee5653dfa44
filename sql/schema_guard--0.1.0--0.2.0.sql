-- schema_guard 0.1.0 -> 0.2.0. Each change to schema_guard--0.2.0.sql has its
-- counterpart here; test/shell/upgrade.sh checks that an updated 0.1.0
-- database has exactly the objects of a fresh 0.2.0 install, and its data.
-- Tables only gain columns at the end, as the fresh script declares them.
\echo Use "ALTER EXTENSION schema_guard UPDATE TO '0.2.0'" to load this file. \quit
