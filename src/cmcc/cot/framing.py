"""Splitting TCP byte streams into CoT events, and reading UDP datagrams. Pure: no I/O.

XML streams are events back to back, split after each `</event>`; TAK Protocol v1 streams
are frames of 0xBF, a varint length and a TakMessage. Both splitters cap what they hold, so
an event that never ends cannot grow memory, and both scan each byte a bounded number of
times however the data is chunked."""

from __future__ import annotations

from cmcc.cot.codec import MESH_HEADER, decode_datagram

__all__ = [
    "MESH_HEADER",
    "FrameError",
    "ProtoStreamSplitter",
    "XmlStreamSplitter",
    "decode_datagram",
    "encode_varint",
    "frame_proto",
]

MAGIC = 0xBF
_END = b"</event"
_WS = b" \t\r\n"
_MAX_VARINT = 10


class FrameError(ValueError):
    """The stream cannot be split: garbage, or more pending than the cap allows."""


class XmlStreamSplitter:
    """Complete `<event>...</event>` chunks out of an XML byte stream."""

    def __init__(self, max_event_bytes: int = 64 * 1024) -> None:
        self.max_event_bytes = max_event_bytes
        self._buf = bytearray()
        self._scan = 0  # where the search for the current terminator resumes
        self._bad = False  # garbage seen after events already returned: raise on next feed

    def pending(self) -> bytes:
        """The bytes held, not yet returned as events (for a switch to protobuf)."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the events now complete, each ending with `</event>`.

        Garbage right after complete events is held back (so a caller switching to protobuf
        can take it with `pending()`) and raises on the next feed."""
        if self._bad:
            raise FrameError("stream: bytes that cannot begin an event")
        buf = self._buf
        buf += data
        events: list[bytes] = []
        pos, n, cap = 0, len(buf), self.max_event_bytes
        while True:
            while pos < n and buf[pos] in _WS:
                pos += 1
            if pos == n:
                break
            if buf[pos] != 0x3C:  # "<"
                if events:
                    self._bad = True
                    break
                raise FrameError(f"stream: byte {buf[pos]:#04x} cannot begin an event")
            if pos + 1 == n:
                break
            if buf[pos + 1] == 0x3F:  # "<?": an XML declaration, skipped
                end = buf.find(b"?>", max(pos + 2, self._scan))
                if end < 0:
                    self._scan = max(pos + 2, n - 1)
                    break
                pos, self._scan = end + 2, 0
                continue
            end = self._event_end(buf, pos, n)
            if end < 0:
                break
            if end - pos > cap:
                raise FrameError(f"stream: event of {end - pos} bytes exceeds {cap}")
            events.append(bytes(buf[pos:end]))
            pos, self._scan = end, 0
        if pos:
            del buf[:pos]
            self._scan = max(0, self._scan - pos)
        if len(buf) > cap:
            raise FrameError(f"stream: {len(buf)} bytes pending without </event> (cap {cap})")
        return events

    def _event_end(self, buf: bytearray, pos: int, n: int) -> int:
        """The offset just past `</event>` for the event at `pos`, or -1 (need more bytes)."""
        i = buf.find(_END, max(pos, self._scan))
        while i >= 0:
            j = i + len(_END)
            while j < n and buf[j] in _WS:
                j += 1
            if j == n:
                self._scan = i
                return -1
            if buf[j] == 0x3E:  # ">"
                return j + 1
            i = buf.find(_END, i + 1)
        self._scan = max(pos, n - len(_END) + 1)
        return -1


class ProtoStreamSplitter:
    """TakMessage payloads out of a TAK Protocol v1 stream: 0xBF, varint length, payload."""

    def __init__(self, max_event_bytes: int = 64 * 1024) -> None:
        self.max_event_bytes = max_event_bytes
        self._buf = bytearray()

    def pending(self) -> bytes:
        """The bytes held, not yet returned as payloads."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos, n = 0, len(buf)
        while pos < n:
            if buf[pos] != MAGIC:
                raise FrameError(f"stream: byte {buf[pos]:#04x} where 0xbf was expected")
            length, shift, i, complete = 0, 0, pos + 1, False
            while i < n and i - pos - 1 < _MAX_VARINT:
                b = buf[i]
                i += 1
                length |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    complete = True
                    break
            if not complete:
                if i - pos - 1 >= _MAX_VARINT:
                    raise FrameError("stream: varint length longer than 10 bytes")
                break  # the length is not complete yet
            if length > self.max_event_bytes:
                raise FrameError(f"stream: frame of {length} bytes exceeds {self.max_event_bytes}")
            if n - i < length:
                break
            out.append(bytes(buf[i : i + length]))
            pos = i + length
        if pos:
            del buf[:pos]
        return out


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def frame_proto(payload: bytes) -> bytes:
    """Stream framing for one TakMessage."""
    return b"\xbf" + encode_varint(len(payload)) + payload
