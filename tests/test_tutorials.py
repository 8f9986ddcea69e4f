"""The tutorials and how-tos run as written, and print what they say they print.

Every ``code-block:: python`` of a page runs, in order, in one namespace (a page is one session);
every ``code-block:: console`` runs its ``$`` commands in a shell (a script the command names,
such as ``my_problem.py``, is the page's Python code up to that point).  Where a ``code-block:: text``
follows, the output must match it: the words exactly, each number to one unit in the last digit
the page shows (plus 1e-6 relative) — except numbers at round-off level (both below 1e-9 in
size), which are the solver's tolerance, not a result.  A page whose code or printed numbers drift from the library fails here.
"""

import contextlib
import io
import os
import re
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted((DOCS / "tutorials").glob("*.rst")) + sorted((DOCS / "howto").glob("*.rst"))
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def code_blocks(text):
    """``(language, content)`` of each code block of an rst page, in order (nested blocks too)."""
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = re.match(r"^(\s*)\.\. code-block:: (\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang, body = len(m.group(1)), m.group(2), []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        content = [b for b in body]
        while content and not content[-1].strip():
            content.pop()
        while content and not content[0].strip():
            content.pop(0)
        width = min((len(b) - len(b.lstrip()) for b in content if b.strip()), default=0)
        blocks.append((lang, "\n".join(b[width:] for b in content)))
    return blocks


def last_digit(token):
    """The value of one unit in the last digit of a printed number (``5.12e-11`` → 1e-13)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def same_output(got, want):
    """Whether ``got`` matches ``want``: same words, numbers within one unit of the last digit
    shown in ``want`` (plus 1e-6 relative), or both at round-off level."""
    gw, ww = NUMBER.split(got), NUMBER.split(want)
    if [w.split() for w in gw] != [w.split() for w in ww]:
        return False
    for a, token in zip(map(float, NUMBER.findall(got)), NUMBER.findall(want)):
        b = float(token)
        if max(abs(a), abs(b)) <= 1e-9:
            continue
        if abs(a - b) > last_digit(token) * 1.0001 + 1e-6 * abs(b):
            return False
    return True


def run_page(page, tmp_path):
    """Run every block of ``page``; returns ``(block, output, expected)`` for each checked pair."""
    namespace, checks, previous, script = {"__name__": "__tutorial__"}, [], None, []
    for lang, content in code_blocks(page.read_text(encoding="utf-8")):
        if lang == "python":
            script.append(content)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(content, f"{page.name}", "exec"), namespace)
            previous = (content, out.getvalue())
        elif lang == "console":
            outs = []
            for line in content.split("\n"):
                if line.startswith("$ "):
                    cmd = line[2:].replace("pip install", "true")  # already installed
                    for name in re.findall(r"[\w/]+\.py\b", cmd):
                        if not (tmp_path / name).exists():
                            (tmp_path / name).write_text("\n\n".join(script), encoding="utf-8")
                    proc = subprocess.run(cmd, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=900)
                    assert proc.returncode == 0, (page.name, cmd, proc.stdout, proc.stderr)
                    outs.append(proc.stdout)
            previous = (content, "".join(outs))
        elif lang == "text" and previous is not None:
            checks.append((previous[0], previous[1].strip(), content.strip()))
            previous = None
    return checks


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_runs_and_prints_what_it_says(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    os.environ.setdefault("RIEMANNOPT_CACHE_DIR", str(tmp_path / "cache"))
    checks = run_page(page, tmp_path)
    assert checks, f"{page.name} shows no printed output to check"
    for code, got, want in checks:
        assert same_output(got, want), f"{page.name}: the block\n{code}\nprints\n{got}\nbut the page says\n{want}"


def test_output_comparison():
    """The comparison itself: numbers within 1e-6, round-off ignored, words exact."""
    assert same_output("ng 0.5000001 gap 1.6e-12", "ng 0.5 gap 3e-13")
    assert same_output("rk4 5.13e-07", "rk4 5.12e-07") and not same_output("rk4 5.14e-07", "rk4 5.12e-07")
    assert not same_output("ng 0.5003", "ng 0.5000")
    assert not same_output("geo 0.5", "ng 0.5")
