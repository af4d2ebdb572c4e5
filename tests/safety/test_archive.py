"""Archive: the JSON store packed into a tar.gz, verified by re-reading every hash before the
originals are removed; restore_archive brings the files back."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from migrator import archive as archive_module
from migrator.adapters.json_store import JsonStore
from migrator.adapters.phase_state import Phase, PhaseState
from migrator.archive import (
    archive_json_store,
    restore_archive,
    unpack_partitions,
    verify_tarball,
)
from migrator.errors import BackupError
from tests.safety.conftest import invoke, sha256


def _files(store: JsonStore) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in store.root.glob("*.json")}


def test_archive_verifies_then_removes_and_restore_brings_back(json_store: JsonStore) -> None:
    """The archive holds every file (its manifest lists their sha256); the originals are gone;
    restore_archive puts back the same bytes."""
    originals = _files(json_store)
    result = archive_json_store(json_store)
    assert _files(json_store) == {}
    assert sorted(result.removed) == sorted(n.removesuffix(".json") for n in originals)
    manifest = json.loads(result.manifest.read_text())
    assert manifest["sha256"] == sha256(result.archive)
    expected = {name: hashlib.sha256(data).hexdigest() for name, data in originals.items()}
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == expected
    assert result.archive.stat().st_mode & 0o777 == 0o600
    restored = restore_archive(result.archive, json_store)
    assert _files(json_store) == originals
    assert len(restored.written) == len(originals)


def test_a_failed_verification_keeps_the_originals(
    json_store: JsonStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive whose bytes are damaged after writing fails verification: nothing removed,
    no archive left behind."""
    originals = _files(json_store)
    real_pack = archive_module.pack_partitions

    def pack_then_damage(store: JsonStore, dest: Path) -> tuple[archive_module.PackedFile, ...]:
        packed = real_pack(store, dest)
        data = bytearray(dest.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dest.write_bytes(bytes(data))
        return packed

    monkeypatch.setattr(archive_module, "pack_partitions", pack_then_damage)
    with pytest.raises(BackupError, match="failed verification"):
        archive_json_store(json_store)
    assert _files(json_store) == originals
    archive_dir = json_store.root / ".migrator" / "archive"
    assert list(archive_dir.iterdir()) == []


def test_a_file_changed_after_packing_is_kept(
    json_store: JsonStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that changes a file after it was packed keeps that file in place."""
    victim = json_store.partitions()[0]
    real_verify = archive_module.verify_tarball

    def verify_then_write(path: Path, expected: dict[str, str]) -> list[str]:
        problems = real_verify(path, expected)
        json_store.path_for(victim).write_text("[]\n")
        return problems

    monkeypatch.setattr(archive_module, "verify_tarball", verify_then_write)
    result = archive_json_store(json_store)
    assert result.kept_changed == (victim,)
    assert json_store.partitions() == [victim]


def test_restore_archive_refuses_tampering_and_conflicts(json_store: JsonStore) -> None:
    """A tampered archive restores nothing; an existing file with other content is refused
    unless overwrite."""
    originals = _files(json_store)
    result = archive_json_store(json_store)
    victim = next(iter(originals))
    (json_store.root / victim).write_text("[]\n")
    with pytest.raises(BackupError, match="exist with other content"):
        restore_archive(result.archive, json_store)
    assert (json_store.root / victim).read_text() == "[]\n"
    restore_archive(result.manifest, json_store, overwrite=True)
    assert _files(json_store) == originals
    data = bytearray(result.archive.read_bytes())
    data[-10] ^= 0xFF
    result.archive.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="sha256 differs"):
        restore_archive(result.archive, json_store)


def test_archive_command_needs_the_sqlite_only_phase(json_store: JsonStore) -> None:
    """In a phase that still uses JSON the command refuses (exit 2); in sqlite-only it archives
    and records the run."""
    root = str(json_store.root)
    refused = invoke("archive", "--json-dir", root)
    assert refused.exit_code == 2 and "phase json-only" in refused.stderr
    assert len(json_store.partitions()) == 3
    for phase in (Phase.DUAL_WRITE, Phase.SQLITE_PRIMARY, Phase.SQLITE_ONLY):
        PhaseState(root).update(lambda record, p=phase: record.moved(p))
    result = invoke("archive", "--json-dir", root)
    assert result.exit_code == 0, result.output
    assert "verified, originals removed" in result.stdout
    assert json_store.partitions() == []
    history = invoke("history", "--json-dir", root, "--format", "json")
    assert json.loads(history.stdout)[0]["command"] == "archive"


def _tar_with(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("name", ["../escape.json", "sub/dir.json", ".hidden.json", "x.txt"])
def test_unpack_refuses_members_that_are_not_plain_partition_files(
    json_store: JsonStore, tmp_path: Path, name: str
) -> None:
    """A member that could land outside the store, or is not a partition file, refuses the
    whole tarball before anything is written."""
    tarball = tmp_path / "hostile.tar.gz"
    data = b"[]\n"
    _tar_with(tarball, {"ok.json": data, name: data})
    expected = {"ok.json": hashlib.sha256(data).hexdigest(), name: hashlib.sha256(data).hexdigest()}
    before = _files(json_store)
    with pytest.raises(BackupError):
        unpack_partitions(json_store, tarball, expected, replace_all=False)
    assert _files(json_store) == before
    assert not (tmp_path / "escape.json").exists()


def test_verify_tarball_names_missing_and_extra_files(tmp_path: Path) -> None:
    """Verification reports files the manifest lists but the archive lacks, and the reverse."""
    tarball = tmp_path / "a.tar.gz"
    _tar_with(tarball, {"a.json": b"[]", "extra.json": b"[]"})
    problems = verify_tarball(
        tarball, {"a.json": hashlib.sha256(b"[]").hexdigest(), "gone.json": "0" * 64}
    )
    assert any("extra.json" in p and "not in the manifest" in p for p in problems)
    assert any("gone.json" in p and "missing" in p for p in problems)
    (tmp_path / "junk.tar.gz").write_bytes(b"not gzip at all")
    assert "not a readable tar.gz" in verify_tarball(tmp_path / "junk.tar.gz", {})[0]
