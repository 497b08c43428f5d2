"""instance settings (the secret key's fingerprint)

Revision ID: c0ffee000002
Revises: a7c3e91f2b40
Create Date: 2026-12-07 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import docctl.models


# revision identifiers, used by Alembic.
revision = 'c0ffee000002'
down_revision = 'a7c3e91f2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', docctl.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_setting'))
    )


def downgrade():
    op.drop_table('setting')
