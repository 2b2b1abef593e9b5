"""Workshop limits: admission of connections, failed-login delays, the open-file budget.

A workshop room usually reaches the host from one address (a NAT, a classroom
Wi-Fi): every limit keyed on the address alone is shared by the whole room, so
none of them may let one person lock the others out. Hence:

- connections still logging in are counted apart from logged-in ones (an idle
  TCP connection costs nobody a learner's slot), and capped for all addresses
  together, since each one holds a socket until its login grace ends;
- wrong passwords slow down the next *wrong* answers, per address and name,
  with growing delays; a right password is never delayed or refused.

No asyncssh here: these are plain counters the connection handlers drive.
"""

from __future__ import annotations

import resource
import time
from collections import Counter, deque
from collections.abc import Hashable

# Open files the server needs besides its connections: Python, asyncssh, the
# sessions file, the listening sockets, a lab run's queue files, with room to spare.
FDS_BASE = 64
# A session: its socket, the pty master, a pidfd, and a spare's two pipes until
# it is taken. Also the cost of one warm spare.
FDS_PER_SESSION = 4


def _inc(counter: Counter[str], key: str) -> None:
    counter[key] += 1


def _dec(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]  # a long workshop must not grow these forever


class Admission:
    """Who is connected, by state: logging in, logged in, playing; per address and in all."""

    def __init__(self, max_per_address: int, max_logging_in: int) -> None:
        self.max_per_address = max_per_address
        self.max_logging_in = max_logging_in
        self.logging_in: Counter[str] = Counter()
        self.logging_in_total = 0
        self.logged_in: Counter[str] = Counter()
        self.games: Counter[str] = Counter()

    @property
    def logging_in_share(self) -> int:
        # One address may hold at most half of the login places, so a single
        # machine cannot keep everybody else out; a room behind one NAT logging
        # in together still fits (50 of the default 100).
        return max(1, self.max_logging_in // 2)

    def start_login(self, address: str) -> str | None:
        """Count a new connection as logging in, or say why it must go."""
        if (
            self.logging_in_total >= self.max_logging_in
            or self.logging_in[address] >= self.logging_in_share
        ):
            return "too many connections are logging in right now: try again in a few seconds"
        _inc(self.logging_in, address)
        self.logging_in_total += 1
        return None

    def end_login(self, address: str) -> None:
        _dec(self.logging_in, address)
        self.logging_in_total -= 1

    def login_refusal(self, address: str) -> str | None:
        if self.logged_in[address] >= self.max_per_address:
            return f"too many connections from your address (at most {self.max_per_address})"
        return None

    def game_refusal(self, address: str) -> str | None:
        if self.games[address] >= self.max_per_address:
            return f"too many games from your address (at most {self.max_per_address})"
        return None

    def add_logged_in(self, address: str) -> None:
        _inc(self.logged_in, address)

    def remove_logged_in(self, address: str) -> None:
        _dec(self.logged_in, address)

    def add_game(self, address: str) -> None:
        _inc(self.games, address)

    def remove_game(self, address: str) -> None:
        _dec(self.games, address)


class LoginThrottle:
    """Growing delays before a wrong password is answered.

    Failures are remembered per (address, name) and per address for ``window``
    seconds. Past ``free_per_name`` failures of one name, or ``free_per_address``
    failures from one address, each further wrong answer waits 1, 2, 4 ... up to
    ``max_delay`` seconds. Only wrong answers wait: the right password is let in
    at once, so a guesser on the same network as the room slows down only
    himself. The instructor's name is never slowed by the address's failures
    (the learners'), only by failures of that name.
    """

    MAX_KEYS = 4096  # beyond this, forget keys whose failures left the window

    def __init__(
        self, free_per_name: int, free_per_address: int, window: float, max_delay: float
    ) -> None:
        self.free_per_name = free_per_name
        self.free_per_address = free_per_address
        self.window = window
        self.max_delay = max_delay
        self.by_name: dict[Hashable, deque[float]] = {}
        self.by_address: dict[Hashable, deque[float]] = {}

    def failed(self, address: str, name: str, *, privileged: bool = False) -> float:
        """Record a wrong password; return how long to wait before saying so."""
        now = time.monotonic()
        for_name = self._record(self.by_name, (address, name), now)
        for_address = self._record(self.by_address, address, now)
        delay = self._delay(for_name, self.free_per_name)
        if not privileged:
            delay = max(delay, self._delay(for_address, self.free_per_address))
        return delay

    def _record(self, table: dict[Hashable, deque[float]], key: Hashable, now: float) -> int:
        if len(table) >= self.MAX_KEYS:
            self._forget_old(table, now)
        # The delay is capped long before 64 failures, so older ones need no memory.
        times = table.setdefault(key, deque(maxlen=64))
        self._trim(times, now)
        times.append(now)
        return len(times)

    def _trim(self, times: deque[float], now: float) -> None:
        cutoff = now - self.window
        while times and times[0] < cutoff:
            times.popleft()

    def _forget_old(self, table: dict[Hashable, deque[float]], now: float) -> None:
        for key in list(table):
            self._trim(table[key], now)
            if not table[key]:
                del table[key]

    def _delay(self, failures: int, free: int) -> float:
        if failures <= free:
            return 0.0
        return min(self.max_delay, 2.0 ** (failures - free - 1))


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard one; return the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit still cannot exceed the kernel's nr_open; a million
    # is far beyond any workshop.
    target = min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else 1 << 20
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def fds_needed(max_sessions: int, max_logging_in: int, spares: int) -> int:
    return FDS_BASE + FDS_PER_SESSION * (max_sessions + spares) + max_logging_in


def sessions_that_fit(fd_limit: int, max_logging_in: int, spares: int) -> int:
    return (fd_limit - FDS_BASE - max_logging_in) // FDS_PER_SESSION - spares


class TokenBucket:
    """At most ``burst`` at once, refilled at ``rate`` per second: a rate limit.

    Used for the room's reports, per connection and per address; a report over
    the limit is answered "busy, retry after N s" and stays in the learner's
    outbox, so a limit slows a learner down but never loses anything.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0.0 if one unit was taken, else the seconds until one will be there."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class AddressBuckets:
    """One :class:`TokenBucket` per address, forgotten once full again (bounded memory)."""

    MAX_KEYS = 4096

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str, TokenBucket] = {}

    def take(self, address: str) -> float:
        bucket = self.buckets.get(address)
        if bucket is None:
            if len(self.buckets) >= self.MAX_KEYS:
                self._forget_full()
            bucket = self.buckets[address] = TokenBucket(self.rate, self.burst)
        return bucket.take()

    def _forget_full(self) -> None:
        now = time.monotonic()
        for key, bucket in list(self.buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * bucket.rate >= bucket.burst:
                del self.buckets[key]
