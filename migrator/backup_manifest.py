"""A backup's manifest: what it holds (each artifact's sha256 and size) and what it was taken
from, and the check that a backup on disk still matches it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.archive import file_sha256
from migrator.errors import BackupError

MANIFEST = "manifest.json"
JSON_ARTIFACT = "json-store.tar.gz"
SQL_ARTIFACT = "database.sql.gz"


@dataclass(frozen=True)
class Artifact:
    """One file of a backup; `kind` is database, damaged (a byte copy), sql or json."""

    name: str
    kind: str
    sha256: str
    size: int
    #: For the JSON snapshot: partition file name -> sha256.
    files: dict[str, str] | None = None


@dataclass(frozen=True)
class Manifest:
    """What a backup holds and what it was taken from."""

    created_at: str
    reason: str
    schema: str
    schema_version: int
    phase: str
    database: str | None
    json_dir: str | None
    artifacts: tuple[Artifact, ...]
    tool_version: str = __version__
    format: int = 1

    def artifact(self, kind: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind), None)

    @property
    def holds(self) -> list[str]:
        """The stores this backup has a copy of: `database` (also a damaged one's byte copy)
        and `json`; an import's snapshot holds the database only."""
        kinds = {a.kind for a in self.artifacts}
        return ["database"] * bool(kinds & {"database", "damaged"}) + ["json"] * ("json" in kinds)

    @property
    def size(self) -> int:
        return sum(a.size for a in self.artifacts)

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["artifacts"] = [
            {k: v for k, v in asdict(a).items() if v is not None} for a in self.artifacts
        ]
        value["holds"] = self.holds
        return value

    @classmethod
    def from_json(cls, value: Any) -> Manifest:
        if not isinstance(value, dict) or not isinstance(value.get("artifacts"), list):
            raise ValueError("not a backup manifest")
        artifacts = tuple(Artifact(**a) for a in value["artifacts"])
        fields = {k: value[k] for k in cls.__dataclass_fields__ if k in value and k != "artifacts"}
        return cls(artifacts=artifacts, **fields)


@dataclass(frozen=True)
class BackupInfo:
    """A backup found on disk; `problems` lists what no longer verifies (None: not checked)."""

    path: Path
    manifest: Manifest | None
    problems: list[str] | None = field(default=None)

    @property
    def verified(self) -> bool | None:
        return None if self.problems is None else not self.problems


def load_manifest(backup_dir: Path) -> Manifest:
    path = backup_dir / MANIFEST
    try:
        return Manifest.from_json(json.loads(path.read_bytes()))
    except FileNotFoundError:
        raise BackupError(f"{backup_dir}: not a backup (no {MANIFEST})") from None
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{path}: unreadable manifest: {exc}") from exc


def verify_backup(backup_dir: Path, manifest: Manifest) -> list[str]:
    """What no longer matches the manifest: missing files, other sizes, other sha256."""
    problems = []
    for artifact in manifest.artifacts:
        path = backup_dir / artifact.name
        if Path(artifact.name).name != artifact.name:
            problems.append(f"{artifact.name}: not a plain file name; refused")
        elif not path.is_file():
            problems.append(f"{artifact.name}: missing")
        elif path.stat().st_size != artifact.size:
            problems.append(f"{artifact.name}: {path.stat().st_size} bytes, not {artifact.size}")
        elif file_sha256(path) != artifact.sha256:
            problems.append(f"{artifact.name}: sha256 differs from the manifest")
    return problems


def artifact_of(path: Path, kind: str, files: dict[str, str] | None = None) -> Artifact:
    """The manifest's entry for the file at `path`."""
    return Artifact(path.name, kind, file_sha256(path), path.stat().st_size, files)
