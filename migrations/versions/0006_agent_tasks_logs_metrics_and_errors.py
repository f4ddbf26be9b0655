"""agent tasks, logs, metrics and errors

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:00:00

"""
from alembic import op
import sqlalchemy as sa



revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_token_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('estimated_time_remaining', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('origin_task_id', sa.Uuid(), nullable=True),
    sa.Column('fix_depth', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_token_id'], ['api_tokens.id'], name=op.f('fk_tasks_created_by_token_id_api_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_tasks_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['origin_task_id'], ['tasks.id'], name=op.f('fk_tasks_origin_task_id_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tasks_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tasks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_tasks_origin_task_id', ['origin_task_id'], unique=False)
        batch_op.create_index('ix_tasks_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_tasks_user_id_created_at', ['user_id', 'created_at'], unique=False)

    op.create_table('task_errors',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('error_code', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('stack_trace', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('auto_fix_task_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auto_fix_task_id'], ['tasks.id'], name=op.f('fk_task_errors_auto_fix_task_id_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_errors_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_errors'))
    )
    with op.batch_alter_table('task_errors', schema=None) as batch_op:
        batch_op.create_index('ix_task_errors_task_id_id', ['task_id', 'id'], unique=False)

    op.create_table('task_logs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_logs_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_logs'))
    )
    with op.batch_alter_table('task_logs', schema=None) as batch_op:
        batch_op.create_index('ix_task_logs_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_task_logs_task_id_id', ['task_id', 'id'], unique=False)

    op.create_table('task_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('execution_time', sa.Float(), nullable=True),
    sa.Column('memory_usage', sa.Float(), nullable=True),
    sa.Column('cpu_usage', sa.Float(), nullable=True),
    sa.Column('disk_usage', sa.Float(), nullable=True),
    sa.Column('network_usage', sa.Float(), nullable=True),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_metrics_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_metrics'))
    )
    with op.batch_alter_table('task_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_task_metrics_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_task_metrics_task_id_id', ['task_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('task_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_task_metrics_task_id_id')
        batch_op.drop_index('ix_task_metrics_created_at')

    op.drop_table('task_metrics')
    with op.batch_alter_table('task_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_task_logs_task_id_id')
        batch_op.drop_index('ix_task_logs_created_at')

    op.drop_table('task_logs')
    with op.batch_alter_table('task_errors', schema=None) as batch_op:
        batch_op.drop_index('ix_task_errors_task_id_id')

    op.drop_table('task_errors')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_user_id_created_at')
        batch_op.drop_index('ix_tasks_tenant_id_created_at')
        batch_op.drop_index('ix_tasks_origin_task_id')
        batch_op.drop_index('ix_tasks_created_at')

    op.drop_table('tasks')
