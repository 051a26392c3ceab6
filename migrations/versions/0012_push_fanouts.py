"""push_fanouts: a release's pushes to a crowd, one row per language until dispatched

A release wrote a row per attendee into push_outbox (six indexes each) before it
answered; now it writes one fan-out per language and the dispatcher writes the rows
(notifications/notify.py `expand`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 11:04:12.510344

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
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



def downgrade():
    with op.batch_alter_table('push_fanouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_fanouts_session_id'))

    op.drop_table('push_fanouts')
