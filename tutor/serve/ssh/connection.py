"""One SSH connection: admission, authentication, and what it may open.

A connection goes through three states, each counted apart (see
:class:`~tutor.serve.ssh.limits.Admission`): logging in, logged in, gone. It
may open one session channel, which becomes the game (or the board); further
ones are refused with a message. A logged-in connection with no session open
is ended after the login grace, like one that never logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
from typing import Any

import asyncssh

from tutor.serve.ssh.config import USER_RE, USER_RULE
from tutor.serve.ssh.session import LearnerSession
from tutor.serve.ssh.workshop import Workshop

ONE_SESSION = (
    "one session per connection: this connection already has one "
    "(open another connection for another game)"
)
# Extra session channels answered with ONE_SESSION before they are simply
# turned away: each refused channel is cheap, but not free.
EXTRA_SESSIONS_EXPLAINED = 4

LOGGING_IN, LOGGED_IN, GONE = "logging in", "logged in", "gone"


class LearnerConnection(asyncssh.SSHServer):
    """One SSH connection: authentication, limits and refusals of non-session channels."""

    def __init__(self, workshop: Workshop) -> None:
        self.w = workshop
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.username = ""
        self.failed = 0
        self.key_fingerprint: str | None = None
        self.is_instructor = False
        self.invalid_user = False
        self.state: str | None = None  # counted in Admission while LOGGING_IN/LOGGED_IN
        self.sessions_opened = 0
        self.sessions_open = 0
        self._no_session_timer: asyncio.TimerHandle | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.w.connections.add(conn)
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "?"
        if self.w.stopping:
            self._refuse(asyncssh.DISC_BY_APPLICATION, "the workshop server is shutting down")
            return
        refusal = self.w.admission.start_login(self.address)
        if refusal is not None:
            # Refused before the key exchange: the cheapest moment, and the socket
            # goes at once instead of waiting out the login grace.
            self._refuse(asyncssh.DISC_TOO_MANY_CONNECTIONS, refusal)
            return
        self.state = LOGGING_IN

    def _refuse(self, code: int, reason: str) -> None:
        conn = self.conn
        assert conn is not None
        # Disconnect once the handshake machinery is set up; OpenSSH prints the reason.
        asyncio.get_running_loop().call_soon(conn.disconnect, code, reason)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.w.connections.discard(self.conn)
        self._cancel_no_session_timer()
        self._leave_state()
        self.state = GONE

    def _leave_state(self) -> None:
        if self.state == LOGGING_IN:
            self.w.admission.end_login(self.address)
        elif self.state == LOGGED_IN and not self.is_instructor:
            self.w.admission.remove_logged_in(self.address)

    def _log_in(self) -> bool:
        """Authentication succeeded: move from logging in to logged in, if there is room.

        Checked at this moment, not at connect time, so that connections which
        never log in cannot use up the address's places.
        """
        if self.state != LOGGING_IN:
            return False
        # The instructor is not one of the room's learners: never counted against them.
        if not self.is_instructor:
            refusal = self.w.admission.login_refusal(self.address)
            if refusal is not None:
                self._disconnect_now(asyncssh.DISC_TOO_MANY_CONNECTIONS, refusal)
                return False
            self.w.admission.add_logged_in(self.address)
        self.w.admission.end_login(self.address)
        self.state = LOGGED_IN
        return True

    def _disconnect_now(self, code: int, reason: str) -> None:
        # During authentication a deferred disconnect would let the client see a
        # plain "permission denied" first; the reason matters more.
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.disconnect(code, reason)

    def auth_completed(self) -> None:
        # Key logins reserve their place only now (see validate_public_key).
        if self.state == LOGGING_IN and not self._log_in():
            return
        self._arm_no_session_timer()

    # -- a logged-in connection without a session ------------------------------------
    def _arm_no_session_timer(self) -> None:
        self._cancel_no_session_timer()
        if self.state == LOGGED_IN and self.sessions_open == 0:
            self._no_session_timer = asyncio.get_running_loop().call_later(
                self.w.config.login_grace, self._no_session
            )

    def _cancel_no_session_timer(self) -> None:
        if self._no_session_timer is not None:
            self._no_session_timer.cancel()
            self._no_session_timer = None

    def _no_session(self) -> None:
        self._no_session_timer = None
        if self.sessions_open == 0 and self.conn is not None and self.state == LOGGED_IN:
            # 'ssh -N' or a session that ended: either way the connection holds one
            # of the address's places and will never play.
            self._disconnect_now(
                asyncssh.DISC_BY_APPLICATION,
                f"no game session on this connection for {self.w.config.login_grace:g} s: "
                "connect with plain 'ssh -p PORT NAME@HOST'",
            )

    def session_closed(self) -> None:
        self.sessions_open -= 1
        self._arm_no_session_timer()

    # -- authentication -----------------------------------------------------------
    def begin_auth(self, username: str) -> bool:
        self.username = username
        if not USER_RE.match(username):
            # The banner is the one place before login where a client shows our text;
            # with no method offered the login then fails.
            self.invalid_user = True
            assert self.conn is not None
            self.conn.send_auth_banner(f"tutor: {USER_RULE}\r\n")
            self._refuse(asyncssh.DISC_ILLEGAL_USER_NAME, USER_RULE)
            return True
        self.is_instructor = username == self.w.config.instructor
        # --auth open: no authentication at all (the instructor chose a closed room).
        if self.w.config.auth == "open" and not self.is_instructor:
            if self._log_in():
                return False
            self.invalid_user = True  # no method offered: the login fails
        return True

    def password_auth_supported(self) -> bool:
        if self.invalid_user:
            return False
        return self.is_instructor or self.w.config.auth == "password"

    def kbdint_auth_supported(self) -> bool:
        return False

    async def validate_password(self, username: str, password: str) -> bool:
        if self.is_instructor:
            expected = self.w.config.instructor_password or ""
        elif self.w.config.auth == "password":
            expected = self.w.config.password or ""
        else:
            expected = ""
        ok = bool(expected) and hmac.compare_digest(password.encode(), expected.encode())
        if ok:
            return self._log_in()
        delay = self.w.throttle.failed(self.address, username, privileged=self.is_instructor)
        if delay > 0:
            await asyncio.sleep(delay)
        self._failed_attempt()
        return False

    def public_key_auth_supported(self) -> bool:
        return self.w.config.auth == "keys" and not self.is_instructor and not self.invalid_user

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        known = self.w.authorized.get(key.public_data)
        if known is None:
            # Not a guessed secret: a client offering several unknown keys is
            # normal, so only the per-connection count applies.
            self._failed_attempt()
            return False
        # Called for the client's query and again with its signature, which is
        # checked after us: refuse when full, but take the place in auth_completed.
        if not self.is_instructor:
            refusal = self.w.admission.login_refusal(self.address)
            if refusal is not None:
                self._disconnect_now(asyncssh.DISC_TOO_MANY_CONNECTIONS, refusal)
                return False
        self.key_fingerprint = key.get_fingerprint("sha256")
        return True

    def _failed_attempt(self) -> None:
        self.failed += 1
        if self.failed >= self.w.config.failed_logins_per_connection:
            self._refuse(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many failed logins")

    # -- what a client may open ------------------------------------------------------
    def session_requested(self) -> LearnerSession:
        self.sessions_opened += 1
        refusal = None
        if self.sessions_opened > 1:
            # One game per connection, or one login could start every game the
            # server has room for; the per-address limits count connections.
            if self.sessions_opened > 1 + EXTRA_SESSIONS_EXPLAINED:
                raise asyncssh.ChannelOpenError(
                    asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, ONE_SESSION
                )
            refusal = ONE_SESSION
        self.sessions_open += 1
        self._cancel_no_session_timer()
        return LearnerSession(self.w, self, refusal=refusal)

    def connection_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "port forwarding is disabled on this server"
        )

    def server_requested(self, *_args: Any) -> bool:
        return False  # a global request has no room for a message; the client says "failed"

    def unix_connection_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
            "socket forwarding is disabled on this server",
        )

    def unix_server_requested(self, *_args: Any) -> bool:
        return False

    def tun_requested(self, *_args: Any) -> bool:
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "tunnels are disabled on this server"
        )

    def tap_requested(self, *_args: Any) -> bool:
        return self.tun_requested()

    @property
    def profile(self) -> str:
        if self.key_fingerprint:
            # Two people may pick the same name; in key mode their keys tell them apart.
            tag = re.sub(r"[^A-Za-z0-9]", "", self.key_fingerprint.partition(":")[2])[:8]
            return f"{self.username}-{tag}"
        return self.username
