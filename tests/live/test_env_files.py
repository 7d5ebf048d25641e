"""The files ``platform_secrets.live.env`` writes: created 0600 whatever exists before, never through a symlink, and ``.env``
lines that Python's reference dotenv parser reads back as the exact value (or a refusal that names the key only).

The values here are made up by the test; none is a real secret.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from platform_secrets.live import env


@pytest.fixture
def wide_umask() -> object:
    """A umask that lets every bit through: a file made with open() would come out 0666."""
    saved = os.umask(0)
    yield
    os.umask(saved)


def test_a_new_file_is_created_0600_even_with_a_permissive_umask(
    tmp_path: Path, wide_umask: object
) -> None:
    path = tmp_path / ".env"
    env.write_private(path, "A=1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "A=1\n"


def test_an_existing_world_readable_file_is_replaced_not_reused(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OLD=1\n")
    path.chmod(0o644)
    env.write_private(path, "A=1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "A=1\n"


def test_a_symlink_at_the_target_is_replaced_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("untouched\n")
    link = tmp_path / ".env"
    link.symlink_to(elsewhere)
    env.write_private(link, "A=1\n")
    assert elsewhere.read_text() == "untouched\n"
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    env.write_private(tmp_path / ".env", "A=1\n")
    assert [p.name for p in tmp_path.iterdir()] == [".env"]


VALUES = [
    "plain-Alnum_123",
    f"rediss://:{secrets.token_hex(6)}%40x@redis.internal:6379/0",
    f"postgresql://events:{secrets.token_hex(6)}@db.internal/events?sslmode=require&x=1",
    "*",
    "https://a.example.com,https://b.example.com",
    "with space and # hash",
    "dollar $HOME and `tick` and \\ backslash",
    "it's got a single quote",
    "",
    secrets.token_urlsafe(48),
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_env_lines_read_back_exactly_with_python_dotenv(tmp_path: Path, value: str) -> None:
    path = tmp_path / ".env"
    path.write_text(env.env_line("KEY", value) + "\n")
    assert dotenv_values(path) == {"KEY": value}


@pytest.mark.parametrize("shape", ["{}\n{}", "{}' and \" {} $x"])
def test_a_value_no_env_line_can_hold_is_refused_without_echo(shape: str) -> None:
    first, second = secrets.token_hex(8), secrets.token_hex(8)
    with pytest.raises(env.Refused) as refused:
        env.env_line("KEY", shape.format(first, second))
    message = str(refused.value)
    assert "KEY" in message
    assert first not in message and second not in message


def test_git_ignores_follows_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(".env\n")
    (tmp_path / "svc").mkdir()
    assert env.git_ignores(tmp_path / "svc" / ".env")
    assert not env.git_ignores(tmp_path / "svc" / "env.txt")
    assert env.git_ignores(tmp_path / "not-yet" / "deeper" / ".env")  # a folder still to be made


def test_a_tracked_file_is_not_ignored(tmp_path: Path) -> None:
    """A file committed before the rule was added stays tracked: writing a secret there would commit it."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".env").write_text("")
    subprocess.run(["git", "-C", str(tmp_path), "add", ".env"], check=True)
    (tmp_path / ".gitignore").write_text(".env\n")
    assert not env.git_ignores(tmp_path / ".env")


def test_outside_a_git_tree_it_refuses(tmp_path: Path) -> None:
    ceiling = tmp_path / "no-repo"
    ceiling.mkdir()
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    try:
        with pytest.raises(env.Refused, match="git cannot tell"):
            env.git_ignores(ceiling / ".env")
    finally:
        del os.environ["GIT_CEILING_DIRECTORIES"]
