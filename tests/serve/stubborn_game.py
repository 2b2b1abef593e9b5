"""A stand-in game that will not leave: it never reads its input (so never sees
textual-serve's request to quit) and keeps writing output until that blocks."""

from __future__ import annotations

import sys
import time


def packet(text: bytes) -> bytes:
    return b"D" + len(text).to_bytes(4, "big") + text


out = sys.stdout.buffer
out.write(b"__GANGLION__\n" + packet(b"stubborn game ready\r\n"))
out.flush()
while True:
    out.write(packet(b"." * 65536))
    out.flush()
    time.sleep(0.1)
