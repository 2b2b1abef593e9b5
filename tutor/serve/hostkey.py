"""The server's persistent host key.

Learners check the fingerprint printed at start against what their ``ssh`` shows;
a key regenerated on every start would teach them to click through the warning.
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

HOST_KEY_NAME = "ssh_host_ed25519_key"


def load_or_create(data_dir: Path) -> asyncssh.SSHKey:
    path = data_dir / HOST_KEY_NAME
    if path.exists():
        return asyncssh.read_private_key(str(path))
    data_dir.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="concurrency-tutor host key")
    # O_EXCL + 0600 from the start: the private key is never readable by others,
    # not even for the moment between create and chmod.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key())
    return key


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...``, the form OpenSSH prints when it first meets the host."""
    return key.get_fingerprint("sha256")
