"""Pure rules of document control: no Flask, SQLAlchemy, git or Whoosh here."""
