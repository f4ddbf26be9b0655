"""session version; the base URL a key was saved for; sharing the default key with personal tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BUILTIN_OPENAI_URL = "https://api.openai.com/v1"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('llm_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('openai_key_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('share_key_with_personal_tokens', sa.Boolean(), nullable=True))
    # Bind every saved key to the base URL it is used with today (own, else the default's, else built-in).
    op.execute(sa.text(
        "UPDATE llm_configs SET openai_key_url = COALESCE(openai_base_url, "
        "(SELECT d.openai_base_url FROM llm_configs d WHERE d.scope_key = 'default'), :builtin) "
        "WHERE openai_api_key IS NOT NULL").bindparams(builtin=BUILTIN_OPENAI_URL))


def downgrade():
    with op.batch_alter_table('llm_configs', schema=None) as batch_op:
        batch_op.drop_column('share_key_with_personal_tokens')
        batch_op.drop_column('openai_key_url')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
