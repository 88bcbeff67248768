"""Large base64 attachments set aside before the standard parser reads a message.

A unit's message is a few headers and a 300 KB workbook as 4,000 lines of
base64; the standard ``email`` parser walks every one of those lines in Python
(about 10 ms a message).  Here the message's MIME structure is followed with
byte searches (boundaries, header blocks), each large base64 body is decoded at
once by ``binascii`` and replaced by a short marker line, and the standard
parser reads the rest — headers, names, structure — as before.  The decoded
bytes are put back on the parts whose whole payload is a marker.

Nothing is decided here: a body whose padding is wrong stays for the standard
parser and its repairs, and unless every marker comes back as the whole payload of a
base64 part of the parsed message (the standard parser saw the same structure),
the caller parses the original message instead.
"""

from __future__ import annotations

import binascii
import os
import re
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser

PAYLOAD_ATTR = "_qtables_payload"  # where a part's decoded body is kept
_MIN_BODY = 8192  # smaller bodies cost the standard parser little
_MAX_DEPTH = 8
_HEADERS = BytesHeaderParser(policy=policy.compat32)


def parse(data: bytes, message_policy: policy.Policy) -> Message | None:
    """The parsed message with its large base64 bodies decoded aside, or None when there are none or the
    standard parser does not agree on where they are (the caller then parses ``data`` itself)."""
    cuts: list[tuple[int, int, bytes]] = []
    try:
        _message(data, 0, len(data), cuts, 0)
    except (ValueError, LookupError, UnicodeError):
        return None
    if not cuts:
        return None
    nonce = os.urandom(8).hex().upper()
    pieces, at, markers = [], 0, {}
    for i, (start, end, decoded) in enumerate(cuts):
        marker = f"QTBL{nonce}{i:08d}"  # base64 letters, a multiple of 4 long: a well-formed body of its own
        markers[marker] = decoded
        pieces += [data[at:start], marker.encode("ascii")]
        at = end
    pieces.append(data[at:])
    msg = BytesParser(policy=message_policy).parsebytes(b"".join(pieces))
    found = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload()
        if isinstance(payload, str) and payload.strip() in markers:
            if (part.get("content-transfer-encoding") or "").strip().lower() != "base64":
                return None
            setattr(part, PAYLOAD_ATTR, markers[payload.strip()])
            found += 1
    return msg if found == len(cuts) else None


_BLANK_LINE = re.compile(rb"\n\r?\n")


def _head_end(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(end of the header block, start of the body) of the entity in data[start:end]: at the first blank
    line, CRLF or LF (one search that stops there; looking for each kind apart ran through the whole
    attachment for the kind a message does not use)."""
    if data.startswith(b"\r\n", start):
        return start, start + 2
    if data.startswith(b"\n", start):
        return start, start + 1
    blank = _BLANK_LINE.search(data, start, end)
    return (blank.start() + 1, blank.end()) if blank else None


def _message(data: bytes, start: int, end: int, cuts: list, depth: int) -> None:
    """An entity (a message or a body part): headers, a blank line, a body."""
    if depth > _MAX_DEPTH:
        return
    split = _head_end(data, start, end)
    if split is None:
        return
    head_end, body = split
    headers = _HEADERS.parsebytes(data[start:head_end])
    ctype = headers.get_content_type()
    if ctype.startswith("multipart/"):
        boundary = headers.get_boundary()
        if boundary:
            _multipart(data, body, end, boundary.encode("ascii"), cuts, depth)
    elif ctype == "message/rfc822":
        _message(data, body, end, cuts, depth + 1)
    elif (headers.get("content-transfer-encoding") or "").strip().lower() == "base64" and end - body > _MIN_BODY:
        try:
            # What the standard parser's decoding gives a well-padded body: characters outside the base64
            # alphabet (the line breaks) skipped.  A padding error is left to its own repairs.
            decoded = binascii.a2b_base64(data[body:end])
        except binascii.Error:
            return
        cuts.append((body, end, decoded))


def _multipart(data: bytes, start: int, end: int, boundary: bytes, cuts: list, depth: int) -> None:
    """The parts between the delimiter lines (RFC 2046 §5.1.1: a delimiter starts a line)."""
    delimiter = b"--" + boundary
    lines = []
    at = start if data.startswith(delimiter, start) else -1
    if at < 0:
        found = data.find(b"\n" + delimiter, start, end)
        at = found + 1 if found >= 0 else -1
    while at >= 0:
        lines.append(at)
        if data.startswith(delimiter + b"--", at):
            break  # the close delimiter
        found = data.find(b"\n" + delimiter, at + len(delimiter), end)
        at = found + 1 if found >= 0 else -1
    for this, following in zip(lines, lines[1:]):
        line_end = data.find(b"\n", this, following)
        if line_end < 0:
            continue
        part_end = following - 1  # the line break before a delimiter belongs to the delimiter
        if part_end > line_end + 1 and data[part_end - 1:part_end] == b"\r":
            part_end -= 1
        _message(data, line_end + 1, part_end, cuts, depth + 1)
