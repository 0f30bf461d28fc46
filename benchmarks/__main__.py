"""``python -m benchmarks [name ...]``: run the benchmarks (all by default), each printing its figures."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

import benchmarks


def main(names: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    chosen = [f"bench_{n}" if not n.startswith("bench_") else n for n in names] or available
    failed = 0
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        try:
            if importlib.import_module(f"benchmarks.{name}").main([]):
                failed += 1
        except SystemExit as exc:
            if exc.code not in (None, 0):
                print(f"{name}: {exc}")
                failed += 1
        except Exception:
            traceback.print_exc()
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
