"""`docctl import [--dry-run] [--json] DIR`: bring an existing documented system in."""

COMMANDS: tuple = ()
