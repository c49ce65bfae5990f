"""`termnews full-article FEED WHEN` writes [full_article] into the settings file, keeping
the rest of the file as the user wrote it; run as a real process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from termnews.config import ConfigError, load_settings
from termnews.settings_file import set_entry
from tests.support.cli import run
from tests.support.feedserver import FeedServer, make_rss


def test_an_entry_is_replaced_or_added_and_the_rest_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    original = (
        "# my settings\n[general]\nreader_width = 80  # narrow\n\n"
        '[full_article]\n"https://a.example/feed" = true\n\n[intervals]\n'
        '"https://a.example/feed" = 120\n'
    )
    config.write_text(original)
    config.chmod(0o600)
    set_entry(config, "full_article", "https://a.example/feed", "refresh")
    set_entry(config, "full_article", 'https://b.example/"odd"\\feed', "never")
    text = config.read_text()
    assert text.startswith("# my settings\n[general]\nreader_width = 80  # narrow\n")
    assert '"https://a.example/feed" = "refresh"' in text and "= true" not in text
    assert text.index("b.example") < text.index("[intervals]")  # inside its own table
    settings = load_settings(config)
    assert settings.full_article == {
        "https://a.example/feed": "refresh",
        'https://b.example/"odd"\\feed': "never",
    }
    assert settings.reader_width == 80 and settings.intervals == {"https://a.example/feed": 120}
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    fresh = tmp_path / "new" / "config.toml"
    set_entry(fresh, "full_article", "https://c.example/feed", "open")
    assert load_settings(fresh).full_article == {"https://c.example/feed": "open"}


def test_a_table_written_another_way_is_left_alone(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('full_article = { "https://a.example/feed" = "open" }\n')
    with pytest.raises(ConfigError, match="add it by hand"):
        set_entry(config, "full_article", "https://b.example/feed", "refresh")
    assert config.read_text() == 'full_article = { "https://a.example/feed" = "open" }\n'


def test_the_command_sets_and_lists_a_feeds_setting(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/gazette.xml", make_rss("Quay Gazette", [{"title": "One"}]))
    url = feed_server.url_for("/gazette.xml")
    assert run("add", url, data=tmp_path).returncode == 0
    done = run("full-article", "gazette", "refresh", data=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "full article refresh" in done.stdout
    assert load_settings(tmp_path / "config.toml").full_article == {url: "refresh"}
    listed = run("full-article", data=tmp_path)
    assert listed.stdout.split()[0] == "refresh" and url in listed.stdout
    assert run("full-article", "gazette", data=tmp_path).stdout.strip() == "refresh"
    bad = run("full-article", "gazette", "always", data=tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    missing = run("full-article", "nothing-like-it", "open", data=tmp_path)
    assert missing.returncode == 2 and "no single feed matches" in missing.stderr
