"""Tests of checks/doc_links.py on a throwaway tree: python3 -m unittest checks.test_doc_links"""

import os
import tempfile
import unittest

from checks import doc_links


def write(root, relative, text):
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


class DocLinksTests(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.root = self.directory.name
        write(self.root, "docs/GUIDE.md", "# Guide\n\n## The `results.json` format, briefly\n\n## Again\n\n## Again\n")
        write(self.root, "openapi.yaml", "openapi: 3.1.0\n")

    def tearDown(self):
        self.directory.cleanup()

    def test_good_links_pass(self):
        write(
            self.root,
            "README.md",
            "# Top\n\n## Quick start\n\n"
            "[guide](docs/GUIDE.md), [format](docs/GUIDE.md#the-resultsjson-format-briefly), "
            "[second](docs/GUIDE.md#again-1), [here](#quick-start), ![spec](openapi.yaml), "
            "[web](https://example.com/x), [mail](mailto:a@example.com)\n\n"
            "```sh\n[not a link](nowhere.md)\n# not a heading\n```\n\n"
            "`[code](nowhere.md)`\n",
        )
        result = doc_links.check(self.root)
        self.assertEqual(result.problems, [])
        self.assertEqual(result.checked, 7)

    def test_bad_links_are_reported_with_file_and_line(self):
        write(
            self.root,
            "README.md",
            "# Top\n\n[missing](docs/NOPE.md)\n[anchor](docs/GUIDE.md#nope)\n[self](#not-a-heading)\n"
            "[escape](../elsewhere.md)\n[absolute](/etc/hosts)\n",
        )
        result = doc_links.check(self.root)
        found = [(p.file, p.line, p.target) for p in result.problems]
        self.assertEqual(
            found,
            [
                ("README.md", 3, "docs/NOPE.md"),
                ("README.md", 4, "docs/GUIDE.md#nope"),
                ("README.md", 5, "#not-a-heading"),
                ("README.md", 6, "../elsewhere.md"),
                ("README.md", 7, "/etc/hosts"),
            ],
        )
        self.assertEqual(result.checked, 5)
        self.assertIn("— no such file or directory", str(result.problems[0]))

    def test_a_path_beside_the_repository_is_reported(self):
        outside = "../" + "shared"
        write(self.root, "loadtest/README.md", f"# Load\n\nThe report lives in `{outside}/seed/`.\n")
        result = doc_links.check(self.root)
        self.assertEqual([(p.file, p.line, p.target) for p in result.problems][:1], [("loadtest/README.md", 3, outside)])

    def test_slug_follows_github(self):
        self.assertEqual(doc_links.slug("MySQL/MariaDB store"), "mysqlmariadb-store")
        self.assertEqual(doc_links.slug("Against the seed's flow in nginx + Lua"), "against-the-seeds-flow-in-nginx--lua")
        self.assertEqual(doc_links.slug("`k6_to_results.py`"), "k6_to_resultspy")

    def test_main_prints_the_summary_and_exits_1_when_broken(self):
        write(self.root, "README.md", "[missing](docs/NOPE.md)\n")
        self.assertEqual(doc_links.main(["doc_links", self.root]), 1)
        write(self.root, "README.md", "[guide](docs/GUIDE.md)\n")
        self.assertEqual(doc_links.main(["doc_links", self.root]), 0)


if __name__ == "__main__":
    unittest.main()
