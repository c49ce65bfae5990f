"""Members of a termnews host: who may log in over `termnews serve`, and under which name.

The members file lives in the data dir and reads like OpenSSH's authorized_keys, with
the member's name in an option: `termnews-user="ada" ssh-ed25519 AAAA... comment`.
A member's identity comes only from this file (the server matches the key the client
proved it holds); never from the SSH username, the environment or a command.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from termnews.errors import TermnewsError
from termnews.sanitize import clean_line

MEMBERS_FILE = "members"
NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")
USER_OPTION = "termnews-user"
# Public key algorithms as they appear at the start of an authorized_keys entry.
_KEY_TYPE = re.compile(r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$")
_OPTION = re.compile(r'([A-Za-z0-9-]+)(?:="((?:[^"\\]|\\.)*)")?')


class MemberError(TermnewsError):
    """A problem with a name, a key file or the members file, worded for the user."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    key_type: str
    key_base64: str
    comment: str
    fingerprint: str

    @property
    def key_blob(self) -> bytes:
        """The key in SSH wire format: what the server compares with the client's key."""
        return base64.b64decode(self.key_base64)

    def line(self) -> str:
        comment = f" {self.comment}" if self.comment else ""
        return f'{USER_OPTION}="{self.name}" {self.key_type} {self.key_base64}{comment}'


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_type: str
    key_base64: str
    comment: str
    fingerprint: str


def members_path(data_dir: Path) -> Path:
    return data_dir / MEMBERS_FILE


def printable(text: str, limit: int = 200) -> str:
    """Text from outside (key comments) without control characters, cut to `limit`."""
    return clean_line(text)[:limit].strip()


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise MemberError(
            f"{printable(name, 40)!r} is not a valid member name: use 1 to 32 of "
            "a-z, 0-9, '_' and '-'"
        )
    return name


def parse_public_key(text: str, source: str = "the key") -> PublicKey:
    """One OpenSSH public key line (`ssh-ed25519 AAAA... comment`), checked by asyncssh."""
    if "PRIVATE KEY" in text:
        raise MemberError(
            f"{source} is a private key; give the public key instead (usually the .pub file)"
        )
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if len(lines) != 1:
        raise MemberError(
            f"{source} must hold exactly one public key line (found {len(lines)} non-empty lines)"
        )
    fields = lines[0].split(None, 2)
    if len(fields) < 2 or not _KEY_TYPE.match(fields[0]):
        raise MemberError(f"{source} is not an OpenSSH public key (ssh-ed25519 AAAA... comment)")
    key_type, key_base64 = fields[0], fields[1]
    comment = printable(fields[2]) if len(fields) > 2 else ""
    try:
        blob = base64.b64decode(key_base64, validate=True)
        key = asyncssh.import_public_key(f"{key_type} {key_base64}")
    except (binascii.Error, asyncssh.KeyImportError, ValueError) as exc:
        raise MemberError(f"{source} is not a valid public key: {printable(str(exc))}") from exc
    if not isinstance(key, asyncssh.SSHKey) or key.public_data != blob:
        raise MemberError(f"{source} holds a certificate or an unusual key; give a plain key")
    return PublicKey(key_type, key_base64, comment, key.get_fingerprint())


def _parse_options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _OPTION.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the options {text!r}")
        options[match.group(1).lower()] = (match.group(2) or "").replace('\\"', '"')
        position = match.end()
        if position < len(text):
            if text[position] != ",":
                raise ValueError(f"cannot read the options {text!r}")
            position += 1
    return options


def _split_options(line: str) -> tuple[str, str]:
    """Split `options keytype ...` at the first space outside double quotes."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"' and (index == 0 or line[index - 1] != "\\"):
            quoted = not quoted
        elif char in " \t" and not quoted:
            return line[:index], line[index:].strip()
    return line, ""


def parse_member_line(line: str) -> Member:
    """One entry of the members file; ValueError says what is wrong with it."""
    options_text, rest = _split_options(line.strip())
    options = _parse_options(options_text)
    name = options.get(USER_OPTION)
    if name is None:
        raise ValueError(f'no {USER_OPTION}="NAME" option')
    try:
        validate_name(name)
        key = parse_public_key(rest, "the key")
    except MemberError as exc:
        raise ValueError(str(exc)) from exc
    return Member(name, key.key_type, key.key_base64, key.comment, key.fingerprint)


def read_members(path: Path) -> tuple[list[Member], list[str]]:
    """Members in file order, and one message per line that could not be read.

    A missing file means no members yet. Later duplicates (of a name or a key) are
    reported and ignored, so one bad line never locks everybody out.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError) as exc:
        raise MemberError(f"cannot read {path}: {exc}") from exc
    members: list[Member] = []
    problems: list[str] = []
    names: set[str] = set()
    blobs: set[bytes] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            member = parse_member_line(line)
        except ValueError as exc:
            problems.append(f"{path}, line {number}: {printable(str(exc))}")
            continue
        if member.name in names or member.key_blob in blobs:
            problems.append(f"{path}, line {number}: duplicate name or key, ignored")
            continue
        names.add(member.name)
        blobs.add(member.key_blob)
        members.append(member)
    return members, problems


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise writers (the CLI and a running server's open mode) on a lock file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, members: list[Member]) -> None:
    text = "".join(member.line() + "\n" for member in members)
    fd, tmp = tempfile.mkstemp(prefix=".members-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(
                "# termnews members: managed with `termnews members add/list/remove`\n" + text
            )
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def add_member(path: Path, name: str, key: PublicKey) -> Member:
    validate_name(name)
    with _locked(path):
        members, _ = read_members(path)
        for member in members:
            if member.name == name:
                raise MemberError(f"there is already a member named {name}")
            if member.key_base64 == key.key_base64:
                raise MemberError(f"this key already belongs to {member.name}")
        new = Member(name, key.key_type, key.key_base64, key.comment, key.fingerprint)
        _write(path, [*members, new])
    return new


def remove_member(path: Path, name: str) -> Member:
    with _locked(path):
        members, _ = read_members(path)
        kept = [member for member in members if member.name != name]
        if len(kept) == len(members):
            raise MemberError(f"there is no member named {printable(name, 40)}")
        _write(path, kept)
    return next(member for member in members if member.name == name)


class MemberBook:
    """The members file as the server sees it: re-read whenever the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._by_blob: dict[bytes, Member] = {}
        self._names: set[str] = set()
        self.problems: list[str] = []

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp and (stamp is not None or not self._by_blob):
            return
        members, self.problems = read_members(self.path)
        self._by_blob = {member.key_blob: member for member in members}
        self._names = {member.name for member in members}
        self._stamp = stamp

    def member_for(self, key_blob: bytes) -> Member | None:
        self._reload()
        return self._by_blob.get(key_blob)

    def is_taken(self, name: str) -> bool:
        self._reload()
        return name in self._names
