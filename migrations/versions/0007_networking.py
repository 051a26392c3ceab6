"""networking: profiles, contacts, contact requests, blocks; anonymous privacy counts

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-29 02:14:05.953037

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('privacy_counts',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_privacy_counts_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'name', name=op.f('pk_privacy_counts'))
    )
    op.create_table('blocks',
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blocked_id'], ['attendees.id'], name=op.f('fk_blocks_blocked_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blocker_id'], ['attendees.id'], name=op.f('fk_blocks_blocker_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_blocked_id'), ['blocked_id'], unique=False)

    op.create_table('contact_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'declined', name='contact_request_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['attendees.id'], name=op.f('fk_contact_requests_recipient_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['attendees.id'], name=op.f('fk_contact_requests_requester_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_requests')),
    sa.UniqueConstraint('requester_id', 'recipient_id', name=op.f('uq_contact_requests_requester_id_recipient_id'))
    )
    with op.batch_alter_table('contact_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_requests_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_requests_requester_id'), ['requester_id'], unique=False)

    op.create_table('contacts',
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.Enum('card', 'request', name='contact_via', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['attendees.id'], name=op.f('fk_contacts_contact_id_attendees'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['attendees.id'], name=op.f('fk_contacts_owner_id_attendees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('owner_id', 'contact_id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('bio', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('topics', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('languages_spoken', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('links', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('share_email', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('share_phone', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('share_links', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('contact_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_attendees_contact_code'), ['contact_code'])

    fill_search_text()


def fold(text):
    """As companion.networking.models.fold, frozen here."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fill_search_text():
    """The directory's search text of the attendees already there (no topics yet)."""
    attendees = sa.table("attendees", sa.column("id", sa.Integer),
                         sa.column("name", sa.String), sa.column("organisation", sa.String),
                         sa.column("country", sa.String), sa.column("search_text", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(attendees.c.id, attendees.c.name,
                                        attendees.c.organisation, attendees.c.country)).all()
    for row in rows:
        text = fold(" ".join(part for part in row[1:] if part))
        connection.execute(attendees.update().where(attendees.c.id == row.id)
                           .values(search_text=" ".join(re.findall(r"[^\W_]+", text))))



def downgrade():
    with op.batch_alter_table('attendees', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attendees_contact_code'), type_='unique')
        batch_op.drop_column('search_text')
        batch_op.drop_column('contact_code')
        batch_op.drop_column('share_links')
        batch_op.drop_column('share_phone')
        batch_op.drop_column('share_email')
        batch_op.drop_column('links')
        batch_op.drop_column('phone')
        batch_op.drop_column('languages_spoken')
        batch_op.drop_column('topics')
        batch_op.drop_column('bio')
        batch_op.drop_column('title')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_contact_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('contact_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_requests_requester_id'))
        batch_op.drop_index(batch_op.f('ix_contact_requests_recipient_id'))

    op.drop_table('contact_requests')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_blocked_id'))

    op.drop_table('blocks')
    op.drop_table('privacy_counts')
