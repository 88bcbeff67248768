"""A tiny writer of OLE compound files, enough for test fixtures (.msg, encrypted packages).

Streams under 4096 bytes go to the mini stream, larger ones to regular
sectors, as the format requires.  Children of a storage are chained through
right-sibling links.
"""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512
FREE, END, FAT_SECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def write_ole(path: Path, tree: dict) -> None:
    """``tree`` maps names to bytes (a stream) or to a dict (a storage)."""
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "children": []}]

    def add(node: dict, parent: int) -> None:
        for name, value in node.items():
            index = len(entries)
            entries[parent]["children"].append(index)
            if isinstance(value, dict):
                entries.append({"name": name, "type": 1, "children": []})
                add(value, index)
            else:
                entries.append({"name": name, "type": 2, "data": value, "children": []})

    add(tree, 0)
    streams = [e for e in entries if e["type"] == 2]
    small = [e for e in streams if len(e["data"]) < 4096]
    large = [e for e in streams if len(e["data"]) >= 4096]
    # Small streams live in the mini stream (64-byte sectors) held by the root entry.
    ministream, minifat = bytearray(), []
    for e in small:
        count = max(1, (len(e["data"]) + 63) // 64)
        e["start"] = len(ministream) // 64
        for i in range(count):
            minifat.append(e["start"] + i + 1 if i < count - 1 else END)
        ministream += e["data"].ljust(count * 64, b"\x00")
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat) if minifat else b""
    minifat_sectors = (len(minifat_bytes) + SECTOR - 1) // SECTOR
    mini_sectors = (len(ministream) + SECTOR - 1) // SECTOR
    dir_sectors = (len(entries) * 128 + SECTOR - 1) // SECTOR
    data_sectors = sum((len(e["data"]) + SECTOR - 1) // SECTOR for e in large)
    fat_sectors = 1
    while fat_sectors + dir_sectors + minifat_sectors + mini_sectors + data_sectors > fat_sectors * 128:
        fat_sectors += 1
    fat = [FREE] * (fat_sectors * 128)
    for i in range(fat_sectors):
        fat[i] = FAT_SECT
    cursor = fat_sectors

    def chain(count: int) -> int:
        nonlocal cursor
        first = cursor
        for i in range(count):
            fat[cursor + i] = cursor + i + 1 if i < count - 1 else END
        cursor += count
        return first

    first_dir = chain(dir_sectors)
    first_minifat = chain(minifat_sectors) if minifat_sectors else END
    entries[0]["start"] = chain(mini_sectors) if mini_sectors else END
    entries[0]["size"] = len(ministream)
    body = bytearray(minifat_bytes.ljust(minifat_sectors * SECTOR, b"\xff")) + ministream.ljust(mini_sectors * SECTOR, b"\x00")
    for e in large:
        count = (len(e["data"]) + SECTOR - 1) // SECTOR
        e["start"] = chain(count)
        body += e["data"].ljust(count * SECTOR, b"\x00")

    def entry(e: dict) -> bytes:
        out = bytearray(128)
        raw = e["name"].encode("utf-16-le")
        out[: len(raw)] = raw
        struct.pack_into("<H", out, 64, len(raw) + 2)
        out[66], out[67] = e["type"], 1
        child = e["children"][0] if e["children"] else FREE
        struct.pack_into("<III", out, 68, FREE, e.get("right", FREE), child)
        struct.pack_into("<I", out, 116, e.get("start", 0))
        struct.pack_into("<I", out, 120, e.get("size", len(e.get("data", b""))))
        return bytes(out)

    for e in entries:
        kids = e["children"]
        for a, b in zip(kids, kids[1:]):
            entries[a]["right"] = b
    directory = b"".join(entry(e) for e in entries).ljust(dir_sectors * SECTOR, b"\x00")
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHH", header, 24, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into("<H", header, 32, 6)
    struct.pack_into("<I", header, 44, fat_sectors)
    struct.pack_into("<I", header, 48, first_dir)
    struct.pack_into("<I", header, 56, 4096)
    struct.pack_into("<I", header, 60, first_minifat)
    struct.pack_into("<I", header, 64, minifat_sectors)
    struct.pack_into("<I", header, 68, END)
    for i in range(109):
        struct.pack_into("<I", header, 76 + 4 * i, i if i < fat_sectors else FREE)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    path.write_bytes(bytes(header) + fat_bytes + directory + bytes(body))


def outlook_msg(path: Path, *, sender: str, subject: str, attachments: list[tuple[str, bytes]]) -> Path:
    """An Outlook .msg as its OLE storage lays it out (the properties qtables reads)."""
    tree: dict = {
        "__properties_version1.0": b"\x00" * 32,
        "__substg1.0_0037001F": subject.encode("utf-16-le"),
        "__substg1.0_0C1F001F": sender.encode("utf-16-le"),
    }
    for i, (name, data) in enumerate(attachments):
        tree[f"__attach_version1.0_#{i:08X}"] = {
            "__properties_version1.0": b"\x00" * 16,
            "__substg1.0_3707001F": name.encode("utf-16-le"),
            "__substg1.0_37010102": data,
        }
    write_ole(path, tree)
    return path
