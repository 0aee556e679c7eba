"""Every link in the documentation resolves inside the repository.

Scans README.md, docs/*.md and loadtest/README.md for markdown links and
images, `[text](target)` and `![alt](target)` (and reference definitions,
`[label]: target`), outside code blocks and code spans:

- `http://`, `https://` and `mailto:` targets are not checked;
- any other scheme, and absolute paths, are broken: a clone has no such file;
- a relative target must exist inside the repository (file or directory);
- `#anchor` must name a heading of the same file, and `file.md#anchor` a
  heading of that file, by GitHub's slug rules (lowercase, punctuation other
  than `-` and `_` dropped, each space a `-`, repeated headings `-1`, `-2` …).

It also fails if one of those files, or any text file git tracks, names a
path to the folders beside the repository (the parent directory's `shared`
folder), which a person who clones the project does not have.

Prints each problem as `FILE:LINE: target — reason`, then one line
`doc links: N checked, M broken`; exits 1 when anything is broken.

Usage, from the repository root: python3 -m checks.doc_links [ROOT]
"""

import os
import re
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass

# Spelled in pieces so that this file does not trip its own check.
OUTSIDE_PATHS = tuple(
    a + b
    for a, b in (
        ("../", "shared"),
        ("shared/", "seed"),
        ("shared/", "DESIGN"),
        ("shared/", "STYLE"),
    )
)

EXTERNAL_SCHEMES = ("http://", "https://", "mailto:")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ANCHOR = re.compile(r"""<a\s+[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target); the text may hold one level of brackets
# (an image inside a link). The target: <...> or up to whitespace/`)`, then an optional title.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")


@dataclass
class Problem:
    file: str
    line: int
    target: str
    reason: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.target} — {self.reason}"


@dataclass
class Result:
    checked: int
    problems: list


def doc_files(root):
    """The files whose links are checked, relative to root, in a stable order."""
    files = []
    if os.path.isfile(os.path.join(root, "README.md")):
        files.append("README.md")
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        files += sorted("docs/" + name for name in os.listdir(docs) if name.endswith(".md") and os.path.isfile(os.path.join(docs, name)))
    if os.path.isfile(os.path.join(root, "loadtest", "README.md")):
        files.append("loadtest/README.md")
    return files


def slug(text):
    """GitHub's anchor for a heading's text (before the -1, -2 of repeated headings)."""
    text = CODE_SPAN.sub(lambda m: m.group(2), text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and _
    return text.replace(" ", "-")


def lines_outside_fences(text):
    """(line number, line) of the lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group(1)
            else:
                yield number, line
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
            fence = None


def blank_code_spans(line):
    return CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)


def anchors(text):
    """Every anchor a markdown file offers: its headings' slugs, numbered when repeated, and HTML ids."""
    found = set()
    seen = {}
    previous = None
    for _, line in lines_outside_fences(text):
        heading = None
        match = HEADING.match(line)
        if match:
            heading = match.group(2)
        elif (
            previous is not None
            and previous.strip()
            and not HEADING.match(previous)
            and not previous.lstrip().startswith(("|", ">", "-", "*", "+"))
            and SETEXT_UNDERLINE.match(line)
        ):
            heading = previous.strip()
        if heading is not None:
            base = slug(heading)
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(HTML_ANCHOR.findall(blank_code_spans(line)))
        previous = line
    return found


def links(text):
    """(line number, target) of every link, image and reference definition outside code."""
    for number, line in lines_outside_fences(text):
        line = blank_code_spans(line)
        for match in INLINE_LINK.finditer(line):
            yield number, match.group(1)
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            yield number, definition.group(1)


def read_text(path):
    """The file's text, or None when it is binary or unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


class Checker:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self._anchors = {}

    def anchors_of(self, relative):
        if relative not in self._anchors:
            text = read_text(os.path.join(self.root, relative)) or ""
            self._anchors[relative] = anchors(text)
        return self._anchors[relative]

    def check_target(self, file, target):
        """None when the target resolves, else the reason it does not."""
        if target.startswith("<") and target.endswith(">"):
            target = target[1:-1]
        if not target:
            return "empty link target"
        if target.lower().startswith(EXTERNAL_SCHEMES):
            return None
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            return "not a relative link: only http(s) and mailto URLs may leave the repository"
        path, _, fragment = target.partition("#")
        path = urllib.parse.unquote(path.split("?", 1)[0])
        fragment = urllib.parse.unquote(fragment)
        if not path:
            if fragment not in self.anchors_of(file):
                return f"no heading with anchor #{fragment} in {file}"
            return None
        if path.startswith("/"):
            return "absolute path: a clone of the repository has no such file"
        resolved = os.path.realpath(os.path.join(self.root, os.path.dirname(file), path))
        if resolved != self.root and not resolved.startswith(self.root + os.sep):
            return "points outside the repository"
        if not os.path.exists(resolved):
            return "no such file or directory"
        if fragment:
            if not os.path.isfile(resolved) or not resolved.endswith(".md"):
                return "an anchor can only be checked in a markdown file"
            target_file = os.path.relpath(resolved, self.root)
            if fragment not in self.anchors_of(target_file):
                return f"no heading with anchor #{fragment} in {target_file}"
        return None

    def tracked_files(self):
        """The files git tracks under root, or None when root is not a git work tree."""
        try:
            output = subprocess.run(
                ["git", "-C", self.root, "ls-files", "-z"], capture_output=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        return [name for name in output.decode("utf-8", errors="replace").split("\0") if name]

    def outside_mentions(self, files):
        problems = []
        for relative in files:
            text = read_text(os.path.join(self.root, relative))
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                for needle in OUTSIDE_PATHS:
                    if needle in line:
                        problems.append(Problem(relative, number, needle, "names a path outside the repository"))
        return problems

    def run(self):
        files = doc_files(self.root)
        checked = 0
        problems = []
        for relative in files:
            text = read_text(os.path.join(self.root, relative)) or ""
            for number, target in links(text):
                checked += 1
                reason = self.check_target(relative, target)
                if reason:
                    problems.append(Problem(relative, number, target, reason))
        tracked = self.tracked_files() or []
        problems += self.outside_mentions(sorted(set(files) | set(tracked)))
        return Result(checked, problems)


def check(root):
    """Checks the documentation under root; the links checked and the problems found."""
    return Checker(root).run()


def main(argv):
    root = argv[1] if len(argv) > 1 else "."
    result = check(root)
    for problem in result.problems:
        print(problem)
    print(f"doc links: {result.checked} checked, {len(result.problems)} broken")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
