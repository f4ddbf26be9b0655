"""Agent sessions (spec 004): a session's status and metadata; a message's public id, format and
search terms, with the databases' own full-text index over them (like the chunks', migration 0009).

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('format', sa.String(length=10), server_default='text', nullable=False))
        batch_op.add_column(sa.Column('terms', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_chat_messages_uid', ['uid'], unique=True)

    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('meta', sa.JSON(), server_default='{}', nullable=False))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE chat_messages ADD COLUMN search_vector tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED")
        op.execute("CREATE INDEX ix_chat_messages_search_vector ON chat_messages USING gin (search_vector)")
    else:
        op.execute("CREATE VIRTUAL TABLE chat_messages_fts USING fts5(terms, content='chat_messages', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
        op.execute("CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages BEGIN "
                   "INSERT INTO chat_messages_fts (rowid, terms) VALUES (new.id, new.terms); END")
        op.execute("CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages BEGIN "
                   "INSERT INTO chat_messages_fts (chat_messages_fts, rowid, terms) "
                   "VALUES ('delete', old.id, old.terms); END")
        op.execute("CREATE TRIGGER chat_messages_fts_update AFTER UPDATE OF terms ON chat_messages BEGIN "
                   "INSERT INTO chat_messages_fts (chat_messages_fts, rowid, terms) "
                   "VALUES ('delete', old.id, old.terms); "
                   "INSERT INTO chat_messages_fts (rowid, terms) VALUES (new.id, new.terms); END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_chat_messages_search_vector")
        op.execute("ALTER TABLE chat_messages DROP COLUMN search_vector")
    else:
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER chat_messages_fts_{trigger}")
        op.execute("DROP TABLE chat_messages_fts")

    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_column('meta')
        batch_op.drop_column('status')

    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_uid')
        batch_op.drop_column('terms')
        batch_op.drop_column('format')
        batch_op.drop_column('uid')
