"""Telling departments: channels, the outbox relay, and the senders behind it.

The engine writes one ``OutboxMessage`` per channel in the transaction of the change that
caused it (``mktflow.engine.notices``); the relay (``mktflow.notify.relay``) claims due
messages, sends them over their channel (webhook, Slack-compatible webhook, e-mail), and marks
them sent, retries them with backoff, or dead-letters them.

Errors raised while sending: ``mktflow.domain.errors.DeliveryFailed`` (one attempt failed;
``permanent`` says whether retrying can help).
"""
