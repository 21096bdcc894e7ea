"""Tests for rename_split_bundle.py: run by scripts/test.sh (python3 -m unittest)."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import rename_split_bundle  # noqa: E402

MAIN_JS, MAIN_WASM, LOADER, CHUNK, CSS = (
    "A" * 22, "B" * 22, "C" * 22, "D" * 22, "E" * 22,
)


def bundle(directory, chunk_code):
    """A split bundle as cargo-leptos leaves it: files that name each other."""
    pkg = os.path.join(directory, "pkg")
    os.mkdir(pkg)
    files = {
        f"telehealth.{MAIN_JS}.js": f"import './__wasm_split.{LOADER}.js';",
        f"telehealth.{MAIN_WASM}.wasm": f"\0asm ./__wasm_split.{LOADER}.js".encode(),
        f"__wasm_split.{LOADER}.js": f"import './telehealth.{MAIN_JS}.js'; 'chunk_7.{CHUNK}.wasm'",
        f"chunk_7.{CHUNK}.wasm": f"\0asm {chunk_code} ./__wasm_split.{LOADER}.js".encode(),
        f"telehealth.{CSS}.css": "body {}",
    }
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(pkg, name), mode) as fh:
            fh.write(content)
    with open(os.path.join(pkg, f"telehealth.{MAIN_WASM}.wasm.br"), "wb") as fh:
        fh.write(b"stale")
    hash_file = os.path.join(directory, "hash.txt")
    with open(hash_file, "w") as fh:
        fh.write(f"js: {MAIN_JS}\nwasm: {MAIN_WASM}\ncss: {CSS}\nsplit: {LOADER}\n")
    rename_split_bundle.main(pkg, hash_file)
    with open(hash_file) as fh:
        hashes = dict(line.split(": ") for line in fh.read().splitlines())
    return pkg, hashes


def read(pkg, name):
    with open(os.path.join(pkg, name), "rb") as fh:
        return fh.read().decode("latin-1")


class RenameSplitBundle(unittest.TestCase):
    def test_a_change_in_one_chunk_renames_the_files_that_name_it_indirectly(self):
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            _, first = bundle(one, "v1")
            _, second = bundle(two, "v2")
            # Cached as immutable, the old main bundle must never be served under its name.
            self.assertNotEqual(first["js"], second["js"])
            self.assertNotEqual(first["wasm"], second["wasm"])
            self.assertNotEqual(first["split"], second["split"])
            # The stylesheet names nobody and nobody names it: its name was already honest.
            self.assertEqual(first["css"], CSS)
            self.assertEqual(second["css"], CSS)

    def test_the_same_bundle_gets_the_same_names(self):
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            self.assertEqual(bundle(one, "v1")[1], bundle(two, "v1")[1])

    def test_every_reference_follows_the_renames(self):
        with tempfile.TemporaryDirectory() as directory:
            pkg, hashes = bundle(directory, "v1")
            names = sorted(os.listdir(pkg))
            loader = f"__wasm_split.{hashes['split']}.js"
            main_js = f"telehealth.{hashes['js']}.js"
            main_wasm = f"telehealth.{hashes['wasm']}.wasm"
            chunk = next(n for n in names if n.startswith("chunk_7.") and n.endswith(".wasm"))
            for name in (loader, main_js, main_wasm, chunk):
                self.assertIn(name, names)
            self.assertIn(loader, read(pkg, main_js))
            self.assertIn(loader, read(pkg, main_wasm))
            self.assertIn(loader, read(pkg, chunk))
            self.assertIn(main_js, read(pkg, loader))
            self.assertIn(chunk, read(pkg, loader))
            # Same length: the wasm binaries keep their layout.
            self.assertEqual(len(read(pkg, main_wasm)), len(f"\0asm ./__wasm_split.{LOADER}.js"))
            # The stale compressed copy is replaced by one of the renamed file.
            self.assertNotIn(f"telehealth.{MAIN_WASM}.wasm.br", names)
            decompressed = subprocess.run(
                ["brotli", "-d", "-c", os.path.join(pkg, main_wasm + ".br")],
                capture_output=True, check=True,
            ).stdout
            self.assertEqual(decompressed.decode("latin-1"), read(pkg, main_wasm))

    def test_a_bundle_without_a_split_loader_is_left_alone(self):
        with tempfile.TemporaryDirectory() as directory:
            pkg = os.path.join(directory, "pkg")
            os.mkdir(pkg)
            name = f"telehealth.{MAIN_JS}.js"
            with open(os.path.join(pkg, name), "w") as fh:
                fh.write("x")
            hash_file = os.path.join(directory, "hash.txt")
            with open(hash_file, "w") as fh:
                fh.write(f"js: {MAIN_JS}\n")
            rename_split_bundle.main(pkg, hash_file)
            self.assertEqual(os.listdir(pkg), [name])


if __name__ == "__main__":
    unittest.main()
