"""The append-only audit log: who changed or read what, when, from where."""
