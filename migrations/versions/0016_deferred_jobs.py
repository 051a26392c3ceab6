"""deferred_jobs: one table of work left to the dispatcher, for push_fanouts and reminder_replans

The dispatcher's claim no longer knows what is deferred: a crowd's fan-out and a crowd's
re-plan are jobs of a kind (notifications/jobs.py), run before it claims.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deferred_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deferred_jobs'))
    )
    with op.batch_alter_table('reminder_replans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_replans_session_id'))
    op.drop_table('reminder_replans')
    with op.batch_alter_table('push_fanouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_fanouts_session_id'))
    op.drop_table('push_fanouts')


def downgrade():
    op.create_table('push_fanouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('attendee_ids', sa.Text(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('inbox_body', sa.Text(), nullable=True),
    sa.Column('text_values', sa.JSON(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('collapse_key', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_push_fanouts_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_fanouts'))
    )
    with op.batch_alter_table('push_fanouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_fanouts_session_id'), ['session_id'], unique=False)
    op.create_table('reminder_replans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('starts_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_reminder_replans_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_replans'))
    )
    with op.batch_alter_table('reminder_replans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_replans_session_id'), ['session_id'], unique=False)
    op.drop_table('deferred_jobs')
