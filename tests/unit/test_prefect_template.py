"""A new data folder's Prefect database is a copy of one migrated already (no migration at the
local server's first start); anything else is left as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from mktflow.config import Settings
from mktflow.prefect import server


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = Settings(data_dir=tmp_path / "data")
    (tmp_path / "data" / "prefect" / "home").mkdir(parents=True)
    return settings


def _database(settings: Settings) -> Path:
    return Path(settings.data_dir) / "prefect" / "home" / "prefect.db"


def _cached_template(tmp_path: Path) -> Path:
    from importlib.metadata import version

    template = tmp_path / "cache" / "mktflow" / f"prefect-{version('prefect')}.db"
    template.parent.mkdir(parents=True)
    template.write_bytes(b"migrated")
    return template


def test_a_fresh_folder_gets_a_copy_of_the_template(folder: Settings, tmp_path: Path) -> None:
    _cached_template(tmp_path)
    server._seed_database(folder)
    assert _database(folder).read_bytes() == b"migrated"
    assert not _database(folder).with_name("prefect.db.part").exists()


def test_a_folder_with_a_database_keeps_it(folder: Settings, tmp_path: Path) -> None:
    _cached_template(tmp_path)
    _database(folder).write_bytes(b"runs of a month")
    server._seed_database(folder)
    assert _database(folder).read_bytes() == b"runs of a month"


def test_a_prefect_database_configured_elsewhere_is_not_seeded(
        folder: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cached_template(tmp_path)
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://db/prefect")
    server._seed_database(folder)
    assert not _database(folder).exists()


def test_without_a_template_the_server_migrates_its_own(
        folder: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocked").write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
    server._seed_database(folder)
    assert not _database(folder).exists()
    said = capsys.readouterr().err
    assert "no migrated copy of Prefect's database" in said
    assert "the server migrates its own" in said
