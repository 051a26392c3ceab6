"""idempotency_keys: the Idempotency-Key an attendee sent, with the answer it got

A POST that pushes or releases, sent again with the same key within 24 hours, gets the
kept answer and does nothing more (companion/idempotency.py). The row is written in the
request's own transaction, before its work: a concurrent request with the key waits on it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotency_keys',
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=255), nullable=True),
    sa.Column('location', sa.String(length=2048), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_idempotency_keys_attendee_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attendee_id', 'key', name=op.f('pk_idempotency_keys'))
    )


def downgrade():
    op.drop_table('idempotency_keys')
