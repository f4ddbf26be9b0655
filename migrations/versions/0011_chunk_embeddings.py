"""Chunk embeddings: a passage's vector for organisations that name an embedding model.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('chunk_embeddings',
    sa.Column('chunk_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('space', sa.String(length=160), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['chunk_id'], ['chunks.id'], name=op.f('fk_chunk_embeddings_chunk_id_chunks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_chunk_embeddings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chunk_id', name=op.f('pk_chunk_embeddings'))
    )
    with op.batch_alter_table('chunk_embeddings', schema=None) as batch_op:
        batch_op.create_index('ix_chunk_embeddings_tenant_id_space', ['tenant_id', 'space'], unique=False)



def downgrade():
    with op.batch_alter_table('chunk_embeddings', schema=None) as batch_op:
        batch_op.drop_index('ix_chunk_embeddings_tenant_id_space')

    op.drop_table('chunk_embeddings')
