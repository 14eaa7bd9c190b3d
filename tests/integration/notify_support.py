"""Helpers shared by the notification integration tests."""

from __future__ import annotations

import ipaddress
import random
import ssl
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from mktflow.domain import clock as clocks
from mktflow.domain.organisation import ChannelSpec
from mktflow.engine.channels import add_channel
from mktflow.notify.relay import Relay, RelayPolicy
from mktflow.notify.senders import Deliverer, HttpxPoster, Mailer, SmtpMailer
from mktflow.store.tables import Channel, OutboxMessage

HEAD = "ana.torres@example.com"  # marketing head
LINA = "li.na@example.com"  # marketing deputy, the delegate
OLGA = "olga.petrova@example.com"  # marketing
TOM = "tom.berg@example.com"  # tech
HANA = "hana.kim@example.com"  # tech head
SECRET_ENV = "MKTFLOW_TEST_HOOK_SECRET"



def channel(db: Any, department: str, type_: str = "webhook", **kw: Any) -> Channel:
    """Add a channel through the notify handler (a webhook gets a secret variable)."""
    if type_ == "webhook":
        kw.setdefault("secret_env", SECRET_ENV)
    if type_ != "email":
        kw.setdefault("url", f"http://127.0.0.1:9/{uuid.uuid4().hex[:6]}")
    return add_channel(db.uow(), ChannelSpec(department=department, type=type_, **kw))


def rows(db: Any, **where: Any) -> list[OutboxMessage]:
    """Outbox rows matching ``where`` (column=value), oldest first."""
    with db.uow() as u:
        query = select(OutboxMessage).order_by(col(OutboxMessage.created_at),
                                               col(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(u.session.exec(query))


def queue(db: Any, n: int, channel_id: int | None, *, at: datetime | None = None) -> list[str]:
    """Put ``n`` due messages for a channel straight into the outbox (bulk test setup)."""
    ids = []
    with db.uow(clock=(lambda: at) if at else None) as u:
        for i in range(n):
            m = u.outbox(OutboxMessage(
                id="", event="test.ping", subject=f"ping {i}", channel_id=channel_id,
                department="tech", payload={"ref": f"W-{i}", "n": i, "for": "tech"},
                link=f"http://127.0.0.1:8787/work/{i}"))
            ids.append(m.id)
        u.commit()
    return ids


def relay_for(db: Any, *, env: dict[str, str], clock: Any = None, mailer: Mailer | None = None,
              relay_id: str | None = None, **policy: Any) -> Relay:
    """A relay on the test database with a real pooled httpx client and quick backoff."""
    policy.setdefault("backoff_base_s", 0.001)
    policy.setdefault("backoff_cap_s", 0.01)
    policy.setdefault("destination_backoff_base_s", 0.001)
    policy.setdefault("destination_backoff_cap_s", 0.01)
    # long enough that a loaded 2-core machine never turns a 429 or a 200 into a timeout (a
    # timed-out send is a failure, and changes what a test sees); fault tests set their own
    policy.setdefault("http_timeout_s", 20.0)
    policy.setdefault("lease_s", 60.0)
    if isinstance(mailer, SmtpMailer):
        policy.setdefault("smtp_timeout_s", mailer.timeout_s)
    rp = RelayPolicy(**policy)
    poster = HttpxPoster.create(timeout_s=rp.http_timeout_s, concurrency=rp.concurrency)
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    deliverer = Deliverer(http=poster, mailer=mailer, env=env,
                          sender_address="mktflow@example.com",
                          clock=clock or clocks.now)
    return Relay(db.engine, deliverer, rp, rng=random.Random(3), relay_id=relay_id,
                 on_close=poster.close, **kwargs)


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh certificate for 127.0.0.1, and the certificate's file
    (point SSL_CERT_FILE at it and the default client context trusts it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)  # real time: the TLS library checks certificates against it
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
