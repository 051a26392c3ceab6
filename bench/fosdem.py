"""A FOSDEM-sized schedule as frab XML, for the import's bench (issue 22).

    python bench/fosdem.py [--sessions 1000] [--rooms 40] [--days 3] [--persons 2000]
                           [--seed 0] [--changed 0] > fosdem.xml

`generate_frab` writes what pretalx would serve for FOSDEM 2026 (Brussels, 6-8 February,
rooms from 09:00 to 19:00), valid against ``../shared/schemas/schedule.xml.xsd``. The same
arguments give the same bytes; ``changed=N`` gives the same schedule with N sessions
changed, every other one moved by 30 minutes and the others retitled, as a second version
of the programme would be. Each session keeps its guid (a uuid5 of the seed and its index).
"""

import argparse
import random
import sys
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lxml import etree

ZONE = ZoneInfo("Europe/Brussels")
FIRST_DAY = date(2026, 2, 6)
DAY_STARTS, DAY_ENDS = time(9), time(19)
LENGTHS = (25, 30, 40, 50)  # minutes; each followed by a 5-minute change-over
TYPES = ("Talk",) * 6 + ("Lightning Talk", "Workshop", "Keynote", "Panel")
WORDS = ("rust", "kernel", "network", "database", "compiler", "browser", "federated",
         "open", "hardware", "firmware", "packaging", "security", "python", "graph",
         "scheduler", "observability", "embedded", "community", "licence", "cloud")
TRACKS = ("Main Track", "Rust", "Kernel", "Databases", "Embedded", "Python", "Go",
          "Community", "Security", "Open Hardware", "Legal and Policy", "Networking")
BUILDINGS = ("H", "K", "U", "AW", "UB", "UD", "J")


def _room_names(count: int) -> list[str]:
    names = ["Janson"]
    floor = 1
    while len(names) < count:
        for building in BUILDINGS:
            if len(names) < count:
                names.append(f"{building}.{floor}.{100 + len(names)}")
        floor += 1
    return names


def _title(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(2, 5))
    return " ".join(words).capitalize() + rng.choice(("", ": a status report", " in 2026",
                                                      ", the hard way"))


def _sessions(rng: random.Random, sessions: int, rooms: list[str], days: int) -> list[dict]:
    """Each room's day filled from 09:00 with talks and change-overs, the rooms and days
    in turn, until there are ``sessions``."""
    slots = {(day, room): datetime.combine(FIRST_DAY + timedelta(days=day), DAY_STARTS,
                                           tzinfo=ZONE)
             for day in range(days) for room in rooms}
    made = []
    order = list(slots)
    while len(made) < sessions:
        placed = False
        for day, room in order:
            if len(made) == sessions:
                break
            minutes = rng.choice(LENGTHS)
            starts = slots[day, room]
            # 30 minutes to spare, for a moved session of the changed version.
            if (starts + timedelta(minutes=minutes + 30)).time() > DAY_ENDS:
                continue
            slots[day, room] = starts + timedelta(minutes=minutes + 5)
            made.append({"day": day, "room": room, "starts": starts, "minutes": minutes})
            placed = True
        if not placed:
            raise ValueError(f"{sessions} sessions do not fit {len(rooms)} rooms "
                             f"in {days} days")
    return made


def generate_frab(sessions: int = 1000, rooms: int = 40, days: int = 3, persons: int = 2000,
                  seed: int = 0, changed: int = 0) -> bytes:
    """The schedule XML; ``changed`` of its sessions moved by 30 minutes or retitled."""
    rng = random.Random(seed)
    room_names = _room_names(rooms)
    talks = _sessions(rng, sessions, room_names, days)
    for index, talk in enumerate(talks):
        talk["id"] = index + 1
        talk["guid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fosdem-bench-{seed}/{index}"))
        talk["title"] = _title(rng)
        talk["type"] = rng.choice(TYPES)
        talk["track"] = rng.choice(TRACKS)
        # Every person speaks at least once; some sessions get a third speaker.
        talk["persons"] = [(2 * index) % persons + 1, (2 * index + 1) % persons + 1]
        if rng.random() < 0.2:
            talk["persons"].append(rng.randrange(persons) + 1)
    for number, index in enumerate(random.Random(f"{seed}-changed").sample(range(sessions),
                                                                          changed)):
        if number % 2 == 0:
            talks[index]["starts"] += timedelta(minutes=30)
        else:
            talks[index]["title"] += " (updated)"
    return _document(talks, room_names, days, persons)


def _text(parent, tag: str, value) -> None:
    etree.SubElement(parent, tag).text = str(value)


def _document(talks: list[dict], room_names: list[str], days: int, persons: int) -> bytes:
    root = etree.Element("schedule")
    etree.SubElement(root, "generator", name="bench/fosdem.py")
    _text(root, "url", "https://fosdem.org/2026/schedule/xml")
    _text(root, "version", "bench")
    conference = etree.SubElement(root, "conference")
    for tag, value in (("title", "FOSDEM 2026"), ("acronym", "fosdem-2026"),
                       ("start", FIRST_DAY.isoformat()),
                       ("end", (FIRST_DAY + timedelta(days=days - 1)).isoformat()),
                       ("days", days), ("timeslot_duration", "00:05"),
                       ("base_url", "https://fosdem.org/2026/schedule/"),
                       ("time_zone_name", "Europe/Brussels")):
        _text(conference, tag, value)
    for track in TRACKS:
        etree.SubElement(conference, "track", name=track)

    by_room: dict[tuple, list] = {}
    for talk in talks:
        by_room.setdefault((talk["day"], talk["room"]), []).append(talk)
    for day in range(days):
        on = FIRST_DAY + timedelta(days=day)
        day_element = etree.SubElement(
            root, "day", index=str(day + 1), date=on.isoformat(),
            start=datetime.combine(on, DAY_STARTS, tzinfo=ZONE).isoformat(),
            end=datetime.combine(on, DAY_ENDS, tzinfo=ZONE).isoformat())
        for room in room_names:
            in_room = by_room.get((day, room))
            if not in_room:
                continue
            room_element = etree.SubElement(day_element, "room", name=room)
            for talk in sorted(in_room, key=lambda t: t["starts"]):
                _event(room_element, talk)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _event(room, talk: dict) -> None:
    id = talk["id"]
    event = etree.SubElement(room, "event", guid=talk["guid"], id=str(id))
    _text(event, "room", talk["room"])
    _text(event, "title", talk["title"])
    _text(event, "subtitle", "")
    _text(event, "type", talk["type"])
    _text(event, "date", talk["starts"].isoformat())
    _text(event, "start", talk["starts"].strftime("%H:%M"))
    _text(event, "duration", f"{talk['minutes'] // 60:02d}:{talk['minutes'] % 60:02d}")
    _text(event, "abstract", f"{talk['title']}, in {talk['minutes']} minutes.")
    _text(event, "slug", f"fosdem2026-{id:04d}")
    _text(event, "track", talk["track"])
    people = etree.SubElement(event, "persons")
    for person in talk["persons"]:
        etree.SubElement(people, "person", id=str(person)).text = f"Speaker {person:04d}"
    _text(event, "language", "en")
    _text(event, "url", f"https://fosdem.org/2026/schedule/event/{id}/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("sessions", 1000), ("rooms", 40), ("days", 3), ("persons", 2000),
                          ("seed", 0), ("changed", 0)):
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    sys.stdout.buffer.write(generate_frab(**vars(args)))


if __name__ == "__main__":
    main()
