"""The lab's own slow web server, so downloads are real HTTP yet offline and repeatable.

Run as ``python -m tutor.lab.httpserver --delay S --size-kib N [--bandwidth-kib N]``;
it prints ``PORT`` on its first stdout line and serves until stdin closes
(its parent, the runner, went away), the runner dies (Linux parent-death
signal) or it is killed with the runner's group.

The request queue is raised to 256 (``http.server`` defaults to 5), otherwise
an asyncio burst of connections is refused. With ``--bandwidth-kib`` every
response shares one link of that speed, like files through one slow line.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SharedLink:
    """A token bucket all responses draw from: the total rate is capped, not each file's."""

    def __init__(self, bytes_per_s: int) -> None:
        self.rate = bytes_per_s
        self.lock = threading.Lock()
        self.next_free = time.monotonic()

    def take(self, nbytes: int) -> None:
        with self.lock:
            start = max(self.next_free, time.monotonic())
            self.next_free = start + nbytes / self.rate
            wait = self.next_free - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class LabServer(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True

    def __init__(self, delay: float, body: bytes, link: SharedLink | None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.delay = delay
        self.body = body
        self.link = link


class Handler(BaseHTTPRequestHandler):
    server: LabServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        time.sleep(self.server.delay)
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        link = self.server.link
        chunk = 16 * 1024
        for start in range(0, len(body), chunk):
            piece = body[start : start + chunk]
            if link:
                link.take(len(piece))
            self.wfile.write(piece)

    def log_message(self, format: str, *args: object) -> None:
        pass  # a line per request would flood the runner's stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--size-kib", type=int, default=64)
    parser.add_argument("--bandwidth-kib", type=int, default=0)
    args = parser.parse_args()
    # stdin's end-of-file alone is not enough: fork workers inherit the runner's
    # end of that pipe and keep it open until they die themselves.
    from tutor.lab.report import die_with_parent

    die_with_parent()
    # Text-like bytes: the pipeline's post-processing can chew on them.
    body = (os.urandom(512).hex().encode() * (args.size_kib + 1))[: args.size_kib * 1024]
    link = SharedLink(args.bandwidth_kib * 1024) if args.bandwidth_kib else None
    server = LabServer(args.delay, body, link)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    try:
        while sys.stdin.buffer.read(1):
            pass
    except OSError:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
