"""frab's ``schedule.xml`` (also what pentabarf, pretalx and osem write): read into the
plain records of ``voc``, every place named by its line."""

from lxml import etree

from ..programme import Programme, SourceError
from . import checks, voc
from .checks import Strays

CONFERENCE_FIELDS = ("title", "acronym", "start", "end", "time_zone_name", "day_change", "url")
# The <event> children the import reads, and those the schema requires of every event
# (xs:all without minOccurs="0"): one missing is a warning unless the import needs it.
EVENT_FIELDS = ("title", "type", "date", "start", "duration", "abstract", "description",
                "track", "language")
EVENT_REQUIRED = ("room", "title", "type", "date", "start", "duration", "abstract", "track")


def parser() -> etree.XMLParser:
    """One per file (lxml's parsers are not shared between threads): no entities
    resolved, no DTD loaded, nothing fetched from the network, no huge texts."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, remove_comments=True, remove_pis=True)


def parse_xml(content: bytes) -> etree._Element:
    try:
        return etree.fromstring(content, parser())
    except etree.XMLSyntaxError as error:
        raise SourceError(f"not well-formed XML: {error.msg}", f"line {error.lineno}") from None


def _line(element) -> str:
    return f"line {element.sourceline}"


def _item(element, names) -> voc.Item:
    """The text of the named children of ``element``, and the line of each."""
    item = voc.Item(_line(element))
    for child in element:
        if isinstance(child.tag, str) and child.tag in names and child.tag not in item.fields:
            item.fields[child.tag] = child.text
            item.places[child.tag] = _line(child)
    return item


def read(root, timezone: str | None, strays: Strays) -> Programme:
    conference = root.find("conference")
    if conference is None:
        raise SourceError("<schedule> has no <conference>", _line(root))
    day_elements = root.findall("day")
    if not day_elements:
        raise SourceError("<schedule> has no <day>", _line(root))
    days, events = [], []
    for index, day in enumerate(day_elements):
        item = voc.Item(_line(day), {name: day.get(name) for name in ("date", "start", "end")})
        strays.missing([f"day/@{name}" for name in ("index", "start", "end")
                        if day.get(name) is None], item.where)
        days.append(item)
        for room in day.iterfind("room"):
            name = room.get("name")
            if name is None:
                raise SourceError("<room> has no name", _line(room))
            for element in room.iterfind("event"):
                events.append(_event(element, index, name, _line(room), strays))
                if len(events) > checks.MAX_SESSIONS:
                    raise SourceError(f"more than {checks.MAX_SESSIONS} sessions",
                                      _line(element))
    return voc.programme("frab", _item(conference, CONFERENCE_FIELDS), [], days, events,
                         timezone, strays)


def _event(element, day: int, room: str, room_where: str, strays: Strays) -> voc.Event:
    item = _item(element, EVENT_FIELDS)
    event = voc.Event(item.where, item.fields, item.places, day=day, room=room,
                      room_where=room_where)
    for name in ("guid", "id"):
        if element.get(name) is not None:
            event.fields[name] = element.get(name)
    present = {child.tag for child in element}
    missing = [f"event/{name}" for name in EVENT_REQUIRED if name not in present]
    missing += [f"event/@{name}" for name in ("guid", "id") if element.get(name) is None]
    strays.missing(missing, event.where)
    persons = element.find("persons")
    if persons is not None:
        event.places["persons"] = _line(persons)
        event.persons = [person.text for person in persons.iterfind("person")]
    return event
