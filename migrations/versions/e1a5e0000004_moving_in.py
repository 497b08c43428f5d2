"""moving in: departments and users managed, codes kept as typed, issue/amendment labels,
formats, printed metadata and import runs (issue #10)

Revision ID: e1a5e0000004
Revises: d00dfeed0003
Create Date: 2026-12-07 03:30:00.000000

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa

import docctl.models


# revision identifiers, used by Alembic.
revision = 'e1a5e0000004'
down_revision = 'd00dfeed0003'
branch_labels = None
depends_on = None


def _key(code: str) -> str:
    # A frozen copy of textfold.code_key as it was when this migration was written.
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFC", code).strip())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    folded = stripped.replace("đ", "d").replace("Đ", "D").lower()
    return re.sub(r"[\s._\-/]+", "", folded)


# The append-only triggers of a7c3e91f2b40, frozen: SQLite rebuilds the table to change a
# column's type, which drops its triggers, so they are created again on the new table.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]


def _widen_roles(bind, before: int, after: int) -> None:
    # Several roles per user ("staff,reviewer") need more room than one role name.
    sqlite = bind.dialect.name == "sqlite"
    for table, column in (('user', 'role'), ('audit_event', 'actor_role')):
        if sqlite and table == 'audit_event':
            op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
            op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=before),
                                  type_=sa.String(length=after), existing_nullable=False)
        if sqlite and table == 'audit_event':
            for statement in SQLITE_TRIGGERS:
                op.execute(statement)


def upgrade():
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.Column('started_at', docctl.models.UTCDateTime(), nullable=False),
    sa.Column('finished_at', docctl.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_import_run_actor_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run'))
    )
    op.create_index(op.f('ix_import_run_state'), 'import_run', ['state'], unique=False)
    with op.batch_alter_table('department') as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.text('true'),
                                      nullable=False))
    bind = op.get_bind()
    _widen_roles(bind, 20, 120)
    with op.batch_alter_table('user') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(),
                                      server_default=sa.text('false'), nullable=False))
    op.add_column('document', sa.Column('code_key', sa.String(length=40), nullable=True))
    for doc_id, code in bind.execute(sa.text('SELECT id, code FROM document')).fetchall():
        bind.execute(sa.text('UPDATE document SET code_key = :k WHERE id = :i'),
                     {"k": _key(code), "i": doc_id})
    with op.batch_alter_table('document') as batch_op:
        batch_op.alter_column('code_key', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_document_code_key'), ['code_key'])
    with op.batch_alter_table('revision') as batch_op:
        batch_op.add_column(sa.Column('issue', sa.Integer(), server_default=sa.text('1'),
                                      nullable=False))
        batch_op.add_column(sa.Column('amendment', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.add_column(sa.Column('media', sa.String(length=10), server_default='docx',
                                      nullable=False))
        batch_op.add_column(sa.Column('original_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('printed', sa.Text(), server_default='{}',
                                      nullable=False))
        batch_op.add_column(sa.Column('origin_approver', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('origin_approved_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('import_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_revision_import_run_id_import_run'),
                                    'import_run', ['import_run_id'], ['id'])
    # Revisions made before labels: issue N is the Nth revision, never amended.
    op.execute('UPDATE revision SET issue = number, amendment = 0')
    op.add_column('draft_file', sa.Column('original', sa.LargeBinary(), nullable=True))


def downgrade():
    op.drop_column('draft_file', 'original')
    with op.batch_alter_table('revision') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_revision_import_run_id_import_run'),
                                 type_='foreignkey')
        for name in ('import_run_id', 'origin_approved_on', 'origin_approver', 'printed',
                     'original_name', 'media', 'amendment', 'issue'):
            batch_op.drop_column(name)
    with op.batch_alter_table('document') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_document_code_key'), type_='unique')
        batch_op.drop_column('code_key')
    with op.batch_alter_table('user') as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('email')
    _widen_roles(op.get_bind(), 120, 20)
    with op.batch_alter_table('department') as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('name_en')
    op.drop_index(op.f('ix_import_run_state'), table_name='import_run')
    op.drop_table('import_run')
