"""Grading beyond one run: the assignment's secret, shards of a class, and merging them.

A class can be graded in one run, resumed, split into shards on a cluster, or
graded one submission at a time (Gradescope). All of these grade a student on
the same hidden cases when they share the **secret**: a file of random bytes,
created once (mode 0600) and kept by the instructor. Every student's hidden
cases derive from it with the student's and the notebook's names
(:func:`course.assignments.spec.student_seed`); it never enters the sandbox.

Each gradebook gets a small sidecar, ``grades.csv.meta.json``, that records
the secret's fingerprint (a hash that reveals nothing of the secret), the
course version and the shard, so :func:`merge` can refuse to join gradebooks
graded with different secrets or course versions.

A **shard** ``I/N`` is the stable share of students whose name hashes to
``I - 1`` modulo ``N``: the same students whatever the machine, the order of
folders or the other students present.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pathlib
import secrets
import shutil
from dataclasses import dataclass

from .gradebook import HEADER

SECRET_BYTES = 32
DEFAULT_SECRET_NAME = "course-grade.secret"


class ShardError(Exception):
    """Shards that cannot be merged, or a malformed shard or secret."""


# ------------------------------------------------------------------ secret
def load_or_create_secret(path: pathlib.Path) -> bytes:
    """The secret in ``path``, created (random, mode 0600) when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = secrets.token_hex(SECRET_BYTES).encode() + b"\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as error:
        raise ShardError(f"cannot read the secret {path}: {error.strerror}") from error
    secret = data.strip()
    if len(secret) < 16:
        raise ShardError(f"{path} holds no usable secret (at least 16 characters expected)")
    return secret


def secret_from_seed(seed: int) -> bytes:
    """The secret ``--seed N`` stands for (tests and old scripts)."""
    return f"seed:{int(seed)}".encode()


def fingerprint(secret: bytes) -> str:
    """A short name for the secret that reveals nothing of it (a keyed hash)."""
    return hashlib.blake2b(b"course-grade secret fingerprint", key=secret[:64], digest_size=8).hexdigest()


def course_version() -> str:
    """The package's version and every assignment's version: what a grade depends on."""
    from course import __version__ as version
    from course.assignments import assignments

    parts = ",".join(f"{stem}:{a.version}" for stem, a in sorted(assignments().items()))
    return f"{version}|{hashlib.sha256(parts.encode()).hexdigest()[:12]}"


# ------------------------------------------------------------------ shards
def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` -> (2, 5); ShardError unless 1 <= I <= N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as error:
        raise ShardError(f"--shard expects I/N such as 2/5, got {text!r}") from error
    if not 1 <= index <= count:
        raise ShardError(f"--shard {text}: I must be between 1 and N")
    return index, count


def shard_of(student: str, count: int) -> int:
    """The shard (1-based) a student belongs to among ``count``."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


# ------------------------------------------------------------------ sidecar
def meta_path(gradebook: pathlib.Path) -> pathlib.Path:
    return gradebook.with_name(gradebook.name + ".meta.json")


@dataclass
class Meta:
    secret: str  # fingerprint
    version: str
    shard: str | None = None
    feedback: str | None = None
    gradescope: str | None = None

    def write(self, gradebook: pathlib.Path) -> None:
        path = meta_path(gradebook)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.__dict__, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, path)

    @classmethod
    def read(cls, gradebook: pathlib.Path) -> "Meta":
        path = meta_path(gradebook)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: data.get(k) for k in ("secret", "version", "shard", "feedback", "gradescope")})
        except (OSError, ValueError, TypeError) as error:
            raise ShardError(f"{gradebook} has no readable {path.name}: was it written by course-grade "
                             "(with this version)?") from error


# ------------------------------------------------------------------- merge
def merge(shards: list[pathlib.Path], out: pathlib.Path, feedback: pathlib.Path | None = None,
          gradescope: pathlib.Path | None = None) -> tuple[list[list[str]], Meta]:
    """Join shard gradebooks into ``out`` (and their feedback folders); ShardError if they disagree."""
    if not shards:
        raise ShardError("no gradebooks to merge")
    metas = [Meta.read(path) for path in shards]
    for path, meta in zip(shards, metas):
        if meta.secret != metas[0].secret:
            raise ShardError(f"{path} was graded with another secret than {shards[0]} "
                             f"({meta.secret} vs {metas[0].secret}); grade every shard with the same "
                             "--secret")
        if meta.version != metas[0].version:
            raise ShardError(f"{path} was graded by another version of the course ({meta.version} vs "
                             f"{metas[0].version})")
    rows, seen = [], {}
    for path in shards:
        text = path.read_text(encoding="utf-8")
        reader = csv.reader(io.StringIO(text))
        if next(reader, None) != HEADER:
            raise ShardError(f"{path} is not a course-grade gradebook")
        for row in reader:
            if len(row) != len(HEADER):
                raise ShardError(f"{path} has a malformed row: {row}")
            key = tuple(row[:3])
            if key in seen:
                raise ShardError(f"{key} is in both {seen[key]} and {path}: shards must not overlap")
            seen[key] = path
            rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([HEADER, *rows])
    os.replace(partial, out)
    for target, kind in ((feedback, "feedback"), (gradescope, "gradescope")):
        if target is None:
            continue
        for path, meta in zip(shards, metas):
            source = getattr(meta, kind)
            if not source:
                raise ShardError(f"{path} was graded without --{kind}; nothing to merge into {target}")
            _copy_tree(pathlib.Path(source), target)
    merged = Meta(metas[0].secret, metas[0].version, None,
                  str(feedback.resolve()) if feedback else None,
                  str(gradescope.resolve()) if gradescope else None)
    merged.write(out)
    return rows, merged


def _copy_tree(source: pathlib.Path, target: pathlib.Path) -> None:
    if not source.is_dir():
        raise ShardError(f"the feedback folder {source} is missing")
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        destination = target / relative
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            if destination.exists() and destination.read_bytes() != path.read_bytes():
                raise ShardError(f"{relative} comes from two shards with different contents")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
