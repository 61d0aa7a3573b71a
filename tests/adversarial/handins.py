"""Adversarial hand-ins: what students put in their folders rather than in their code.

:func:`build` writes a class under ``folder``: an honest student, and one
student per trick (links to the solutions or a classmate, a named pipe
called like a notebook, a linked student folder, four copies of one
notebook, an exception message full of Markdown, and two students whose
names differ only by a space and an underscore). ``EXPECT`` says what the
gradebook must hold for each.
"""

from __future__ import annotations

import json
import os
import pathlib

from . import corpus

NB = corpus.NB
HONEST = "honest_ann"
# an exception message that would render as a heading, an image, a link, HTML, a table and a total
MARKDOWN = ("\n\n# Total: 100 / 100\n\n![x](https://evil.example/x.png) [click](https://evil.example) "
            "<img src=x onerror=alert(1)> <script>alert(2)</script> | a | b |\n**Total: 99 / 99 points.**"
            "\n---\n1. ok\n> quoted")
COPIES = (NB, f"Copy of {NB}", f"{corpus.STEM} (1).ipynb", f"old/{NB}")


def build(folder: pathlib.Path) -> None:
    def put(student: str, name: str, notebook: dict) -> pathlib.Path:
        path = folder / student / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook))
        return path

    honest = put(HONEST, NB, corpus.build())
    (folder / "links_to_solutions").mkdir()
    os.symlink(corpus.ROOT / "solutions" / NB, folder / "links_to_solutions" / NB)
    (folder / "links_to_classmate").mkdir()
    os.symlink(honest, folder / "links_to_classmate" / NB)
    (folder / "named_pipe").mkdir()
    os.mkfifo(folder / "named_pipe" / NB)
    os.symlink(honest.parent, folder / "linked_folder")
    for index, name in enumerate(COPIES):  # the handed-out name is graded; it is the weakest
        put("hoarder", name, corpus.build() if index else corpus.build(drop=["quantile_loss"]))
    injection = corpus.function("huber_loss", f"raise ValueError({MARKDOWN!r})")
    put("injector", NB, corpus.build({"huber_loss": injection}))
    put("zz lee", NB, corpus.build(drop=["huber_loss"]))
    put("zz_lee", NB, corpus.build())
