"""How fast the gateway reads CoT events: the codec (lxml) against the fast path.

    .venv/bin/python bench/cot/parse_bench.py [--seconds 1.0] [--repeats 7]

For each kind of event (the load generator's position, ATAK's, WinTAK's, a ping), and for
positions over TAK Protocol, it reads the same bytes again and again with each parser and
prints events per second of CPU time on one core (the best of the repeats, the machine
being shared; and their median). "server" is what the gateway does with an XML frame: the
fast path, then the codec when the fast path declines. It asserts nothing."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable

from loadgen import cot_times, position_event
from lxml import etree

from cmcc.cot import codec, fastpath
from cmcc.cot.event import CotEvent

_T, _S = cot_times()

ATAK = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"
    f"<event version='2.0' uid='ANDROID-589520ccfcd20f01' type='a-f-G-U-C' time='{_T}'"
    f" start='{_T}' stale='{_S}' how='h-e'>"
    "<point lat='31.501234' lon='34.466789' hae='-12.3' ce='9.9' le='9999999.0' />"
    "<detail><takv os='34' version='5.2.0.4 (4d8e1d40).1725558813-CIV' device='GOOGLE PIXEL 8'"
    " platform='ATAK-CIV'/><contact endpoint='*:-1:stcp' callsign='ALPHA-1'/>"
    "<uid Droid='ALPHA-1'/><precisionlocation altsrc='GPS' geopointsrc='GPS'/>"
    "<__group role='Team Member' name='Cyan'/><status battery='88'/>"
    "<track course='271.5' speed='1.25'/></detail></event>"
).encode()

WINTAK = (
    '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
    f'<event version="2.0" uid="S-1-5-21-2720623347-3037847324-4167270909-1002"'
    f' type="a-f-G-U-C" time="{_T}" start="{_T}" stale="{_S}" how="h-e" access="Undefined">'
    '<point lat="31.52" lon="34.45" hae="9999999" ce="9999999" le="9999999" />'
    '<detail><contact callsign="WINTAK-1" endpoint="*:-1:stcp" /><uid Droid="WINTAK-1" />'
    '<__group name="Cyan" role="Team Member" /><status battery="100" />'
    '<track speed="0.00000000" course="0.00000000" />'
    '<takv device="DESKTOP-4CJ2K1" platform="WinTAK-CIV" os="Microsoft Windows 10 Pro"'
    ' version="5.1.0.77" /></detail></event>'
).encode()


def _server(frame: bytes) -> CotEvent:
    return fastpath.parse_position(frame) or codec.parse_xml(frame)


def rates(
    parsers: list[Callable[[bytes], object]], data: bytes, seconds: float, repeats: int
) -> list[list[float]]:
    """Events per CPU second of each parser, once per round; in each round every parser
    reads for `seconds`, one after the other, so that they share what the machine does."""
    n = 1
    while True:  # a batch that takes about a tenth of a turn
        start = time.thread_time()
        for _ in range(n):
            parsers[0](data)
        if time.thread_time() - start > seconds / 10:
            break
        n *= 2
    found: list[list[float]] = [[] for _ in parsers]
    for _ in range(repeats):
        for parse, out in zip(parsers, found, strict=True):
            done, start = 0, time.thread_time()
            while (spent := time.thread_time() - start) < seconds:
                for _ in range(n):
                    parse(data)
                done += n
            out.append(done / spent)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="per parser and round")
    parser.add_argument("--repeats", type=int, default=15, help="rounds")
    args = parser.parse_args()
    loadgen = position_event("bench-7", "BENCH-7", 31.321, 34.3, _T, _S, "seq=1 sent=1 src=7")
    ping = codec.pong(dt.datetime.now(dt.UTC)).replace(b"t-x-c-t-r", b"t-x-c-t")
    xml = {"loadgen position": loadgen, "ATAK position": ATAK, "WinTAK position": WINTAK}
    xml["ping (declined)"] = ping
    proto = {
        k: codec.to_proto(codec.parse_xml(xml[k])) for k in ("loadgen position", "ATAK position")
    }
    print(
        f"CoT parsing, {dt.datetime.now():%d %b %Y %H:%M}: Python {platform.python_version()},"
        f" lxml {'.'.join(map(str, etree.LXML_VERSION[:3]))}, nproc {os.cpu_count()},"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before"
    )
    print("events per second of one core's CPU time: best round (median round); ratio: the")
    print("median of the rounds' server / codec (XML) or fast path / codec (TAK Protocol)\n")
    print(f"{'event':<40}{'codec':>20}{'fast path':>20}{'server':>20}{'ratio':>8}")
    for name, data in xml.items():
        if name.startswith("ping"):  # declined: the fast path returns None
            codec_, server = rates([codec.parse_xml, _server], data, args.seconds, args.repeats)
            fast: list[float] = []
        else:
            parsers = [codec.parse_xml, fastpath.parse_position, _server]
            codec_, fast, server = rates(parsers, data, args.seconds, args.repeats)
        _print(f"XML, {name} ({len(data)} B)", codec_, fast, server, server)
    for name, data in proto.items():
        parsers = [codec.parse_proto, fastpath.parse_proto]
        codec_, fast = rates(parsers, data, args.seconds, args.repeats)
        _print(f"TAK Protocol, {name} ({len(data)} B)", codec_, fast, fast, fast)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} after")


def _print(
    label: str, codec_: list[float], fast: list[float], server: list[float], by: list[float]
) -> None:
    cells = [
        f"{max(r):,.0f} ({statistics.median(r):,.0f})" if r else "-" for r in (codec_, fast, server)
    ]
    ratio = statistics.median(b / c for b, c in zip(by, codec_, strict=True))
    print(f"{label:<40}" + "".join(f"{c:>20}" for c in cells) + f"{ratio:>7.2f}x")


if __name__ == "__main__":
    main()
