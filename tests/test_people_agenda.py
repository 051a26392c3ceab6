"""personal_schedule(): what is on an attendee's agenda, and when each reminder is due."""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from companion.extensions import db
from companion.people.models import Attendee, Bookmark
from companion.people.agenda import (
    ROLE_REMINDER_MINUTES,
    agendas,
    personal_schedule,
    personal_schedules,
    session_audience,
)
from companion.schedule.models import Event, Session, SessionPerson
from companion.schedule.states import session_state

UTC = timezone.utc


def keys(items) -> list[str]:
    return [item.session.key for item in items]


def choose(attendee, session, following: bool):
    db.session.add(Bookmark(attendee_id=attendee.id, session_id=session.id, following=following))
    db.session.commit()


def give_role(attendee, session, role: str):
    db.session.add(SessionPerson(session_id=session.id, attendee_id=attendee.id, role=role))
    db.session.commit()


def test_everyone_gets_the_panels_and_the_cocktail_with_a_ten_minute_reminder(make_attendee):
    items = personal_schedule(make_attendee())
    assert keys(items) == ["panel-1", "networking-cocktail", "panel-2", "panel-3", "panel-4"]
    assert all(item.reasons == {"default"} for item in items)
    panel_1 = items[0]
    # 16:30 in Vienna on 30 March 2020 is 14:30 UTC (summer time began the day before).
    assert panel_1.reminder_at == datetime(2020, 3, 30, 14, 20, tzinfo=UTC)
    assert panel_1.reminder_at.utcoffset() == timedelta(0)
    assert panel_1.timezone == "Europe/Vienna"
    assert all(item.overlaps == [] for item in items)


def test_followed_sessions_join_and_muted_defaults_leave(make_attendee, by_key):
    ada = make_attendee(reminder_minutes=25)
    choose(ada, by_key["keynotes"], True)
    choose(ada, by_key["panel-2"], False)
    choose(ada, by_key["panel-1"], True)
    items = {item.session.key: item for item in personal_schedule(ada)}
    assert list(items) == ["keynotes", "panel-1", "networking-cocktail", "panel-3", "panel-4"]
    assert items["keynotes"].reasons == {"following"}
    assert items["panel-1"].reasons == {"default", "following"}
    assert items["keynotes"].reminder_at == by_key["keynotes"].starts_at - timedelta(minutes=25)


def test_the_default_kinds_are_the_events_to_choose(make_attendee, conference):
    conference.reminder_kinds = ["keynote"]
    db.session.commit()
    assert keys(personal_schedule(make_attendee())) == ["keynotes"]
    conference.reminder_kinds = []
    db.session.commit()
    assert personal_schedule(make_attendee()) == []


def test_speakers_and_moderators_get_their_sessions_early_even_when_muted(make_attendee, by_key):
    moderator = make_attendee(roles=["attendee", "moderator"])
    give_role(moderator, by_key["panel-3"], "moderator")
    choose(moderator, by_key["panel-3"], False)
    speaker = make_attendee(roles=["attendee", "speaker"], reminder_minutes=45)
    give_role(speaker, by_key["panel-3"], "speaker")

    panel_3 = by_key["panel-3"]
    [mine] = [i for i in personal_schedule(moderator) if i.session.key == "panel-3"]
    assert mine.reasons == {"moderator"}
    assert mine.reminder_at == panel_3.starts_at - timedelta(minutes=ROLE_REMINDER_MINUTES)
    [theirs] = [i for i in personal_schedule(speaker) if i.session.key == "panel-3"]
    assert theirs.reasons == {"default", "speaker"}
    assert theirs.reminder_at == panel_3.starts_at - timedelta(minutes=45)
    # Their lead applies to the sessions they only attend.
    [panel_1] = [i for i in personal_schedule(speaker) if i.session.key == "panel-1"]
    assert panel_1.reminder_at == by_key["panel-1"].starts_at - timedelta(minutes=45)


def test_no_reminders_when_turned_off(make_attendee, by_key):
    ada = make_attendee(notify={"reminders": False, "schedule_changes": True,
                                "announcements": True, "networking": True})
    give_role(ada, by_key["panel-4"], "speaker")
    items = personal_schedule(ada)
    assert len(items) == 5
    assert [item.reminder_at for item in items] == [None] * 5


def test_a_cancelled_session_stays_listed_without_reminder_or_overlap(make_attendee, by_key,
                                                                       conference):
    by_key["panel-2"].status = "cancelled"
    clash = Session(event=conference, kind="side_event", title="Side event",
                    starts_at=by_key["panel-2"].starts_at + timedelta(minutes=30),
                    ends_at=by_key["panel-2"].ends_at)
    db.session.add(clash)
    db.session.commit()
    ada = make_attendee()
    choose(ada, clash, True)
    items = {item.session.key: item for item in personal_schedule(ada)}
    assert items["panel-2"].reminder_at is None
    assert items["panel-2"].overlaps == []
    assert items[None].overlaps == []  # the side event clashes with nothing still on
    assert items["panel-3"].reminder_at is not None


def test_overlapping_sessions_are_flagged_both_ways(make_attendee, by_key, conference):
    side = Session(event=conference, kind="side_event", title="Side event",
                   starts_at=by_key["panel-1"].ends_at - timedelta(minutes=15),
                   ends_at=by_key["networking-cocktail"].starts_at + timedelta(minutes=15))
    db.session.add(side)
    db.session.commit()
    ada = make_attendee()
    choose(ada, side, True)
    items = {item.session.id: item for item in personal_schedule(ada)}
    panel_1, cocktail = by_key["panel-1"].id, by_key["networking-cocktail"].id
    assert sorted(items[side.id].overlaps) == sorted([panel_1, cocktail])
    assert items[panel_1].overlaps == [side.id]
    assert items[cocktail].overlaps == [side.id]
    # Back to back is not an overlap.
    assert items[by_key["panel-2"].id].overlaps == []


def test_another_attendees_choices_and_roles_do_not_leak_in(make_attendee, by_key):
    ada, bob = make_attendee(), make_attendee()
    choose(bob, by_key["keynotes"], True)
    choose(bob, by_key["panel-1"], False)
    give_role(bob, by_key["closing"], "speaker")
    assert keys(personal_schedule(ada)) == [
        "panel-1", "networking-cocktail", "panel-2", "panel-3", "panel-4"]
    assert keys(personal_schedule(bob)) == [
        "keynotes", "networking-cocktail", "panel-2", "panel-3", "panel-4", "closing"]


def test_session_audience_is_the_inverse_of_the_personal_schedule(make_attendee, by_key):
    ada, bob, cleo, dan = (make_attendee() for _ in range(4))
    choose(ada, by_key["keynotes"], True)
    choose(ada, by_key["panel-1"], False)
    choose(bob, by_key["panel-1"], True)
    choose(cleo, by_key["networking-cocktail"], False)
    choose(cleo, by_key["lunch"], False)
    give_role(dan, by_key["panel-1"], "moderator")
    choose(dan, by_key["panel-1"], False)
    give_role(dan, by_key["closing"], "speaker")
    people = [ada, bob, cleo, dan]
    agendas = {a.id: {item.session.id for item in personal_schedule(a)} for a in people}
    for session in by_key.values():
        expected = [a.id for a in people if session.id in agendas[a.id]]
        assert [a.id for a in session_audience(session)] == expected, session.key
    assert [a.id for a in session_audience(by_key["panel-1"])] == [bob.id, cleo.id, dan.id]
    assert session_audience(by_key["lunch"]) == []


def as_seen(items) -> list[tuple]:
    return [(item.session.id, item.reasons, item.reminder_at, item.overlaps) for item in items]


def test_many_agendas_at_once_are_each_attendees_own(make_attendee, by_key, conference):
    other = Event(slug="other-2021", name="Other", starts_on=date(2021, 5, 3),
                  ends_on=date(2021, 5, 3), timezone="America/New_York", reminder_kinds=["keynote"])
    talk = Session(event=other, kind="keynote", title="Talk",
                   starts_at=datetime(2021, 5, 3, 14, tzinfo=UTC),
                   ends_at=datetime(2021, 5, 3, 15, tzinfo=UTC))
    side = Session(event=conference, kind="side_event", title="Side event",
                   starts_at=by_key["panel-1"].starts_at + timedelta(minutes=30),
                   ends_at=by_key["panel-1"].ends_at)
    by_key["panel-2"].status = "cancelled"
    visitor = Attendee(event=other, email="visitor@example.org", name="Visitor")
    db.session.add_all([other, talk, side, visitor])
    db.session.commit()
    plain = make_attendee()
    follower = make_attendee(reminder_minutes=25)
    for key in ("keynotes", "panel-1", "panel-2"):
        choose(follower, by_key[key], True)
    choose(follower, side, True)
    muter = make_attendee()
    choose(muter, by_key["panel-1"], False)
    choose(muter, by_key["networking-cocktail"], False)
    speaker = make_attendee(roles=["attendee", "speaker", "moderator"], reminder_minutes=5)
    give_role(speaker, by_key["panel-3"], "speaker")
    choose(speaker, by_key["panel-3"], False)
    give_role(speaker, by_key["closing"], "moderator")
    quiet = make_attendee(notify={"reminders": False})
    choose(quiet, by_key["keynotes"], True)
    give_role(quiet, by_key["panel-4"], "speaker")
    people = [plain, follower, muter, speaker, quiet, visitor]

    one_by_one = {attendee.id: as_seen(personal_schedule(attendee)) for attendee in people}
    together = personal_schedules(reversed(people))

    assert {attendee_id: as_seen(items) for attendee_id, items in together.items()} == one_by_one
    assert one_by_one[visitor.id] == [
        (talk.id, {"default"}, datetime(2021, 5, 3, 13, 50, tzinfo=UTC), [])]
    assert len(one_by_one[follower.id]) == 7 and len(one_by_one[muter.id]) == 3
    assert personal_schedules([]) == {}


def test_many_agendas_take_as_many_queries_as_one(make_attendee, by_key, statements):
    people = [make_attendee() for _ in range(30)]
    for attendee in people[::3]:
        choose(attendee, by_key["keynotes"], True)
    give_role(people[1], by_key["panel-1"], "speaker")
    ids = [attendee.id for attendee in people]

    def queries(attendee_ids) -> int:
        db.session.expunge_all()
        attendees = db.session.scalars(select(Attendee).where(Attendee.id.in_(attendee_ids)))
        statements.clear()
        schedules = personal_schedules(attendees.all())
        assert len(schedules) == len(attendee_ids)
        return len(statements)

    assert queries(ids) == queries(ids[:1]) <= 8


def test_the_agenda_rule_answers_for_a_change_before_and_after(make_attendee, by_key,
                                                               conference):
    """A keynote turned into a panel (a kind on everyone's agenda) and handed to another
    speaker: before, its follower and old speaker; after, everyone but who unfollowed it,
    with the new speaker. Panel 1 cancelled: its state after is absent."""
    ada, bob, cleo, dan = (make_attendee() for _ in range(4))
    keynotes, panel_1 = by_key["keynotes"], by_key["panel-1"]
    choose(ada, keynotes, True)
    choose(bob, keynotes, False)
    give_role(cleo, keynotes, "speaker")
    choose(cleo, panel_1, False)
    db.session.refresh(keynotes)
    before = session_state(keynotes)
    after = {**before, "kind": "panel", "speakers": [dan.id], "moderators": [ada.id]}
    everyone = set(db.session.scalars(select(Attendee.id).where(
        Attendee.event_id == conference.id)))

    found = agendas(conference, {keynotes.id: (before, after),
                                 panel_1.id: (session_state(panel_1), None)})

    was, now = found[keynotes.id]
    assert was == {ada.id: {"following"}, cleo.id: {"speaker"}}
    assert set(now) == everyone - {bob.id}
    assert now[ada.id] == {"following", "default", "moderator"}
    assert now[cleo.id] == {"default"} and now[dan.id] == {"default", "speaker"}
    was, now = found[panel_1.id]
    assert set(was) == everyone - {cleo.id} and now == {}
    assert agendas(conference, {}) == {}


def test_the_agenda_rule_takes_as_many_queries_for_a_crowd_as_for_one(
        make_attendee, by_key, conference, statements):
    """The bookmarks of all the sessions in one query, everyone once: a crowd costs no
    more queries than a handful (pretalx's set-based services are the model)."""
    sessions = [by_key[key] for key in ("keynotes", "panel-1", "panel-2", "closing")]
    states = {session.id: (session_state(session), session_state(session))
              for session in sessions}

    def queries() -> tuple[int, int]:
        assert conference.reminder_kinds  # the event loaded, as its caller has it
        statements.clear()
        found = agendas(conference, states)
        return len(statements), len(found[by_key["keynotes"].id][1])

    make_attendee()
    few = queries()
    crowd = [make_attendee() for _ in range(40)]
    for attendee in crowd:
        choose(attendee, by_key["keynotes"], True)
        choose(attendee, by_key["panel-1"], False)
    many = queries()
    assert many[1] == few[1] + 40
    assert many[0] == few[0] == 2  # the bookmarks, the event's attendees
