"""identities: the login renamed from, and the ADMIN_USERS entry bound to the account

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 07:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('renamed_from', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('admin_grant', sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_identities_admin_grant'), ['admin_grant'])


def downgrade():
    with op.batch_alter_table('identities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_identities_admin_grant'), type_='unique')
        batch_op.drop_column('admin_grant')
        batch_op.drop_column('renamed_from')
