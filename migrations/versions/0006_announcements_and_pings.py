"""announcements and pings; outbox messages know their origin and tokens pruned

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 02:10:39.712600

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('texts', sa.JSON(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('muted', sa.Integer(), nullable=False),
    sa.Column('with_device', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['attendees.id'], name=op.f('fk_announcements_author_id_attendees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_announcements_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_announcements_event_id'), ['event_id'], unique=False)

    op.create_table('pings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=16), nullable=True),
    sa.Column('message', sa.String(length=140), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sender_id'], ['attendees.id'], name=op.f('fk_pings_sender_id_attendees'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_pings_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pings'))
    )
    with op.batch_alter_table('pings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pings_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pings_session_id'), ['session_id'], unique=False)

    op.create_table('ping_recipients',
    sa.Column('ping_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendees.id'], name=op.f('fk_ping_recipients_attendee_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ping_id'], ['pings.id'], name=op.f('fk_ping_recipients_ping_id_pings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ping_id', 'attendee_id', name=op.f('pk_ping_recipients'))
    )
    with op.batch_alter_table('ping_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ping_recipients_attendee_id'), ['attendee_id'], unique=False)

    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('tokens_pruned', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_push_outbox_origin'), ['origin'], unique=False)



def downgrade():
    with op.batch_alter_table('push_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_outbox_origin'))
        batch_op.drop_column('tokens_pruned')
        batch_op.drop_column('origin')

    with op.batch_alter_table('ping_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ping_recipients_attendee_id'))

    op.drop_table('ping_recipients')
    with op.batch_alter_table('pings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pings_session_id'))
        batch_op.drop_index(batch_op.f('ix_pings_sender_id'))

    op.drop_table('pings')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcements_event_id'))
        batch_op.drop_index(batch_op.f('ix_announcements_author_id'))

    op.drop_table('announcements')
