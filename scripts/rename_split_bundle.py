#!/usr/bin/env python3
"""Gives a split bundle's files names that change whenever any of them changes.

cargo-leptos (0.3.11, `--split`) names each file `<stem>.<hash>.<ext>` by its content, then
writes the split loader's final name into the main JS and into every wasm file. A release
that changes only a split page therefore ships a main bundle whose content changed under the
same name; a browser that cached the old one as immutable (src/server/assets.rs) would load
it and ask for chunks that no longer exist. The files refer to each other in a cycle (the
loader imports the main JS, which imports the loader), so no file can be named by its own
content alone: each hashed name becomes a hash of its old name and of the whole bundle, so
one name can only ever stand for one build's bytes.

Usage: rename_split_bundle.py <pkg dir> <hash.txt>. Rewrites every reference in the JS, wasm
and JSON files and in hash.txt (names are 22 characters before and after, so the wasm
binaries keep their layout), and recompresses the files that had .br/.gz copies.
"""

import base64
import hashlib
import os
import re
import subprocess
import sys

HASH = re.compile(r"^[A-Za-z0-9_-]{22}$")


def name_hash(name):
    """The content-hash segment of `<stem>.<hash>.<ext>`, or None."""
    parts = name.split(".")
    return next((p for p in parts[1:-1] if HASH.match(p)), None)


def main(pkg, hash_file):
    files = sorted(
        f for f in os.listdir(pkg)
        if f.endswith((".js", ".wasm", ".json")) and name_hash(f)
    )
    if not any(f.startswith("__wasm_split.") for f in files):
        return  # not a split build: every name already matches its content
    bundle = hashlib.md5()
    contents = {}
    for f in files:
        with open(os.path.join(pkg, f), "rb") as fh:
            contents[f] = fh.read()
        bundle.update(f.encode() + b"\0" + contents[f] + b"\0")
    bundle = bundle.digest()
    renames = {}
    for f in files:
        old = name_hash(f)
        new = base64.urlsafe_b64encode(hashlib.md5(old.encode() + bundle).digest())
        renames[old.encode()] = new.rstrip(b"=")
    for f in files:
        data = contents[f]
        for old, new in renames.items():
            data = data.replace(old, new)
        new_name = f
        for old, new in renames.items():
            new_name = new_name.replace(old.decode(), new.decode())
        compressed = [ext for ext in (".br", ".gz") if os.path.exists(os.path.join(pkg, f + ext))]
        for stale in [f] + [f + ext for ext in compressed]:
            os.remove(os.path.join(pkg, stale))
        target = os.path.join(pkg, new_name)
        with open(target, "wb") as fh:
            fh.write(data)
        if ".br" in compressed:
            subprocess.run(["brotli", "-f", "-q", "11", "-o", target + ".br", target], check=True)
        if ".gz" in compressed:
            with open(target + ".gz", "wb") as fh:
                subprocess.run(["gzip", "-9", "-n", "-c", target], stdout=fh, check=True)
    with open(hash_file, "rb") as fh:
        text = fh.read()
    for old, new in renames.items():
        text = text.replace(old, new)
    with open(hash_file, "wb") as fh:
        fh.write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
