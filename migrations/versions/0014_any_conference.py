"""any conference: session guids and languages, imported speakers' names, the new kinds,
an event's day change and its source, and what asked for a release

A session's guid is its identity across versions and sources; existing sessions get the
one the exports already wrote (uuid5 of their calendar uid), so apps keep favourites.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:10:00.000000

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OLD_KINDS = ('registration', 'opening', 'keynote', 'panel', 'break', 'lunch', 'side_event',
             'networking', 'closing')
NEW_KINDS = ('registration', 'opening', 'keynote', 'panel', 'talk', 'workshop', 'break',
             'lunch', 'side_event', 'networking', 'closing', 'other')


def kind_type(kinds):
    return sa.Enum(*kinds, name='session_kind', native_enum=False, create_constraint=True)


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('day_change', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('source_url', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('source_etag', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_modified', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('source_publish', sa.Boolean(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('source_checked_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('schedule_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.JSON(), nullable=True))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guid', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('speaker_names', sa.JSON(), nullable=True))

    connection = op.get_bind()
    rows = connection.execute(sa.text(
        'SELECT sessions.id, sessions.key, events.slug FROM sessions '
        'JOIN events ON events.id = sessions.event_id')).all()
    for session_id, key, slug in rows:
        guid = uuid.uuid5(uuid.NAMESPACE_URL, f'{key or session_id}@{slug}.companion')
        connection.execute(sa.text("UPDATE sessions SET guid = :guid, speaker_names = '[]' "
                                   'WHERE id = :id'), {'guid': str(guid), 'id': session_id})

    if connection.dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_sessions_session_kind'), 'sessions', type_='check')
        op.create_check_constraint(op.f('ck_sessions_session_kind'), 'sessions',
                                   sa.column('kind').in_(NEW_KINDS))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.alter_column('guid', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('speaker_names', existing_type=sa.JSON(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_sessions_event_id_guid'),
                                          ['event_id', 'guid'])
        if connection.dialect.name != 'postgresql':
            batch_op.alter_column('kind', existing_type=kind_type(OLD_KINDS),
                                  type_=kind_type(NEW_KINDS), existing_nullable=False)


def downgrade():
    connection = op.get_bind()
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sessions_event_id_guid'), type_='unique')
        batch_op.drop_column('speaker_names')
        batch_op.drop_column('language')
        batch_op.drop_column('guid')
    if connection.dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_sessions_session_kind'), 'sessions', type_='check')
        op.create_check_constraint(op.f('ck_sessions_session_kind'), 'sessions',
                                   sa.column('kind').in_(OLD_KINDS))
    with op.batch_alter_table('schedule_versions', schema=None) as batch_op:
        batch_op.drop_column('origin')
    with op.batch_alter_table('events', schema=None) as batch_op:
        for name in ('source_checked_at', 'source_publish', 'source_modified', 'source_etag',
                     'source_url', 'day_change'):
            batch_op.drop_column(name)
