"""outbox: fewer indexes written with every message

A release writes thousands of messages; each is written into every index. Two of them
no query needed:
- ix_push_outbox_status_next_attempt_at: the worker's next due time reads the partial
  index on live messages (as the claim does); `revive`, a rehearsal's, reads the table;
- ix_push_outbox_origin: only broadcasts (announcements, pings) are read by origin; it
  becomes ix_push_outbox_broadcast_origin, on their rows only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BROADCASTS = sa.text("kind IN ('announcement', 'ping')")


def upgrade():
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_push_outbox_status_next_attempt_at')
        batch_op.drop_index('ix_push_outbox_origin')
        batch_op.create_index('ix_push_outbox_broadcast_origin', ['origin'], unique=False,
                              postgresql_where=BROADCASTS, sqlite_where=BROADCASTS)


def downgrade():
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_push_outbox_broadcast_origin')
        batch_op.create_index('ix_push_outbox_origin', ['origin'], unique=False)
        batch_op.create_index('ix_push_outbox_status_next_attempt_at',
                              ['status', 'next_attempt_at'], unique=False)
