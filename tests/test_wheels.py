import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from igd import wheels
from igd.data import DataError
from igd.wheels import PinnedWheel, WheelDownloadError, extracted_member, fetch_wheel, read_member


@pytest.fixture
def wheel(tmp_path) -> Path:
    path = tmp_path / "src" / "fake-1.0-py3-none-any.whl"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("fake/data.txt", "hello\n")
    return path


def pinned_for(path: Path) -> PinnedWheel:
    return PinnedWheel("fake==1.0", path.name, hashlib.sha256(path.read_bytes()).hexdigest())


def test_cached_wheel_is_reused_and_verified(tmp_path, monkeypatch, wheel):
    cache = tmp_path / "wheels"
    cache.mkdir()
    (cache / wheel.name).write_bytes(wheel.read_bytes())
    monkeypatch.setattr(wheels.subprocess, "run", lambda *a, **k: pytest.fail("pip was called"))
    assert fetch_wheel(pinned_for(wheel), cache) == cache / wheel.name
    monkeypatch.setenv("IGD_CACHE", str(tmp_path))  # igd's cache root: wheels live in wheels/
    assert fetch_wheel(pinned_for(wheel)) == cache / wheel.name
    with pytest.raises(DataError, match="expected the pinned 0000"):
        fetch_wheel(PinnedWheel("fake==1.0", wheel.name, "0" * 64), cache)


def test_wheel_is_downloaded_with_pip_when_absent(tmp_path, monkeypatch, wheel):
    calls = []

    def fake_pip(cmd, **kwargs):
        calls.append(cmd)
        Path(cmd[cmd.index("-d") + 1], wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(wheels.subprocess, "run", fake_pip)
    path = fetch_wheel(pinned_for(wheel), tmp_path / "new" / "cache")
    assert path.read_bytes() == wheel.read_bytes()
    assert calls[0][1:] == ["-m", "pip", "download", "--no-deps", "fake==1.0",
                            "-d", str(tmp_path / "new" / "cache")]


def test_pip_failure_is_a_clear_error(tmp_path, monkeypatch, wheel):
    monkeypatch.setattr(wheels.subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement"))
    with pytest.raises(WheelDownloadError, match="Could not find a version.*Fix: let"):
        fetch_wheel(pinned_for(wheel), tmp_path)


def test_members_are_read_and_extracted_once(tmp_path, monkeypatch, wheel):
    monkeypatch.setenv("IGD_CACHE", str(tmp_path / "cache"))
    pinned = pinned_for(wheel)
    assert read_member(wheel, "fake/data.txt") == b"hello\n"
    with pytest.raises(DataError, match="missing from the wheel"):
        read_member(wheel, "fake/nope.txt")
    out = extracted_member(pinned, "fake/data.txt", cache_dir=wheel.parent)
    assert out.read_text() == "hello\n"
    wheel.unlink()  # a second call must not need the wheel any more
    assert extracted_member(pinned, "fake/data.txt", cache_dir=wheel.parent) == out
