"""Signing in with a one-time link: the rate limits, as data, and how a link's code is made.

**Rate limits** (issue 19, item 6). A "send me a link" request is counted twice: by the e-mail
address it names and by the client (IP address) that sent it. ``SignInLimits.rules`` holds
one ``RateLimit`` per thing counted, each saying why it exists; ``wait_before`` says how long
until a request would be taken again (None: it is taken now). Requests are counted whether or
not the address is a member's, so a refusal says nothing about membership either.

**Codes.** A link's code is never stored. It is ``code_for(key, nonce)``: HMAC-SHA256, under
the sign-in key, of a random nonce. The outbox message keeps the nonce, the ``signinlink`` row
the code's SHA-256 (to find it when it is used); without the key neither gives the code, so
a copy of the database or ``mktflow outbox list`` holds no usable link. The relay, which
holds the key, makes the code when it sends the link. ``key_id`` names a key without revealing
it: a relay whose key is not the one a link was made with refuses to send it (the link would
not work) instead of sending a dead link.

Pure standard library: the key comes from the caller (``mktflow.store.keys``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "PAYLOAD_KEY",
    "RateLimit",
    "SignInLimits",
    "code_for",
    "counting_key",
    "key_id",
]


#: Where a sign-in message's payload says how to make its link: ``{"url": "<API>/sign-in/",
#: "nonce": …, "key": key_id(key)}``; the relay turns it into ``link`` when it sends.
PAYLOAD_KEY = "sign_in"


@dataclass(frozen=True)
class RateLimit:
    """At most ``most`` requests per ``counted`` thing (``address`` or ``client``) within
    ``window``; ``why`` is the reason, in one line."""

    counted: str
    most: int
    window: timedelta
    why: str

    def wait_before(self, recent: Sequence[datetime], now: datetime) -> timedelta | None:
        """How long until one more request fits, given the times of the requests already
        counted for the same thing (any order; those outside the window are ignored); None
        when it fits now."""
        inside = sorted((t for t in recent if now - t < self.window), reverse=True)
        if len(inside) < self.most:
            return None
        return inside[self.most - 1] + self.window - now  # when the oldest that counts leaves


@dataclass(frozen=True)
class SignInLimits:
    """The rate limits of "send me a link" requests: one per e-mail address, one per client."""

    per_address: RateLimit
    per_client: RateLimit

    @classmethod
    def of(cls, *, per_address: int, per_client: int, window: timedelta) -> SignInLimits:
        """The limits ``MKTFLOW_SIGN_IN_*`` describe."""
        return cls(
            RateLimit("address", per_address, window,
                      "nobody can flood one person's inbox or chat with sign-in links"),
            RateLimit("client", per_client, window,
                      "one client cannot ask for links for address after address"))

    @property
    def rules(self) -> tuple[RateLimit, ...]:
        """Every limit, the address's first."""
        return (self.per_address, self.per_client)

    @property
    def window(self) -> timedelta:
        """The longest window: requests older than it count for nothing."""
        return max(rule.window for rule in self.rules)

    def wait_before(self, *, address: Sequence[datetime], client: Sequence[datetime],
                    now: datetime) -> timedelta | None:
        """How long until a request for this address from this client is taken (the longer
        wait of the two limits it breaks), or None: it is taken now."""
        waits = [w for w in (self.per_address.wait_before(address, now),
                             self.per_client.wait_before(client, now)) if w is not None]
        return max(waits) if waits else None


def code_for(key: bytes, nonce: str) -> str:
    """The one-time code of the link made with ``nonce``: 43 URL-safe characters, the
    HMAC-SHA256 of the nonce under the sign-in ``key``."""
    mac = hmac.new(key, b"mktflow-sign-in-code\x00" + nonce.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def key_id(key: bytes) -> str:
    """A name for the sign-in ``key`` that does not reveal it (16 hex digits)."""
    return hmac.new(key, b"mktflow-sign-in-key-id", hashlib.sha256).hexdigest()[:16]


def counting_key(key: bytes, counted: str, value: str) -> str:
    """What a rate limit counts ``value`` (an e-mail, a client's address) under: its
    HMAC-SHA256 hex digest under the sign-in ``key``, so the table names nobody."""
    message = f"mktflow-sign-in-{counted}\x00{value}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
