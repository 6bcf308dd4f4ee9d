"""HTTP over raw sockets, for what no HTTP client sends: malformed, slow or oversized requests."""

import asyncio
from dataclasses import dataclass


@dataclass
class Answer:
    status: int | None  # None: closed without an answer
    headers: dict[str, str]
    body: bytes


async def read_answer(reader: asyncio.StreamReader, seconds: float) -> Answer:
    """Status, headers and body of one answer (the server closes after each of these)."""
    try:
        raw = await asyncio.wait_for(reader.read(), seconds)
    except ConnectionResetError:
        raw = b""
    if not raw:
        return Answer(None, {}, b"")
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body)


async def send(port: int, raw: bytes, seconds: float = 10) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await read_answer(reader, seconds)
    finally:
        writer.close()
        await writer.wait_closed()
