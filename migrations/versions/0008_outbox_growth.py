"""outbox growth: partial indexes of the messages still to send

The dispatcher claims the earliest due of the live messages (pending, or sending with a
lapsed lease) and expires the overdue ones, every round. Indexes on just those rows keep
both reads to the batch at hand however many messages wait or have been sent
(bench/growth.py prints the plans at 10,000 and 100,000 pending).

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-29 02:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0003'
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('pending', 'sending')")


def upgrade():
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_push_outbox_live_next_attempt_at', ['next_attempt_at', 'id'],
                              unique=False, postgresql_where=LIVE, sqlite_where=LIVE)
        batch_op.create_index('ix_push_outbox_live_expires_at', ['expires_at'],
                              unique=False, postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade():
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_push_outbox_live_expires_at')
        batch_op.drop_index('ix_push_outbox_live_next_attempt_at')
