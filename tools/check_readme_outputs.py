#!/usr/bin/env python3
"""Checks that the example output the README quotes is what the examples print today.

A quoted block is marked in README.md by an HTML comment on the line before its fence:

    <!-- output of: cargo run --release --example vanishing_gradients -->
    ```text
    ...
    ```

Each marked command runs once (from the workspace root); every line of its block must appear
in the command's output, in order, with runs of spaces squeezed. A line `...` stands for any
number of lines, and durations (`0.01 s`, `36 ms`) match any duration, since they depend on
the machine. Exit status 1 lists each line that was not found.

    python3 tools/check_readme_outputs.py
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- output of: (.+) -->$")
DURATION = re.compile(r"\d+(?:\.\d+)? (?:s|ms)\b")


def normalize(line):
    return " ".join(line.split())


def pattern(line):
    """A regex matching `line` with any duration in place of its durations."""
    parts = DURATION.split(normalize(line))
    return re.compile("^" + r"\d+(?:\.\d+)? (?:s|ms)".join(re.escape(p) for p in parts) + "$")


def quoted_blocks(readme):
    lines = readme.splitlines()
    for i, line in enumerate(lines):
        marker = MARKER.match(line.strip())
        if not marker:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            sys.exit(f"README.md:{i + 1}: the marker is not followed by a fenced block")
        block = []
        for body in lines[i + 2 :]:
            if body.startswith("```"):
                break
            block.append(body)
        yield i + 1, marker.group(1), block


def missing_lines(block, output):
    """The block's lines not found in `output`, in order."""
    out = [normalize(l) for l in output.splitlines()]
    position, missing = 0, []
    for line in block:
        if not line.strip() or line.strip() == "...":
            continue
        wanted = pattern(line)
        found = next((j for j in range(position, len(out)) if wanted.match(out[j])), None)
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing


def main():
    readme = (ROOT / "README.md").read_text()
    outputs = {}
    failures = 0
    blocks = list(quoted_blocks(readme))
    if not blocks:
        sys.exit("README.md has no marked output blocks")
    for line_number, command, block in blocks:
        if command not in outputs:
            print(f"running: {command}", flush=True)
            run = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"`{command}` failed:\n{run.stderr}")
            outputs[command] = run.stdout
        missing = missing_lines(block, outputs[command])
        for line in missing:
            print(f"README.md:{line_number}: `{command}` no longer prints: {line.strip()}")
        failures += len(missing)
    if failures:
        sys.exit(1)
    print(f"{len(blocks)} quoted outputs match")


if __name__ == "__main__":
    main()
