"""an index for "in force on day D": status, effective date, document, number (issue #11)

Revision ID: f2c0000006
Revises: f2c0000005
Create Date: 2026-12-07 14:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f2c0000006'
down_revision = 'f2c0000005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index('ix_revision_in_force',
                              ['status', 'effective_date', 'document_id', 'number'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index('ix_revision_in_force')
