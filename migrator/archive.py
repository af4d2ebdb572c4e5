"""Archives of the JSON store: its partition files in a tar.gz that is verified before trusted.

`archive_json_store` is what the move to `sqlite-only` runs: pack every partition file, re-read
the archive and check every file's sha256 against what was packed, write the manifest, and only
then remove the originals (each under its partition lock, and only if it did not change since it
was packed). `restore_archive` brings the files back when moving to an earlier phase. Backups
use the same packing for their JSON snapshot.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.adapters.fs import fsync_directory, write_atomically
from migrator.adapters.json_store import JsonStore, check_partition_name
from migrator.adapters.state_dir import StateDir
from migrator.errors import BackupError, UnsafePartitionError

logger = logging.getLogger(__name__)

_MEMBER = re.compile(r"[^/\\]+\.json")


@dataclass(frozen=True)
class PackedFile:
    """One partition file inside a tarball."""

    name: str
    sha256: str
    size: int
    #: The file's permission bits, restored when the store is rebuilt (0600 stays 0600).
    mode: int = 0o644


@dataclass(frozen=True)
class ArchiveResult:
    """What `archive_json_store` packed, where, and which originals it removed."""

    archive: Path
    manifest: Path
    files: tuple[PackedFile, ...]
    archive_size: int
    removed: tuple[str, ...]
    #: Files a writer changed after they were packed: kept in place, not removed.
    kept_changed: tuple[str, ...] = ()

    @property
    def original_size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class UnpackResult:
    """What restoring a tarball into a JSON store wrote, left alone and removed."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- packing


def pack_partitions(store: JsonStore, dest: Path) -> tuple[PackedFile, ...]:
    """Write every partition file of `store` into a new tar.gz at `dest` (mode 0600), fsynced.

    Only top-level `<partition>.json` files: never the `.migrator` state directory, so never
    the backups or archives themselves.
    """
    packed = []
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz,
                tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
            ):
                for partition in store.partitions():
                    data = store.read_bytes(partition)
                    if data is None:  # removed since it was listed
                        continue
                    name = f"{partition}.json"
                    mode = store.path_for(partition).stat().st_mode & 0o777
                    info = tarfile.TarInfo(name)
                    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
                    tar.addfile(info, io.BytesIO(data))
                    packed.append(PackedFile(name, _sha256(data), len(data), mode))
            raw.flush()
            os.fsync(raw.fileno())
    except OSError as exc:
        raise BackupError(f"{dest}: cannot write the archive: {exc.strerror or exc}") from exc
    return tuple(packed)


def read_tarball(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each member; `BackupError` for anything but plain `*.json` files."""
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                if not member.isfile() or not _MEMBER.fullmatch(member.name):
                    raise BackupError(f"{path}: unexpected member {member.name!r}; refused")
                handle = tar.extractfile(member)
                if handle is None:
                    raise BackupError(f"{path}: member {member.name!r} cannot be read")
                yield member.name, handle.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path}: not a readable tar.gz: {exc}") from exc


def verify_tarball(path: Path, expected: Mapping[str, str]) -> list[str]:
    """What is wrong with the tarball given the expected name -> sha256 ([] when it matches)."""
    problems: list[str] = []
    seen: set[str] = set()
    try:
        for name, data in read_tarball(path):
            seen.add(name)
            if name not in expected:
                problems.append(f"{name}: in the archive but not in the manifest")
            elif _sha256(data) != expected[name]:
                problems.append(f"{name}: sha256 differs from the manifest")
    except BackupError as exc:
        return [str(exc)]
    problems += [f"{name}: missing from the archive" for name in sorted(set(expected) - seen)]
    return problems


def unpack_partitions(
    store: JsonStore,
    tarball: Path,
    expected: Mapping[str, str],
    *,
    replace_all: bool,
    overwrite: bool = True,
) -> UnpackResult:
    """Write the tarball's files into `store`, each atomically under its partition lock.

    Checks every hash first and writes nothing when one differs. `replace_all` also removes
    partition files the tarball does not hold (the store becomes the snapshot). Without
    `overwrite`, an existing file with other content is refused before anything is written.
    """
    files = dict(read_tarball(tarball))
    problems = [f"{n}: sha256 differs" for n, d in files.items() if _sha256(d) != expected.get(n)]
    problems += [f"{n}: missing from the archive" for n in sorted(set(expected) - set(files))]
    if problems:
        shown = "; ".join(problems[:3])
        raise BackupError(f"{tarball}: does not verify ({shown}); nothing written")
    partitions = {name.removesuffix(".json"): data for name, data in files.items()}
    for partition in partitions:
        _check_name(tarball, partition)
    if not overwrite:
        conflicts = [p for p, data in partitions.items() if store.read_bytes(p) not in (None, data)]
        if conflicts:
            raise BackupError(
                f"{store.root}: {len(conflicts)} partition file(s) exist with other content "
                f"({', '.join(conflicts[:3])}); nothing written"
            )
    written, unchanged = [], []
    for partition, data in sorted(partitions.items()):
        with store.lock(partition):
            if store.read_bytes(partition) == data:
                unchanged.append(partition)
                continue
            write_atomically(store.path_for(partition), data)
            written.append(partition)
    removed = []
    if replace_all:
        for partition in store.partitions():
            if partition not in partitions and store.remove_partition(partition):
                removed.append(partition)
    return UnpackResult(tuple(written), tuple(unchanged), tuple(removed))


# --------------------------------------------------------------------------- archive


def archive_json_store(json_store: JsonStore, out_dir: Path | None = None) -> ArchiveResult:
    """Pack the store's partition files, verify the archive, then remove the originals.

    Nothing is removed unless re-reading the archive reproduces every file's sha256; a failed
    verification removes the bad archive and raises `BackupError` with the originals intact.
    """
    out = out_dir if out_dir is not None else StateDir(json_store.root).archive()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    archive = out / f"json-store-{stamp}.tar.gz"
    manifest = manifest_path(archive)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".tmp", dir=out)
        os.close(fd)
        os.unlink(tmp_name)
    except OSError as exc:
        raise BackupError(f"{out}: cannot create the archive: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        files = pack_partitions(json_store, tmp)
        problems = verify_tarball(tmp, {f.name: f.sha256 for f in files})
        if problems:
            raise BackupError(
                f"archive {archive} failed verification ({'; '.join(problems[:3])}); "
                "the JSON files were kept"
            )
        _write_manifest(manifest, json_store.root, tmp, files)
        os.replace(tmp, archive)
        fsync_directory(out)
    finally:
        tmp.unlink(missing_ok=True)
    removed, kept = _remove_originals(json_store, files)
    logger.info("archived %d files into %s; removed %d", len(files), archive, len(removed))
    return ArchiveResult(archive, manifest, files, archive.stat().st_size, removed, kept)


def archived_modes(json_store: JsonStore) -> dict[str, int]:
    """File name -> permission bits, as the newest archive of the store recorded them ({} when
    there is none, or it predates modes)."""
    manifests = sorted(StateDir(json_store.root).archive().glob("json-store-*.json"))
    if not manifests:
        return {}
    try:
        files = load_manifest(manifests[-1]).get("files", [])
        return {f["name"]: int(f["mode"], 8) for f in files if "mode" in f}
    except (BackupError, KeyError, TypeError, ValueError, AttributeError):
        logger.warning("cannot read the file modes of %s", manifests[-1])
        return {}


def restore_archive(
    archive_path: Path, json_store: JsonStore, *, overwrite: bool = False
) -> UnpackResult:
    """Put an archive's files back into the JSON store after verifying it against its manifest.

    `archive_path` may be the archive or its manifest. An existing file with other content is
    refused unless `overwrite` (the phase move brings the store up to date from SQL after).
    """
    archive = Path(archive_path)
    if archive.name.endswith(".manifest.json"):
        archive = archive.with_name(archive.name.removesuffix(".manifest.json") + ".tar.gz")
    manifest = load_manifest(manifest_path(archive))
    digest = file_sha256(archive)
    if digest != manifest.get("sha256"):
        raise BackupError(f"{archive}: sha256 differs from its manifest; nothing restored")
    expected = {f["name"]: f["sha256"] for f in manifest.get("files", [])}
    return unpack_partitions(json_store, archive, expected, replace_all=False, overwrite=overwrite)


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(".tar.gz") + ".manifest.json")


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path}: cannot read the archive manifest: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("files"), list):
        raise BackupError(f"{path}: not an archive manifest")
    return value


def _write_manifest(path: Path, root: Path, archive: Path, files: tuple[PackedFile, ...]) -> None:
    manifest = {
        "format": 1,
        "tool_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "json_dir": str(root.absolute()),
        "archive": archive.name,
        "sha256": file_sha256(archive),
        "size": archive.stat().st_size,
        "files": [
            {"name": f.name, "sha256": f.sha256, "size": f.size, "mode": f"{f.mode:04o}"}
            for f in files
        ],
    }
    write_atomically(path, json.dumps(manifest, indent=2).encode() + b"\n")
    os.chmod(path, 0o600)


def _remove_originals(
    store: JsonStore, files: tuple[PackedFile, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    removed, kept = [], []
    for packed in files:
        partition = packed.name.removesuffix(".json")
        with store.lock(partition):
            data = store.read_bytes(partition)
            if data is not None and _sha256(data) != packed.sha256:
                logger.warning("%s changed after it was archived; kept", packed.name)
                kept.append(partition)
                continue
            with contextlib.suppress(FileNotFoundError):
                store.path_for(partition).unlink()
            removed.append(partition)
    fsync_directory(store.root)
    return tuple(removed), tuple(kept)


def _check_name(tarball: Path, partition: str) -> None:
    try:
        check_partition_name(partition)
    except UnsafePartitionError as exc:
        raise BackupError(f"{tarball}: {exc}; refused") from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise BackupError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()
