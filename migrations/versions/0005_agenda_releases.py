"""agenda releases: draft edits, schedule versions, room facilities, online links

Revision ID: 0005
Revises: 0008
Create Date: 2026-11-29 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facilities', sa.JSON(), nullable=True))

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('online_url', sa.String(length=500), nullable=True))

    op.create_table('schedule_draft',
    sa.Column('target', sa.Enum('session', 'room', name='draft_target', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('target_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_schedule_draft_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('target', 'target_id', name=op.f('pk_schedule_draft'))
    )
    with op.batch_alter_table('schedule_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_draft_event_id'), ['event_id'], unique=False)

    op.create_table('schedule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('session_ids', sa.JSON(), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_schedule_versions_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['released_by_id'], ['attendees.id'], name=op.f('fk_schedule_versions_released_by_id_attendees'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_versions')),
    sa.UniqueConstraint('event_id', 'number', name=op.f('uq_schedule_versions_event_id_number'))
    )
    with op.batch_alter_table('schedule_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_versions_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_versions_released_at'), ['released_at'], unique=False)


def downgrade():
    with op.batch_alter_table('schedule_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_versions_released_at'))
        batch_op.drop_index(batch_op.f('ix_schedule_versions_event_id'))
    op.drop_table('schedule_versions')

    with op.batch_alter_table('schedule_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_draft_event_id'))
    op.drop_table('schedule_draft')

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('online_url')

    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('facilities')
