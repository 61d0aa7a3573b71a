"""The CSV gradebook: rows appended and flushed as submissions finish, sorted at the end.

A run that dies half-way keeps every submission it finished; ``--resume``
reads them back and grades only the rest. Each submission's rows go out in
one write, so a crash can at worst cut the last line, which resuming drops.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
import threading

HEADER = ["student", "notebook", "exercise", "score", "max_score", "status", "message"]


class GradebookError(Exception):
    """The output file exists but is not a gradebook this program wrote."""


class Gradebook:
    def __init__(self, path: pathlib.Path):
        self.path = path
        self._lock = threading.Lock()
        self._handle = None

    def load(self) -> dict[tuple[str, str], list[list[str]]]:
        """Rows already in the file, by (student, notebook); {} when there is none."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return {}
        text = self.path.read_text(encoding="utf-8")
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a line cut by a crash
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header != HEADER:
            raise GradebookError(f"{self.path} exists but is not a gradebook (its header is {header}); "
                                 "choose another --out or drop --resume")
        found: dict[tuple[str, str], list[list[str]]] = {}
        for row in reader:
            if len(row) == len(HEADER):
                found.setdefault((row[0], row[1]), []).append(row)
        return found

    def rows(self) -> list[list[str]]:
        """Every row of the finished file (header left out)."""
        return [row for rows in self.load().values() for row in rows]

    def start(self, keep: list[list[str]]) -> None:
        """Write the header and the rows kept from an earlier run; later rows are appended."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "w", encoding="utf-8", newline="")
        self._write([HEADER, *keep])

    def add(self, rows: list[list[str]]) -> None:
        with self._lock:
            self._write(rows)

    def _write(self, rows) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        self._handle.write(buffer.getvalue())
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def finish(self, order) -> None:
        """Sort the rows (by ``order(row)``) into place, atomically."""
        self._handle.close()
        rows = list(csv.reader(io.StringIO(self.path.read_text(encoding="utf-8"))))[1:]
        rows.sort(key=order)
        partial = self.path.with_name(self.path.name + ".partial")
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([HEADER, *rows])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)
