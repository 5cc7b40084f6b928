"""All benchmarks in one command: `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for script in (
        "stt.py",
        "long.py",
        "tts.py",
        "live.py",
        "live_tts.py",
        "wyoming.py",
        "hangup.py",
        "ray_serve.py",
    ):
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)
