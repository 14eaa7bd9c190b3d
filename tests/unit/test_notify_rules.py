"""Channel rules in organisation files, escalation timing, secrets and settings."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from mktflow.config import Settings
from mktflow.domain.errors import ConfigError, OrganisationInvalid
from mktflow.domain.organisation import ChannelSpec, channel_problems, parse_organisation
from mktflow.engine.channels import read_secret
from mktflow.engine.sla import EscalationPolicy


def demo_with(*channels: dict[str, Any]) -> dict[str, Any]:
    text = resources.files("mktflow.demo").joinpath("demo-organisation.yaml").read_text()
    raw = copy.deepcopy(yaml.safe_load(text))
    raw["channels"] = list(channels)
    return raw


def refused(raw: dict[str, Any]) -> str:
    with pytest.raises(OrganisationInvalid) as info:
        parse_organisation(raw, "org.yaml")
    return str(info.value)


def test_valid_channels_of_every_type_are_accepted() -> None:
    spec = parse_organisation(demo_with(
        {"department": "tech", "type": "webhook", "url": "https://hooks.example.com/t",
         "secret_env": "TECH_HOOK_SECRET"},
        {"department": "marketing", "type": "slack", "url": "https://hooks.slack.test/T/B/x"},
        {"department": "marketing", "type": "email", "to": "olga@example.com",
         "member": "olga.petrova@example.com"},
    ), "org.yaml")
    assert [c.type for c in spec.channels] == ["webhook", "slack", "email"]


@pytest.mark.parametrize(("channel", "problem"), [
    ({"type": "sms", "url": "https://x.io"},
     "channels[0] (tech): type: 'sms' is not a channel type (use webhook or slack or email)"),
    ({"type": "webhook", "secret_env": "S"},
     "channels[0] (tech): url: a webhook channel needs the url to post to"),
    ({"type": "slack", "url": "hooks.slack.com/x"},
     "channels[0] (tech): url: 'hooks.slack.com/x' is not an http(s) URL"),
    ({"type": "email"}, "channels[0] (tech): to: an email channel needs the address to send to"),
    ({"type": "email", "to": "not-an-address"},
     "channels[0] (tech): to: 'not-an-address' is not an e-mail address"),
    ({"type": "webhook", "url": "https://x.io/h", "secret_env": "1BAD-NAME"},
     "channels[0] (tech): secret_env: '1BAD-NAME' is not an environment variable name"),
    ({"type": "webhook", "url": "https://x.io/h"},
     "channels[0] (tech): secret_env: a webhook channel is signed"),
    ({"type": "email", "to": "a@b.io", "secret_env": "X"},
     "channels[0] (tech): secret_env: only webhook channels are signed, not email"),
    ({"type": "webhook", "url": "https://x.io/h", "secret_env": "S",
      "member": "olga.petrova@example.com"},
     "channels[0] (tech): member 'olga.petrova@example.com' is in marketing, not tech"),
])
def test_broken_channels_are_refused_naming_entry_and_rule(channel: dict[str, Any],
                                                           problem: str) -> None:
    assert problem in refused(demo_with({"department": "tech", **channel}))


def test_a_secret_in_clear_in_the_file_is_refused() -> None:
    message = refused(demo_with({"department": "tech", "type": "webhook",
                                 "url": "https://x.io/h", "secret": "hunter2"}))
    assert "channels[0]" in message and "secret" in message


def test_channel_problems_is_the_same_check_the_cli_uses() -> None:
    assert channel_problems(ChannelSpec(department="x", type="slack",
                                        url="https://h.io/x")) == []


def test_escalation_levels_by_time_past_due() -> None:
    policy = EscalationPolicy(head_after=timedelta(hours=24),
                              management_after=timedelta(hours=72))
    assert policy.level_at(timedelta(seconds=-1)) == 0
    assert policy.level_at(timedelta(0)) == 1
    assert policy.level_at(timedelta(hours=23, minutes=59)) == 1
    assert policy.level_at(timedelta(hours=24)) == 2
    assert policy.level_at(timedelta(hours=72)) == 3
    assert policy.level_at(timedelta(days=30)) == 3


def test_escalation_policy_comes_from_settings_and_refuses_nonsense() -> None:
    settings = Settings(sla_head_after_h=2, sla_management_after_h=8)
    assert EscalationPolicy.from_settings(settings).management_after == timedelta(hours=8)
    with pytest.raises(ConfigError, match="MKTFLOW_SLA_MANAGEMENT_AFTER_H"):
        EscalationPolicy.from_settings(Settings(sla_head_after_h=10, sla_management_after_h=5))


def test_secrets_are_read_from_the_mapping_given() -> None:
    env = {"TECH_HOOK": "s3cret", "EMPTY": ""}
    assert read_secret("TECH_HOOK", env) == "s3cret"
    assert read_secret("EMPTY", env) is None
    assert read_secret("MISSING", env) is None
    assert read_secret(None, env) is None


def test_relay_and_sla_settings_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MKTFLOW_RELAY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("MKTFLOW_RELAY_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("MKTFLOW_SMTP_STARTTLS", "true")
    monkeypatch.setenv("MKTFLOW_SLA_HEAD_AFTER_H", "4")
    s = Settings()
    assert (s.relay_max_attempts, s.relay_backoff_base_s, s.smtp_starttls,
            s.sla_head_after_h) == (3, 0.01, True, 4.0)
    names = [n for n in Settings.model_fields if n.startswith(("relay_", "smtp_", "sla_"))]
    assert names == [  # every setting the notifications page documents, and
        # smtp_tls, smtp_allow_plaintext_auth (docs/operations/security.md)
        "relay_max_attempts", "relay_backoff_base_s", "relay_backoff_cap_s",
        "relay_concurrency", "relay_batch_size", "relay_http_timeout_s", "relay_lease_s",
        "relay_poll_interval_s", "relay_wake_poll_s", "relay_db_retry_cap_s",
        "relay_retry_after_cap_s",
        "relay_destination_backoff_base_s", "relay_destination_backoff_cap_s", "smtp_host",
        "smtp_port", "smtp_from", "smtp_starttls",
        "smtp_tls", "smtp_allow_plaintext_auth", "smtp_username", "smtp_password_env",
        "smtp_timeout_s", "sla_head_after_h", "sla_management_after_h"]
    root = Path(__file__).parents[2]
    documented = "".join((root / doc).read_text() for doc in (
        "docs/notifications/index.md", "docs/operations/security.md"))
    for name in names:
        assert f"MKTFLOW_{name.upper()}" in documented, name
        assert len(Settings.model_fields[name].description or "") > 15, name


def test_notify_commands_do_not_import_prefect() -> None:
    code = ("import sys, mktflow.cli.notify, mktflow.notify.relay, mktflow.engine.sla; "
            "print('prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
