"""read path: attendees.agenda_version (bookmarks, preferences) and events.live_generation (seed) key the ETags

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-29 03:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_generation', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agenda_version', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_column('agenda_version')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('live_generation')
