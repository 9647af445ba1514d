"""Safe schema changes: a database-wide migration lock, resumable revisions, pending checks."""
