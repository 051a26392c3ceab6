"""reminder_replans: a crowd's reminders of a released session, re-planned by the dispatcher

A release re-keyed the reminders of each changed session (a new row version in six
indexes each) before it answered; for a session of PUSH_FANOUT_FROM people or more it
now writes one row here, and the dispatcher re-plans the reminders before it claims
(notifications/releases.py `replan_waiting`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
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


def downgrade():
    with op.batch_alter_table('reminder_replans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_replans_session_id'))

    op.drop_table('reminder_replans')
