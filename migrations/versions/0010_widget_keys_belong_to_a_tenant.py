"""widget keys belong to a tenant

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 17:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('secret', sa.Text(), nullable=True))
        batch_op.create_index('uq_api_tokens_active_widget', ['tenant_id'], unique=True, sqlite_where=sa.text("kind = 'widget' AND status = 'active'"), postgresql_where=sa.text("kind = 'widget' AND status = 'active'"))
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_tenant_id_tenants'), 'tenants', ['tenant_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_tenant_id_tenants'), type_='foreignkey')
        batch_op.drop_index('uq_api_tokens_active_widget', sqlite_where=sa.text("kind = 'widget' AND status = 'active'"), postgresql_where=sa.text("kind = 'widget' AND status = 'active'"))
        batch_op.drop_column('secret')
        batch_op.drop_column('tenant_id')

