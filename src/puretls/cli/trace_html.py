"""``--trace-html FILE``: one connection drawn as a self-contained HTML page.

The page has no external resources (inline CSS, JS and SVG; a
Content-Security-Policy forbids any fetch) and shows:

* a sequence diagram of the flights between client and server, the round
  trips counted, each arrow coloured by the key protecting it;
* for each message, a click away: its fields and its bytes with the fields
  annotated, and the record(s) carrying it (ciphertext, key, sequence number
  and, when secrets are revealed, the decryption);
* the key schedule as a derivation tree (RFC 8446 7.1).

Nothing here knows the list of TLS 1.3 messages: names come from the trace
and colours from key names, so HelloRetryRequest, KeyUpdate, tickets,
0-RTT and TLS 1.2 messages are drawn as what they are when they appear.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from puretls.cli.trace_text import sender
from puretls.enums import AlertDescription, AlertLevel, ContentType, enum_name
from puretls.trace import (
    AlertEvent,
    Field,
    MessageEvent,
    RecordEvent,
    SecretEvent,
    TraceEvent,
)

_HANDSHAKE = int(ContentType.handshake)
_ALERT = int(ContentType.alert)
_CCS = int(ContentType.change_cipher_spec)
_APPLICATION_DATA = int(ContentType.application_data)

# What a message is, for the few that are not "just the next message".
_NOTES = {
    "HelloRetryRequest": "the server asks for a new ClientHello with another key share "
    "(RFC 8446 4.1.4): one more round trip",
    "KeyUpdate": "new traffic keys from here on (RFC 8446 4.6.3)",
    "NewSessionTicket": "a ticket for resuming later (RFC 8446 4.6.1)",
    "EndOfEarlyData": "the end of the 0-RTT data (RFC 8446 4.5)",
    "ChangeCipherSpec": "a dummy record for middlebox compatibility (RFC 8446 D.4)",
}


@dataclass(slots=True)
class _Item:
    """One arrow of the diagram."""

    sender: str
    name: str
    key: str | None
    css: str
    note: str
    raw: bytes = b""
    fields: tuple[Field, ...] = ()
    records: list[RecordEvent] = field(default_factory=list)
    flight: int = 0
    round_trip: int = 0


def _key_class(key: str | None) -> str:
    if key is None:
        return "k-clear"
    for word in ("early", "handshake", "application"):
        if word in key:
            return f"k-{word}"
    return "k-other"


def _items(events: Sequence[TraceEvent], role: str) -> list[_Item]:
    """Diagram arrows: messages, alerts, CCS and application data records."""
    items: list[_Item] = []
    pending: dict[tuple[str, int], list[_Item]] = {}  # sent, waiting for their record
    last_received: dict[int, RecordEvent] = {}
    for event in events:
        if isinstance(event, MessageEvent | AlertEvent):
            if isinstance(event, MessageEvent):
                name, ctype, raw, fields = event.name, _HANDSHAKE, event.raw, event.fields
                key = event.key
            else:
                desc = enum_name(AlertDescription, event.description)
                name, ctype, raw = f"Alert: {desc}", _ALERT, b""
                fields = (
                    Field(name="level", value=enum_name(AlertLevel, event.level), start=0, end=1),
                    Field(name="description", value=desc, start=1, end=2),
                )
                key = None
            item = _Item(
                sender=sender(event.direction, role),
                name=name,
                key=key,
                css="alert" if ctype == _ALERT else _key_class(key),
                note=_NOTES.get(name, ""),
                raw=raw,
                fields=fields,
            )
            if event.direction == "sent":
                pending.setdefault(("sent", ctype), []).append(item)
            elif ctype in last_received:
                item.records.append(last_received[ctype])
                if isinstance(event, AlertEvent):
                    item.key = last_received[ctype].key
            items.append(item)
        elif isinstance(event, RecordEvent):
            ctype = event.content_type
            if event.direction == "sent":
                for waiting in pending.pop(("sent", ctype), []):
                    waiting.records.append(event)
                    if ctype == _ALERT:
                        waiting.key = event.key
            else:
                last_received[ctype] = event
            if ctype in (_CCS, _APPLICATION_DATA):
                # TLS 1.3 adds the inner content type and a 16-byte tag.
                size = len(event.plaintext) if event.plaintext is not None else event.length - 17
                name = "ChangeCipherSpec" if ctype == _CCS else f"application data ({size} bytes)"
                items.append(
                    _Item(
                        sender=sender(event.direction, role),
                        name=name,
                        key=event.key,
                        css="ccs" if ctype == _CCS else _key_class(event.key),
                        note=_NOTES.get(name, ""),
                        records=[event],
                    )
                )
    _count_round_trips(items)
    return items


def _count_round_trips(items: list[_Item]) -> None:
    """Flights are runs from one sender; a round trip is a client flight and its answer."""
    flight, round_trip, previous = 0, 0, ""
    for item in items:
        if item.sender != previous:
            flight += 1
            if item.sender == "client" or not round_trip:
                round_trip += 1
            previous = item.sender
        item.flight = flight
        item.round_trip = round_trip


def handshake_round_trips(items: Sequence[_Item]) -> int:
    """Round trips until the server's Finished: then the client may send data."""
    finished = [i for i in items if i.sender == "server" and i.name == "Finished"]
    return finished[0].round_trip if finished else max((i.round_trip for i in items), default=0)


# --- SVG sequence diagram ----------------------------------------------------

_W, _LEFT, _RIGHT, _ROW, _GAP, _TOP = 680, 150, 600, 40, 22, 70


def _svg(items: Sequence[_Item]) -> str:
    y = _TOP
    rows = []
    last_flight = 0
    spans: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        if item.flight != last_flight and last_flight:
            y += _GAP
        last_flight = item.flight
        rows.append(_arrow(index, item, y))
        spans.setdefault(item.round_trip, []).append(y)
        y += _ROW
    height = y + 20
    brackets = []
    for number, ys in spans.items():
        if number == 0:
            continue
        top, bottom = min(ys) - 26, max(ys) + 8
        brackets.append(
            f'<path class="rtt" d="M60 {top} h-10 V{bottom} h10"/>'
            f'<text class="rtt-label" x="40" y="{(top + bottom) // 2}" '
            f'transform="rotate(-90 40 {(top + bottom) // 2})">round trip {number}</text>'
        )
    lanes = (
        f'<line class="lane" x1="{_LEFT}" y1="44" x2="{_LEFT}" y2="{height}"/>'
        f'<line class="lane" x1="{_RIGHT}" y1="44" x2="{_RIGHT}" y2="{height}"/>'
        f'<rect class="actor" x="{_LEFT - 60}" y="8" width="120" height="34" rx="6"/>'
        f'<text class="actor-label" x="{_LEFT}" y="30">Client</text>'
        f'<rect class="actor" x="{_RIGHT - 60}" y="8" width="120" height="34" rx="6"/>'
        f'<text class="actor-label" x="{_RIGHT}" y="30">Server</text>'
    )
    return (
        f'<svg id="diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
        f'width="{_W}" height="{height}" role="img" aria-label="TLS sequence diagram">'
        f"{lanes}{''.join(brackets)}{''.join(rows)}</svg>"
    )


def _arrow(index: int, item: _Item, y: int) -> str:
    x1, x2 = (_LEFT, _RIGHT) if item.sender == "client" else (_RIGHT, _LEFT)
    head = x2 - 10 if x2 > x1 else x2 + 10
    mid = (_LEFT + _RIGHT) // 2
    sub = f"under {item.key}" if item.key else "in clear"
    return (
        f'<g class="item {item.css}" data-i="{index}" tabindex="0">'
        f'<rect class="hit" x="{_LEFT}" y="{y - 24}" width="{_RIGHT - _LEFT}" height="{_ROW - 2}"/>'
        f'<line class="msg" x1="{x1}" y1="{y}" x2="{head}" y2="{y}"/>'
        f'<path class="head" d="M{x2} {y} L{head} {y - 6} L{head} {y + 6} Z"/>'
        f'<text class="name" x="{mid}" y="{y - 6}">{html.escape(item.name)}</text>'
        f'<text class="sub" x="{mid}" y="{y + 13}">{html.escape(sub)}</text>'
        "</g>"
    )


# --- detail panes --------------------------------------------------------------


def _flatten(fields: Sequence[Field], depth: int = 0) -> list[tuple[int, Field]]:
    out: list[tuple[int, Field]] = []
    for f in fields:
        out.append((depth, f))
        out += _flatten(f.children, depth + 1)
    return out


def _hexdump(raw: bytes, flat: Sequence[tuple[int, Field]]) -> str:
    """Bytes in rows of 16, each byte tagged with the deepest field covering it."""
    owner = [-1] * len(raw)
    for number, (_, f) in enumerate(flat):
        if f.start is None or f.end is None:
            continue
        for i in range(f.start, min(f.end, len(raw))):
            owner[i] = number
    rows = []
    for offset in range(0, len(raw), 16):
        cells = "".join(
            f'<span class="b c{owner[i] % 8}" data-f="{owner[i]}">{raw[i]:02x}</span>'
            for i in range(offset, min(offset + 16, len(raw)))
        )
        rows.append(f'<div class="row"><span class="off">{offset:04x}</span>{cells}</div>')
    return f'<div class="hex">{"".join(rows)}</div>'


def _field_table(flat: Sequence[tuple[int, Field]]) -> str:
    rows = []
    for number, (depth, f) in enumerate(flat):
        where = f"{f.start}..{f.end}" if f.start is not None else ""
        rows.append(
            f'<tr class="fld" data-f="{number}"><td class="sw c{number % 8}"></td>'
            f'<td class="fname" style="padding-left:{depth * 14 + 4}px">{html.escape(f.name)}</td>'
            f'<td class="val">{html.escape(f.value)}</td><td class="off">{where}</td></tr>'
        )
    return f'<table class="fields">{"".join(rows)}</table>'


def _short(data: bytes, limit: int = 96) -> str:
    text = data[:limit].hex(" ")
    return text + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


def _record_html(record: RecordEvent) -> str:
    kind = enum_name(ContentType, record.content_type)
    if record.key is None:
        how = "plaintext record"
    else:
        how = f"protected by <b>{html.escape(record.key)}</b>, sequence number {record.sequence}"
    parts = [
        f'<div class="record"><div>record {html.escape(kind)}, {record.length} bytes: {how}</div>',
        f'<div class="bytes">{_short(record.raw)}</div>',
    ]
    if record.key is not None:
        if record.plaintext is not None:
            parts.append(
                f"<div>decrypted ({len(record.plaintext)} bytes):</div>"
                f'<div class="bytes plain">{_short(record.plaintext)}</div>'
            )
        else:
            parts.append(
                '<div class="hidden-note">decryption hidden: trace with --reveal-secrets</div>'
            )
    parts.append("</div>")
    return "".join(parts)


def _detail(index: int, item: _Item) -> str:
    flat = _flatten(item.fields)
    who = "client -&gt; server" if item.sender == "client" else "server -&gt; client"
    parts = [
        f'<section class="detail" id="d{index}" hidden>',
        f"<h3>{html.escape(item.name)} <small>{who}, flight {item.flight}</small></h3>",
    ]
    if item.note:
        parts.append(f'<p class="note">{html.escape(item.note)}</p>')
    if item.fields:
        parts.append(_field_table(flat))
    if item.raw:
        parts.append(_hexdump(item.raw, flat))
    for record in item.records:
        parts.append(_record_html(record))
    parts.append("</section>")
    return "".join(parts)


# --- key schedule tree ---------------------------------------------------------


def _schedule(events: Sequence[TraceEvent]) -> str:
    secrets = [e for e in events if isinstance(e, SecretEvent)]
    if not secrets:
        return "<p>No key schedule steps in this trace.</p>"
    names = {e.name for e in secrets}
    children: dict[str, list[SecretEvent]] = {}
    roots = []
    for event in secrets:
        inputs = dict(event.inputs)
        parent = inputs.get("Secret") or inputs.get("Salt", "")
        if parent in names and parent != event.name:
            children.setdefault(parent, []).append(event)
        else:
            roots.append(event)

    def node(event: SecretEvent, depth: int) -> str:
        inputs = ", ".join(f"{k}={v}" for k, v in event.inputs)
        label = f' "{event.label}"' if event.label else ""
        value = (
            f'<span class="secret">{event.value.hex()}</span>'
            if event.value is not None
            else '<span class="hidden-note">hidden (--reveal-secrets)</span>'
        )
        kids = "".join(node(c, depth + 1) for c in children.get(event.name, []) if depth < 12)
        return (
            f'<li><span class="sname">{html.escape(event.name)}</span> '
            f'<span class="op">= {html.escape(event.operation)}{html.escape(label)}'
            f"({html.escape(inputs)})</span><br>{value}"
            + (f"<ul>{kids}</ul>" if kids else "")
            + "</li>"
        )

    return f'<ul class="tree">{"".join(node(r, 0) for r in roots)}</ul>'


# --- the page --------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;
background:#f6f7fb}
header{background:#1d2b4f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d3ee}
main{display:flex;gap:14px;padding:14px;align-items:flex-start;flex-wrap:wrap}
.panel{background:#fff;border:1px solid #dde2ee;border-radius:8px;padding:12px}
#diagram .lane{stroke:#9aa5c0;stroke-width:2;stroke-dasharray:4 4}
#diagram .actor{fill:#1d2b4f}
#diagram .actor-label{fill:#fff;font-weight:600;text-anchor:middle;font-size:15px}
#diagram .item{cursor:pointer}
#diagram .hit{fill:transparent}
#diagram .item:hover .hit,#diagram .item.sel .hit{fill:#eef2ff}
#diagram .msg{stroke-width:3}
#diagram .name{text-anchor:middle;font-weight:600;font-size:14px}
#diagram .sub{text-anchor:middle;font-size:11px;fill:#5b6478}
#diagram .rtt{fill:none;stroke:#b4540a;stroke-width:2}
#diagram .rtt-label{fill:#b4540a;font-size:12px;text-anchor:middle;font-weight:600}
.k-clear .msg{stroke:#6b7385}.k-clear .head{fill:#6b7385}
.k-handshake .msg{stroke:#d97706}.k-handshake .head{fill:#d97706}
.k-application .msg{stroke:#15803d}.k-application .head{fill:#15803d}
.k-early .msg{stroke:#7c3aed}.k-early .head{fill:#7c3aed}
.k-other .msg{stroke:#0e7490}.k-other .head{fill:#0e7490}
.ccs .msg{stroke:#aab;stroke-dasharray:3 3}.ccs .head{fill:#aab}.ccs .name{fill:#889}
.alert .msg{stroke:#dc2626}.alert .head{fill:#dc2626}.alert .name{fill:#dc2626}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:22px;height:4px;margin-right:5px;vertical-align:middle}
#details{flex:1;min-width:380px;max-width:760px}
.detail h3{margin:4px 0 8px}.detail small{color:#5b6478;font-weight:400}
.note{background:#fff7e6;border-left:3px solid #d97706;padding:4px 8px}
table.fields{border-collapse:collapse;width:100%;font-size:12.5px;table-layout:fixed}
table.fields td{padding:2px 4px;border-bottom:1px solid #eef0f5;vertical-align:top}
table.fields td.val{font-family:ui-monospace,monospace;word-break:break-all}
table.fields td.off{color:#8a93a6;font-size:11px;white-space:nowrap;width:54px}
td.sw{width:8px}
table.fields td.fname{white-space:nowrap;width:34%;overflow:hidden;text-overflow:ellipsis}
.hex{font:12px/1.5 ui-monospace,monospace;margin:10px 0}
.hex .off{color:#8a93a6;margin-right:10px}
.hex .b{padding:0 2px;border-radius:2px}
.hex .b.hl,.fld.hl{outline:2px solid #1d2b4f}
.c0{background:#fde2e2}.c1{background:#e0f2fe}.c2{background:#dcfce7}.c3{background:#fef3c7}
.c4{background:#ede9fe}.c5{background:#fce7f3}.c6{background:#e2e8f0}.c7{background:#ccfbf1}
.record{border:1px solid #dde2ee;border-radius:6px;padding:6px 8px;margin:8px 0;font-size:12.5px}
.bytes{font:11.5px/1.4 ui-monospace,monospace;word-break:break-all;color:#374151}
.bytes.plain{color:#15803d}
.hidden-note{color:#8a93a6;font-style:italic;font-size:12px}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:18px}
ul.tree li{position:relative;padding:3px 0 3px 10px;border-left:2px solid #c7cfe2}
ul.tree .sname{font-weight:600}
ul.tree .op{color:#5b6478;font-size:12px}
ul.tree .secret{font:11.5px ui-monospace,monospace;color:#b4540a;word-break:break-all}
#schedule{width:100%;box-sizing:border-box}
"""

_JS = """
(function(){
  var current=null;
  function show(i){
    var pane=document.getElementById('d'+i);
    if(!pane){return;}
    if(current){current.hidden=true;}
    document.querySelectorAll('#diagram .item.sel').forEach(
      function(g){g.classList.remove('sel');});
    var g=document.querySelector('#diagram .item[data-i="'+i+'"]');
    if(g){g.classList.add('sel');}
    pane.hidden=false;current=pane;
    document.getElementById('hint').hidden=true;
  }
  document.querySelectorAll('#diagram .item').forEach(function(g){
    g.addEventListener('click',function(){show(g.getAttribute('data-i'));});
    g.addEventListener('keydown',function(e){if(e.key==='Enter'){show(g.getAttribute('data-i'));}});
  });
  document.querySelectorAll('.fld').forEach(function(row){
    function mark(on){
      var pane=row.closest('.detail');
      pane.querySelectorAll('.b[data-f="'+row.getAttribute('data-f')+'"]').forEach(
        function(b){b.classList.toggle('hl',on);});
      row.classList.toggle('hl',on);
    }
    row.addEventListener('mouseenter',function(){mark(true);});
    row.addEventListener('mouseleave',function(){mark(false);});
  });
  show(document.body.getAttribute('data-first')||0);
})();
"""


def render_html(
    events: Sequence[TraceEvent], *, role: str, title: str = "TLS connection", summary: str = ""
) -> str:
    """The whole page for one side's trace (``role`` is "client" or "server")."""
    items = _items(events, role)
    round_trips = handshake_round_trips(items)
    revealed = any(isinstance(e, SecretEvent) and e.value is not None for e in events)
    subtitle = (
        f"seen from the {role}; {len(items)} arrows; handshake: {round_trips} round "
        f"trip{'s' if round_trips != 1 else ''}; secrets {'revealed' if revealed else 'hidden'}"
    )
    if summary:
        subtitle = f"{summary}; {subtitle}"
    legend = (
        '<div class="legend"><span><i style="background:#6b7385"></i>in clear</span>'
        '<span><i style="background:#7c3aed"></i>early traffic key</span>'
        '<span><i style="background:#d97706"></i>handshake traffic key</span>'
        '<span><i style="background:#15803d"></i>application traffic key</span>'
        '<span><i style="background:#dc2626"></i>alert</span></div>'
    )
    details = "".join(_detail(i, item) for i, item in enumerate(items))
    # Open on the first encrypted message: the most to see at a glance.
    first = next((i for i, item in enumerate(items) if item.key and item.raw), 0)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body data-first="{first}">
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main><div class="panel">{legend}{_svg(items)}</div>
<div class="panel" id="details"><p id="hint">Click a message to see its bytes.</p>{details}</div>
<div class="panel" id="schedule"><h2>Key schedule (RFC 8446 7.1)</h2>{_schedule(events)}</div>
</main><script>{_JS}</script></body></html>
"""


def write_html(path: str, events: Sequence[TraceEvent], *, role: str, **kw: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_html(events, role=role, **kw))
