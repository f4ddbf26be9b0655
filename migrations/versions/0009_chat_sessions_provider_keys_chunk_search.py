"""chat sessions, provider keys, chunk search index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provider_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('hint', sa.String(length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_provider_keys_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_provider_keys_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_keys'))
    )
    with op.batch_alter_table('provider_keys', schema=None) as batch_op:
        batch_op.create_index('ix_provider_keys_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('chat_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_chat_sessions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_chat_sessions_token_id_api_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_sessions'))
    )
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_chat_sessions_tenant_id_user_id_updated_at', ['tenant_id', 'user_id', 'updated_at'], unique=False)

    op.create_table('chat_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], name=op.f('fk_chat_messages_session_id_chat_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages'))
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_chat_messages_session_id_id', ['session_id', 'id'], unique=False)

    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms', sa.Text(), nullable=False, server_default=''))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE chunks ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED")
        op.execute("CREATE INDEX ix_chunks_search_vector ON chunks USING gin (search_vector)")
    else:
        # An external-content FTS5 table over chunks.terms, kept in step by triggers (SQLite's documented pattern).
        op.execute("CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, content='chunks', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        op.execute("CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN "
                   "INSERT INTO chunks_fts (rowid, terms) VALUES (new.id, new.terms); END")
        op.execute("CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN "
                   "INSERT INTO chunks_fts (chunks_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END")
        op.execute("CREATE TRIGGER chunks_fts_update AFTER UPDATE OF terms ON chunks BEGIN "
                   "INSERT INTO chunks_fts (chunks_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
                   "INSERT INTO chunks_fts (rowid, terms) VALUES (new.id, new.terms); END")
    # Chunks read before there were search terms: read again (the ingest sweeper picks them up).
    op.execute("UPDATE documents SET status = 'pending', progress = 0 "
               "WHERE id IN (SELECT DISTINCT document_id FROM chunks)")



def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_chunks_search_vector")
        op.execute("ALTER TABLE chunks DROP COLUMN search_vector")
    else:
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER chunks_fts_{trigger}")
        op.execute("DROP TABLE chunks_fts")
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('terms')

    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_session_id_id')

    op.drop_table('chat_messages')
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_sessions_tenant_id_user_id_updated_at')

    op.drop_table('chat_sessions')
    with op.batch_alter_table('provider_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_provider_keys_tenant_id_created_at')

    op.drop_table('provider_keys')
