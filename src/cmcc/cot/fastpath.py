"""The fast path for CoT XML: a plain position event read without building a tree.

Most of what a TAK gateway receives is positions, and they are all alike: an `<event>` of an
`a-` type, a `<point>`, and a `<detail>` of flat elements (contact, group, track, status,
takv...). `parse_position` checks such an event with two regular expressions, whose groups
are its attributes, and builds the same `CotEvent` as `codec.parse_xml` does through an lxml
tree. It returns None for anything else, and the caller parses that with the codec.

It reads only a small, plain part of XML, so that it never accepts what the codec refuses and
never reads a document otherwise than lxml. It returns None unless the event is:
- UTF-8 without a character XML forbids or lxml would turn into another: no control
  character, no carriage return (XML makes a newline of a line end), no `&` (no entity or
  character reference), no `<!` (DOCTYPE, comment, CDATA) or `<?` (processing instruction)
  after the XML declaration, no namespace (`xmlns`, or a `:` in a name);
- `<event>`, `<point>` and at most one `<detail>`, in this order, with whitespace between;
- an event and a point with the attributes codec.xml_event reads (and the version, caveat
  and rel_to), each once and quoted alike, with whitespace before each;
- a detail without attributes, of elements each empty or holding text only, with at most
  `MAX_ATTRIBUTES` attributes each, each once, written ` name="value"` (or with single quotes
  throughout the detail), and no `>` in a text (lxml writes it `&gt;`);
- values without a `<`, `>`, tab or newline (XML turns the last two into spaces);
- a position: an `a-` type and a place other than 0,0, with no `<link>`, `<marti>` (directed
  routing) or `<__chat>`, which the gateway routes otherwise; one contact, __group and
  remarks at most (lxml reads the first);
- at most `MAX_BYTES` bytes.
Its values then go through the codec's own checks (`codec.xml_event`), and its detail is
written as lxml writes it (double quotes, `<a/>` for `<a></a>` and `<a />`), so `detail_xml` is
the same string. The expressions only use repeats that cannot try one text in several ways,
so the time they take grows with the input's length, whatever the input. The unit tests
compare the events with `codec.parse_xml`'s, for generated and spoiled events.

Over TAK Protocol, `parse_proto` reads the message's xmlDetail the same way (lxml when it is
not plain); takproto's `TakMessage` still decodes the message.

A position takes three quarters to four fifths of the codec's work (docs/modules/tak.md):
lxml's parser is C, and a third of the work is the `CotEvent` itself, built the same way on
both paths."""

from __future__ import annotations

import re

from cmcc.cot import codec
from cmcc.cot.codec import DetailFields, strip_xml, xml_event
from cmcc.cot.event import CotError, CotEvent

MAX_BYTES = 16_384
MAX_ATTRIBUTES = 10  # of an element of the detail

# Possessive repeats (`*+`, `++`) never give back what they took. They are kept out of the
# repeats that hold a group: Python 3.11's re mishandles groups inside possessive repeats.
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*+"
_S = "[ \t\n]*+"
# Never in a value or a text: controls (the carriage return too), `&`, the C1 controls and the
# two non-characters, `<`, `>`.
_NO = r"<>&\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff"
_TEXT = rf"[^{_NO}]++"
_VALUE = rf"(?:\"[^\"\t\n{_NO}]*+\"|'[^'\t\n{_NO}]*+')"
# The attributes the event and the point may have: a group each, codec.xml_event reads them.
_EVENT_NAMES = (
    *("version", "uid", "type", "how", "time", "start", "stale"),
    *("access", "qos", "opex", "caveat", "rel_to"),
)
_POINT_NAMES = ("lat", "lon", "hae", "ce", "le")


def _head(quote: str) -> re.Pattern[str]:
    """The event's start tag and its point, every attribute quoted with `quote`. The type is
    a position's (`a-`): any other event fails at its type, before the rest is read."""

    def attributes(*names: str) -> str:
        value = rf"[^{quote}\t\n{_NO}]*+"
        one = "|".join(
            rf"{n}={quote}(?P<{n}>{'a-' if n == 'type' else ''}{value}){quote}" for n in names
        )
        return rf"(?:[ \t\n]++(?:{one}))*"

    return re.compile(
        rf"<event{attributes(*_EVENT_NAMES)}{_S}>{_S}"
        rf"<point{attributes(*_POINT_NAMES)}{_S}(?:/>|>{_S}</point>)"
    )


_HEADS = {'"': _head('"'), "'": _head("'")}


def _attributes(n: int) -> str:
    """At most n attributes of an element of the detail, each name compared with those
    before it (lxml refuses a tag with an attribute twice)."""
    pattern = ""
    for k in range(n, 0, -1):
        before = "|".join(f"(?P=a{i})" for i in range(1, k))
        not_before = rf"(?!(?:{before})=)" if before else ""
        pattern = rf"(?: {not_before}(?!xmlns=)(?P<a{k}>{_NAME})={_VALUE}{pattern})?"
    return pattern


# A detail of flat elements. `empty`: some element is written `<a></a>`.
_DETAIL = (
    rf"<detail ?/>|<detail>(?:"
    rf"<(?P<element>(?!(?:link|marti|__chat)[ />]){_NAME}){_attributes(MAX_ATTRIBUTES)}"
    rf"(?: ?/>|>(?:{_TEXT}|(?P<empty>))</(?P=element)>)|{_TEXT}(?=<))*</detail>"
)
# What follows the point: at most one detail, and the end of the event. (A second
# expression: each group set makes every later step of a match dearer, and the head sets
# many.)
_TAIL = re.compile(rf"{_S}(?:(?P<detail>{_DETAIL}){_S})?</event{_S}>")
_XML_DETAIL = re.compile(_DETAIL)
_EMPTY = re.compile(rf"<({_NAME})((?: [^ =]++=(?:\"[^\"]*+\"|'[^']*+'))*+)></\1>")
_QUOTE_IN_TEXT = re.compile(r">[^<]*'")
# In the detail once written as lxml writes it: the elements codec.xml_event reads.
_READ = r'(?: (?!{name}=)[^ =]++="[^"]*+")*+(?: {name}="([^"]*+)")?'
_CONTACT = re.compile(rf"<contact(?=[ />]){_READ.format(name='callsign')}")
_GROUP = re.compile(rf"<__group(?=[ />]){_READ.format(name='name')}")
_REMARKS = re.compile(r'<remarks(?: [^ =]++="[^"]*+")*+(?:/>|>([^<]*+))')


def parse_position(frame: bytes) -> CotEvent | None:
    """The position event in `frame`, equal to what `codec.parse_xml` returns; None when the
    frame is anything else, or not plain enough to be read here (parse it with the codec,
    which also says what is wrong with an invalid one)."""
    try:
        raw = strip_xml(frame)
    except CotError:
        return None
    if len(raw) > MAX_BYTES or not raw.startswith(b"<event"):
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    head = _HEADS.get(text[text.find("=") + 1])  # by the first attribute's quote
    m = head.match(text) if head is not None else None
    if m is None:
        return None
    # An attribute named twice leaves one value in its group: the tags hold more `=` than
    # values (so do tags with a `=` in a value, which the codec reads instead).
    values = m.groups()
    if text.count("=", 0, m.end()) != len(values) - values.count(None):
        return None
    tail = _TAIL.fullmatch(text, m.end())
    if tail is None:
        return None
    fields, detail_xml = DetailFields(), ""
    if (detail := tail["detail"]) is not None:
        written = _as_lxml_writes(detail, tail["empty"] is not None)
        read = _fields(written) if written is not None else None
        if written is None or read is None:
            return None
        fields, detail_xml = read, written
    try:
        ev = xml_event(m.group, m.group, fields, detail_xml, raw)
    except CotError:
        return None
    return ev if ev.is_position else None


def parse_proto(payload: bytes) -> CotEvent:
    """`codec.parse_proto`, reading the xmlDetail here when it is plain (a position's, as
    ATAK sends it: `<uid Droid=.../>`, remarks) and with lxml otherwise."""
    return codec.parse_proto(payload, _xml_detail_fields)


def _xml_detail_fields(xml_detail: str) -> DetailFields:
    """The fields of an xmlDetail, as `codec.xml_detail_fields` reads them."""
    detail = f"<detail>{xml_detail}</detail>"
    m = _XML_DETAIL.fullmatch(detail) if len(detail) <= MAX_BYTES else None
    written = _as_lxml_writes(detail, m["empty"] is not None) if m is not None else None
    fields = _fields(written) if written is not None else None
    return fields if fields is not None else codec.xml_detail_fields(xml_detail)


def _as_lxml_writes(detail: str, empty: bool) -> str | None:
    """The detail as lxml writes it; None when its quotes cannot simply all be turned into
    double quotes (both kinds are used, or a text holds one)."""
    if " />" in detail:  # the end of a tag: no value or text holds a `>`
        detail = detail.replace(" />", "/>")
    if empty or detail == "<detail></detail>":
        detail = _EMPTY.sub(r"<\1\2/>", detail)
    if "'" in detail:
        if '"' in detail or _QUOTE_IN_TEXT.search(detail):
            return None
        detail = detail.replace("'", '"')
    return detail


def _fields(detail: str) -> DetailFields | None:
    """What codec reads from a detail written as lxml writes it; None when it has more than
    one contact, __group or remarks."""
    contact = _CONTACT.search(detail)
    group = _GROUP.search(detail)
    remarks = _REMARKS.search(detail)
    if (
        (contact and detail.find("<contact", contact.end()) >= 0)
        or (group and detail.find("<__group", group.end()) >= 0)
        or (remarks and detail.find("<remarks", remarks.end()) >= 0)
    ):
        return None
    return DetailFields(
        callsign=contact[1] if contact else None,
        group=group[1] if group else None,
        remarks=remarks[1] or "" if remarks else None,
    )
