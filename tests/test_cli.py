"""The `termnews` command line, run as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from termnews import __version__
from termnews.cli.demo import add_site_arguments, site_options
from termnews.demo import DemoSite
from tests.support.cli import run
from tests.support.feedserver import FeedServer, make_rss

SUBCOMMANDS = ["add", "remove", "feeds", "refresh", "import", "export", "config", "demo"]


def test_version_and_help_for_every_subcommand(tmp_path: Path) -> None:
    result = run("--version", data=tmp_path)
    assert result.stdout.strip() == f"termnews {__version__}"
    for name in SUBCOMMANDS:
        result = run(name, "--help", data=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "usage: termnews " + name in result.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("frobnicate", data=tmp_path).returncode == 2
    result = run("remove", "no-such-feed", data=tmp_path)
    assert result.returncode == 2
    assert "no single feed matches" in result.stderr


def test_add_refresh_feeds_export_round_trip(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_feed("/ok.xml", make_rss("Harbour \x1b[2Jnews", [{"title": "One"}]))
    feed_server.add_status("/broken.xml", 500)
    added = run("add", feed_server.url_for("/ok.xml"), "--tag", "local", data=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "\x1b" not in added.stdout  # an escape sequence in the title stays inert
    assert (
        run("add", "--no-discover", feed_server.url_for("/broken.xml"), data=tmp_path).returncode
        == 1
    )

    refreshed = run("refresh", data=tmp_path)  # not a terminal: plain lines
    assert refreshed.returncode == 1  # one feed failed
    assert "FAILED" in refreshed.stdout and "500" in refreshed.stdout
    assert run("refresh", "--feed", "ok.xml", data=tmp_path).returncode == 0

    listing = run("feeds", data=tmp_path)
    assert "Harbour" in listing.stdout and "HTTP 500" in listing.stdout

    exported = run("export", data=tmp_path)
    assert exported.returncode == 0
    assert 'xmlUrl="' + feed_server.url_for("/ok.xml") in exported.stdout
    assert 'category="local"' in exported.stdout

    other = tmp_path / "other"
    imported = run("import", "-", data=other, stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 feeds (1 with tags)" in imported.stdout
    assert run("remove", "ok.xml", data=tmp_path).returncode == 0
    assert "ok.xml" not in run("feeds", data=tmp_path).stdout


def test_import_newsboat_urls_with_tags_and_titles(tmp_path: Path) -> None:
    urls = tmp_path / "urls"
    urls.write_text(
        "# my feeds\n"
        'https://example.org/feed/ "tech" "~Example Blog"\n'
        "https://example.net/rss.xml news\n"
        '"query:Unread:unread = \\"yes\\""\n'
        "\n",
        encoding="utf-8",
    )
    result = run("import", str(urls), data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Imported 2 feeds (2 with tags)" in result.stdout
    exported = run("export", data=tmp_path).stdout
    assert 'title="Example Blog"' in exported and 'category="tech"' in exported


def test_import_rejects_what_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline", encoding="utf-8")
    result = run("import", str(bad), data=tmp_path)
    assert result.returncode == 1
    assert "not valid OPML" in result.stderr
    assert "Traceback" not in result.stderr
    assert run("import", str(tmp_path / "missing"), data=tmp_path).returncode == 1


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[general]\nrefresh_interval = 'often'\n", "line 2: general.refresh_interval must be"),
        ("[general]\n\nno_such_key = 1\n", "line 3: unknown key general.no_such_key"),
        ("[general\n", "not valid TOML"),
        ("[colours]\nx = 1\n", "unknown section [colours]"),
    ],
)
def test_broken_settings_name_the_file_line_and_key(
    tmp_path: Path, config: str, expected: str
) -> None:
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    result = run("feeds", data=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "config.toml") in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_config_defaults_is_a_valid_settings_file(tmp_path: Path) -> None:
    text = run("config", "--defaults", data=tmp_path).stdout
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    result = run("config", data=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "settings:" in result.stdout


def test_data_dir_before_or_after_the_subcommand(tmp_path: Path) -> None:
    for args in (
        ["--data-dir", str(tmp_path / "a"), "import", "-"],
        ["import", "--data-dir", str(tmp_path / "b"), "-"],
    ):
        result = run(*args, data=tmp_path / "env", stdin="https://example.org/feed/\n")
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "a" / "termnews.db").exists()
    assert (tmp_path / "b" / "termnews.db").exists()
    assert not (tmp_path / "env" / "termnews.db").exists()


def test_demo_site_arguments_and_options() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_site_arguments(parser)
    args = parser.parse_args(
        [
            *("--port", "8089", "--moderate", "--flood-seconds", "0", "--fail-next", "2"),
            *("--app-password", "ada:abcd efgh", "--state", "s.json"),
        ]
    )
    options = site_options(args)
    assert args.port == 8089 and args.host == "127.0.0.1"
    assert options["moderate_new_authors"] is True
    assert options["allow_anonymous_rest"] is False
    assert options["flood_seconds"] == 0.0 and options["fail_next"] == 2
    assert options["app_passwords"] == {"ada": "abcd efgh"}
    assert options["state_file"] == Path("s.json")
    for bad in (["--port", "70000"], ["--fail-status", "42"], ["--app-password", "nocolon"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


# -- scripts and import -------------------------------------------------------------------


def test_feeds_when_piped_prints_whole_fields_one_feed_a_line(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    long_title = "The Saltmarsh Quay Gazette, with a title far longer than any table column"
    path = "/a/very/long/path/to/the/feed/that/a/table/would/have/cut/short/feed.xml"
    feed_server.add_feed(path, make_rss(long_title, [{"title": "One"}, {"title": "Two"}]))
    url = feed_server.url_for(path)
    assert run("add", url, "-t", "news", "-t", "local", data=tmp_path).returncode == 0
    tsv = run("feeds", data=tmp_path).stdout.splitlines()  # not a terminal: tsv
    assert len(tsv) == 1
    fields = tsv[0].split("\t")
    assert fields[1:6] == [long_title, url, "local,news", "2", "2"]
    assert fields[6].endswith("Z") and fields[7] == ""
    assert run("feeds", "--format", "tsv", data=tmp_path).stdout.splitlines() == tsv
    (line,) = run("feeds", "--format", "json", data=tmp_path).stdout.splitlines()
    record = json.loads(line)
    assert record["title"] == long_title and record["url"] == url
    assert record["tags"] == ["local", "news"] and record["unread"] == record["total"] == 2
    assert record["error"] is None and record["last_fetch"].endswith("Z")


def test_a_custom_title_from_newsboat_survives_refreshes(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/feed.xml", make_rss("The Feed's Own Title", [{"title": "One"}]))
    urls = tmp_path / "urls"
    urls.write_text(
        f'{feed_server.url_for("/feed.xml")} "tech" "~My Name For It"\n'
        '"query:Unread Articles:unread = \\"yes\\""\n',
        encoding="utf-8",
    )
    imported = run("import", str(urls), data=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 1 feeds" in imported.stdout
    assert "skipped   query:Unread Articles" in imported.stdout
    assert "newsboat virtual feed" in imported.stdout
    assert run("refresh", data=tmp_path).returncode == 0
    assert run("refresh", data=tmp_path).returncode == 0
    record = json.loads(run("feeds", "--format", "json", data=tmp_path).stdout)
    assert record["title"] == "My Name For It" and record["total"] == 1


def test_import_refuses_a_file_that_is_neither_opml_nor_urls(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("garbage <xml\nmore nonsense here\n", encoding="utf-8")
    result = run("import", str(garbage), data=tmp_path)
    assert result.returncode == 1
    assert "neither OPML nor a newsboat urls file" in result.stderr
    assert "Traceback" not in result.stderr
    assert run("feeds", data=tmp_path).stdout == ""  # nothing was subscribed


def test_add_an_already_subscribed_feed_says_so(tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.add_feed("/feed.xml", make_rss("Harbour", [{"title": "One"}]))
    url = feed_server.url_for("/feed.xml")
    assert run("add", url, data=tmp_path).returncode == 0
    again = run("add", url, data=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Already subscribed to Harbour" in again.stdout and "Subscribed" not in again.stdout
    assert len(run("feeds", data=tmp_path).stdout.splitlines()) == 1


def test_add_a_site_with_several_feeds_lists_them_and_takes_the_posts_feed(
    tmp_path: Path,
) -> None:
    with DemoSite(flood_seconds=0) as site:
        result = run("add", site.url, data=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "advertises 4 feeds" in result.stdout and "--all" in result.stdout
        assert "&raquo;" not in result.stdout and "» Comments Feed" in result.stdout
        (subscribed,) = [ln for ln in result.stdout.splitlines() if ln.startswith("Subscribed")]
        assert site.feed_urls[0] in subscribed and "comments" not in subscribed
        everything = run("add", "--all", site.url, data=tmp_path)
        assert everything.returncode == 0, everything.stderr
        assert everything.stdout.count("Already subscribed") == 1
        assert everything.stdout.count("Subscribed to") == 3
    assert len(run("feeds", data=tmp_path).stdout.splitlines()) == 4


def test_the_parser_is_built_once_and_parsing_leaves_it_as_it_was() -> None:
    from termnews.cli import build_parser

    parser = build_parser()
    assert build_parser() is parser  # a session forked by the host's zygote finds it made
    first = parser.parse_args(["add", "http://a.example/feed", "--tag", "x", "--tag", "y"])
    second = parser.parse_args(["add", "http://b.example/feed"])
    assert first.tag == ["x", "y"] and second.tag == []
    assert second.url == "http://b.example/feed" and parser.parse_args([]).command is None
