import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never read a developer's running stack by accident.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
