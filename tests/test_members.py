"""The members file: names, keys, add/list/remove, and the CLI around them."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from termnews.cli import main
from termnews.host.members import (
    MemberBook,
    MemberError,
    add_member,
    members_path,
    parse_member_line,
    parse_public_key,
    read_members,
    remove_member,
    validate_name,
)


def _public_key(comment: str = "someone@laptop") -> str:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    return key.export_public_key().decode("ascii").strip()


@pytest.mark.parametrize("name", ["ada", "a", "bob_2", "x-y", "a" * 32, "0"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Ada", "a" * 33, "ada smith", "ada\n", "ådа", "../x", 'a"b'])
def test_invalid_names(name: str) -> None:
    with pytest.raises(MemberError, match="not a valid member name"):
        validate_name(name)


def test_parse_public_key_reads_type_fingerprint_and_clean_comment() -> None:
    text = _public_key("ada@laptop\x1b]52;c;aGk=\x07")
    key = parse_public_key(text)
    assert key.key_type == "ssh-ed25519"
    assert key.fingerprint.startswith("SHA256:")
    assert "\x1b" not in key.comment and "\x07" not in key.comment
    assert key.comment.startswith("ada@laptop")


def test_parse_public_key_refuses_private_keys(tmp_path: Path) -> None:
    private = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(MemberError, match="private key"):
        parse_public_key(private, "id_ed25519")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "ssh-ed25519 not-base64!!",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBROKEN",
    ],
)
def test_parse_public_key_refuses_garbage(text: str) -> None:
    with pytest.raises(MemberError):
        parse_public_key(text, "key.pub")


def test_parse_public_key_refuses_two_keys() -> None:
    with pytest.raises(MemberError, match="exactly one"):
        parse_public_key(_public_key() + "\n" + _public_key())


def test_member_line_round_trip_and_other_options() -> None:
    text = _public_key("ada@laptop")
    member = parse_member_line(f'no-pty,termnews-user="ada" {text}')
    assert member.name == "ada"
    assert parse_member_line(member.line()) == member
    with pytest.raises(ValueError, match="termnews-user"):
        parse_member_line(text)
    with pytest.raises(ValueError, match="not a valid member name"):
        parse_member_line(f'termnews-user="Ada Lovelace" {text}')


def test_add_list_remove(tmp_path: Path) -> None:
    path = members_path(tmp_path / "data")
    ada_key, bob_key = parse_public_key(_public_key()), parse_public_key(_public_key())
    add_member(path, "ada", ada_key)
    add_member(path, "bob", bob_key)
    with pytest.raises(MemberError, match="already a member named ada"):
        add_member(path, "ada", parse_public_key(_public_key()))
    with pytest.raises(MemberError, match="already belongs to ada"):
        add_member(path, "carol", ada_key)
    members, problems = read_members(path)
    assert [m.name for m in members] == ["ada", "bob"] and problems == []
    assert path.stat().st_mode & 0o077 == 0
    assert remove_member(path, "ada").name == "ada"
    assert [m.name for m in read_members(path)[0]] == ["bob"]
    with pytest.raises(MemberError, match="no member named ada"):
        remove_member(path, "ada")


def test_a_broken_line_is_reported_and_the_others_still_count(tmp_path: Path) -> None:
    path = tmp_path / "members"
    ada, bob = _public_key(), _public_key()
    path.write_text(
        f'termnews-user="ada" {ada}\n'
        "# a comment line\n"
        'termnews-user="bob ssh-ed25519 broken\n'
        f'termnews-user="ada" {bob}\n'
        f'termnews-user="bob" {bob}\n'
    )
    members, problems = read_members(path)
    assert [m.name for m in members] == ["ada", "bob"]
    assert len(problems) == 2
    assert "line 3" in problems[0] and "line 4" in problems[1]


def test_member_book_sees_changes_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "members"
    book = MemberBook(path)
    key = parse_public_key(_public_key())
    blob = asyncssh.import_public_key(f"{key.key_type} {key.key_base64}").public_data
    assert book.member_for(blob) is None
    add_member(path, "ada", key)
    found = book.member_for(blob)
    assert found is not None and found.name == "ada"
    assert book.is_taken("ada") and not book.is_taken("bob")
    remove_member(path, "ada")
    assert book.member_for(blob) is None


def test_cli_members(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    key_file = tmp_path / "ada.pub"
    key_file.write_text(_public_key("ada@laptop") + "\n")
    common = ["--data-dir", str(data)]
    assert main(["members", "list", *common]) == 0
    assert "No members yet" in capsys.readouterr().out

    assert main(["members", "add", "ada", str(key_file), *common]) == 0
    assert "Added ada" in capsys.readouterr().out
    assert main(["members", "add", "ada2", str(key_file), *common]) == 1
    assert "already belongs to ada" in capsys.readouterr().err
    assert main(["members", "add", "Bad Name", str(key_file), *common]) == 1
    assert "not a valid member name" in capsys.readouterr().err
    assert main(["members", "add", "bob", str(tmp_path / "missing.pub"), *common]) == 1
    assert "cannot read" in capsys.readouterr().err

    assert main(["members", "list", *common]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ada  ssh-ed25519  SHA256:") and "ada@laptop" in out

    assert main(["members", "remove", "ada", *common]) == 0
    assert main(["members", "remove", "ada", *common]) == 1
    assert "no member named ada" in capsys.readouterr().err
    assert main(["members"]) == 2
