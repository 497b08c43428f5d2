"""verification runs; the audit trail refuses UPDATE and DELETE

Revision ID: a7c3e91f2b40
Revises: d4e2b7160b9e
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import docctl.models


# revision identifiers, used by Alembic.
revision = 'a7c3e91f2b40'
down_revision = 'd4e2b7160b9e'
branch_labels = None
depends_on = None

# The same statements as docctl.services.audit.APPEND_ONLY_DDL, frozen here as of this revision.
SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION docctl_audit_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION docctl_audit_append_only()",
    # Only here, not in the tests' create_all: their fixtures empty tables with TRUNCATE.
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION docctl_audit_append_only()",
]


def upgrade():
    op.create_table('verification_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', docctl.models.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('findings_count', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_run'))
    )
    with op.batch_alter_table('verification_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_run_at'), ['at'], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS docctl_audit_append_only()")
    with op.batch_alter_table('verification_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_run_at'))

    op.drop_table('verification_run')
