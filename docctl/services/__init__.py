"""Use cases: one function per user action; each owns its unit of work."""
