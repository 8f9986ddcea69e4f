"""README's quick start runs as written and prints what it promises (Theorem 1's order 2)."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quick_start_runs_and_prints_order_two():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    proc = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:3]] == ["ng", "geo", "rmid"]
    for ln in lines[:3]:  # all reach the minimum at (1, 1)
        point = [float(v) for v in re.search(r"\[(.*)\]", ln).group(1).split()]
        assert abs(point[0] - 1) < 1e-2 and abs(point[1] - 1) < 1e-2
    order = float(re.search(r"order (\S+)", lines[3]).group(1))
    assert abs(order - 2) <= 0.15
