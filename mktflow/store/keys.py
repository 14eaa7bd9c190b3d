"""Secret keys a setting gives or the data folder keeps: made once, at random, mode 0600.

Every process serving one data folder (``mktflow serve``, ``mktflow api serve``, ``mktflow
outbox relay``) reads the same file; processes on other hosts need the setting instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from mktflow.domain.errors import ConfigError

if TYPE_CHECKING:
    from mktflow.config import Settings

__all__ = ["SIGN_IN_KEY_FILE", "data_folder_key", "sign_in_key"]

#: The data folder's sign-in key (``MKTFLOW_SIGN_IN_LINK_SECRET`` empty).
SIGN_IN_KEY_FILE = "sign-in-link.key"


def data_folder_key(data_dir: Path, name: str) -> bytes:
    """The 32-byte key kept in ``data_dir / name`` (hex), made at random the first time.

    It is written whole to a file of its own, then linked to its name (which fails if the name
    exists), so two processes making it at once agree on the first one and neither ever reads
    half a key.
    """
    path = data_dir / name
    try:
        return bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    draft = data_dir / f".{name}.{secrets.token_hex(6)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: use theirs
            return bytes.fromhex(path.read_text("ascii").strip())
    finally:
        draft.unlink(missing_ok=True)
    return key


def sign_in_key(settings: Settings) -> bytes:
    """The key one-time sign-in codes are made with: ``MKTFLOW_SIGN_IN_LINK_SECRET``, else
    the data folder's ``sign-in-link.key``. Raises ConfigError for a secret under 16 bytes."""
    secret = settings.sign_in_link_secret.get_secret_value() \
        if settings.sign_in_link_secret is not None else ""
    if not secret:
        return data_folder_key(settings.data_dir, SIGN_IN_KEY_FILE)
    if len(secret.encode()) < 16:
        raise ConfigError("MKTFLOW_SIGN_IN_LINK_SECRET must be at least 16 bytes long (a long "
                          "random secret); or leave it empty for a key kept in the data folder")
    return secret.encode()
