"""The sign-in rate limits as data, and the code a link is made of (issue 19, item 6)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from mktflow.config import Settings
from mktflow.domain.errors import ConfigError
from mktflow.domain.sign_in import RateLimit, SignInLimits, code_for, counting_key, key_id
from mktflow.store.keys import SIGN_IN_KEY_FILE, data_folder_key, sign_in_key

WINDOW = timedelta(minutes=15)


def test_a_limit_waits_until_the_oldest_request_that_counts_leaves_the_window(
        clock: Any) -> None:
    now = clock.now()
    three = RateLimit("address", 3, WINDOW, "why")
    assert three.wait_before([], now) is None
    assert three.wait_before([now - timedelta(minutes=m) for m in (1, 2)], now) is None
    recent = [now - timedelta(minutes=m) for m in (1, 2, 10, 14)]
    assert three.wait_before(recent, now) == timedelta(minutes=5)  # when the 10-min one leaves
    assert three.wait_before([now - WINDOW] * 5, now) is None  # out of the window: forgotten


def test_the_longer_wait_of_the_two_limits_is_the_answer(clock: Any) -> None:
    now = clock.now()
    limits = SignInLimits.of(per_address=3, per_client=20, window=WINDOW)
    assert [r.counted for r in limits.rules] == ["address", "client"]
    assert all(r.why for r in limits.rules) and limits.window == WINDOW
    address = [now - timedelta(minutes=m) for m in (1, 2, 3)]
    client = [now - timedelta(minutes=1)] * 19 + [now - timedelta(minutes=12)]
    assert limits.wait_before(address=address, client=client, now=now) == timedelta(minutes=12)
    assert limits.wait_before(address=[], client=client[:19], now=now) is None


def test_a_code_is_made_from_the_nonce_and_the_key_and_nothing_else() -> None:
    key, other = b"k" * 32, b"o" * 32
    code = code_for(key, "nonce-1")
    assert code == code_for(key, "nonce-1") and len(code) == 43
    assert code not in (code_for(key, "nonce-2"), code_for(other, "nonce-1"))
    assert key_id(key) != key_id(other) and key.hex()[:16] not in key_id(key)
    assert counting_key(key, "address", "a@example.com") != counting_key(
        key, "client", "a@example.com")
    assert "a@example.com" not in counting_key(key, "address", "a@example.com")


def test_the_sign_in_key_is_the_setting_or_one_file_of_the_data_folder(tmp_path: Path) -> None:
    given = Settings(data_dir=tmp_path, sign_in_link_secret=SecretStr("s" * 16))
    assert sign_in_key(given) == b"s" * 16 and not (tmp_path / SIGN_IN_KEY_FILE).exists()
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        sign_in_key(Settings(data_dir=tmp_path, sign_in_link_secret=SecretStr("short")))
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def make() -> None:
        start.wait()
        keys.append(sign_in_key(Settings(data_dir=tmp_path / "data")))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32  # eight at once agree on one key
    path = tmp_path / "data" / SIGN_IN_KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [SIGN_IN_KEY_FILE]  # no drafts left
    assert data_folder_key(tmp_path / "data", SIGN_IN_KEY_FILE) == keys[0]
