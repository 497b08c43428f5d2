"""two-step sign-in (TOTP, recovery codes) and shared sign-in failure counters

Revision ID: d00dfeed0003
Revises: c0ffee000002
Create Date: 2026-12-07 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import docctl.models


# revision identifiers, used by Alembic.
revision = 'd00dfeed0003'
down_revision = 'c0ffee000002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('user', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('user', sa.Column('totp_enabled_at', docctl.models.UTCDateTime(),
                                    nullable=True))
    op.add_column('user', sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', docctl.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', docctl.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    op.create_index(op.f('ix_recovery_code_user_id'), 'recovery_code', ['user_id'], unique=False)
    op.create_table('login_counter',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', docctl.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_counter'))
    )
    op.create_index(op.f('ix_login_counter_expires_at'), 'login_counter', ['expires_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_login_counter_expires_at'), table_name='login_counter')
    op.drop_table('login_counter')
    op.drop_index(op.f('ix_recovery_code_user_id'), table_name='recovery_code')
    op.drop_table('recovery_code')
    with op.batch_alter_table('user') as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
