"""Benchmark: a 1M-row legacy AWS CUR CSV → FOCUS, aispend against the FinOps Foundation's converter.

Target (issue "Cloud bills flow in correctly"): at least 5× faster and 5× less peak memory than
`focus-converter` 1.0.0 on the same file. The file is the real anonymised legacy CUR in
``../shared/data/billing/aws-cur-legacy-csv/`` (1,281 rows) repeated to N rows with fresh line-item
ids. Both sides run as child processes of one measuring wrapper (wall time, peak RSS):

- focus-converter: ``focus-converter convert --provider aws-cur --data-format csv`` into Parquet,
  installed in a side venv ``.venv-focus-converter`` (pins it needs: multimethod<1.11, typer<0.10,
  click<8.2), created on first use;
- aispend: ``aispend run`` with one ``aws_cur_legacy`` source on that file — connector, Great
  Expectations suite, atomic raw-zone swap, dbt build of every model and the publish; and the same
  run on the 1,281-row sample itself, the fixed cost no speed on the data path removes.

    python tests/benchmarks/bench_legacy_cur.py [--rows 1000000] [--dir /tmp/aispend-bench]

Skips (exit 0, with the reason) when ../shared/data is absent. Not a test: timings vary by
machine; the ratios are what to compare. Results go to ``<dir>/results-legacy-cur.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

from _measure import measure, table  # noqa: E402

SAMPLE = REPO.parent / "shared" / "data" / "billing" / "aws-cur-legacy-csv" / "sample-anonymous-aws-export-dataset.csv"
CONVERTER_VENV = REPO / ".venv-focus-converter"
CONVERTER_PINS = ["focus-converter==1.0.0", "multimethod<1.11", "typer<0.10", "click<8.2"]


def converter() -> Path:
    """The focus-converter executable of the side venv, created on first use."""
    exe = CONVERTER_VENV / "bin" / "focus-converter"
    if not exe.exists():
        print(f"creating {CONVERTER_VENV} with {' '.join(CONVERTER_PINS)} ...")
        subprocess.run([sys.executable, "-m", "venv", str(CONVERTER_VENV)], check=True)
        subprocess.run([str(CONVERTER_VENV / "bin" / "pip"), "install", "-q", *CONVERTER_PINS], check=True)
    return exe


def make_csv(out: Path, rows: int) -> tuple[Decimal, int]:
    """The real sample repeated to `rows` data rows, ids made unique; returns (Σ UnblendedCost, rows)."""
    with SAMPLE.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        base = list(reader)
    id_col, cost_col = header.index("identity/LineItemId"), header.index("lineItem/UnblendedCost")
    total = Decimal(0)
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i in range(rows):
            r = list(base[i % len(base)])
            r[id_col] = f"{r[id_col]}-{i // len(base)}"
            total += Decimal(r[cost_col] or "0")
            w.writerow(r)
    return total, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_LEGACY_ROWS", 1_000_000)))
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp/aispend-bench"))
    args = ap.parse_args()
    if not SAMPLE.exists():
        print(f"skipped: the real legacy CUR sample is not at {SAMPLE} (../shared/data beside the repository)")
        return 0
    work = Path(args.dir) / "legacy-cur"
    shutil.rmtree(work, ignore_errors=True)
    (work / "export").mkdir(parents=True)
    csv_path = work / "export" / "cur-legacy-2023-11.csv"
    t = time.monotonic()
    total, n = make_csv(csv_path, args.rows)
    print(f"legacy CUR CSV: {n:,} rows, {csv_path.stat().st_size / 2**20:.0f} MiB, Σ UnblendedCost {total} USD "
          f"(written in {time.monotonic() - t:.1f}s)")

    fc = converter()
    fc_out = work / "focus-converter-out"
    conv = measure([str(fc), "convert", "--provider", "aws-cur", "--data-format", "csv", "--data-path", str(csv_path),
                    "--export-path", str(fc_out)], cwd=str(work))

    def run_aispend(sub: str, path: Path) -> tuple[dict, Path]:
        home = work / sub / "home"
        config = work / sub / "aispend.yaml"
        home.mkdir(parents=True)
        config.write_text(f"home: {home}\nstart_date: 2023-11-01\nsources:\n"
                          f"  - {{name: aws-legacy, type: aws_cur_legacy, uri: '{path}'}}\n")
        env = {**os.environ, "AISPEND_HOME": str(home)}
        return measure([sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--end", "2023-11-30"],
                       env=env, cwd=str(REPO)), home

    ours, home = run_aispend("big", csv_path)
    # the fixed cost (start-up, Dagster, the dbt build of every model and test, publish): the real
    # 1,281-row sample through the same run
    floor, _ = run_aispend("floor", SAMPLE)

    import duckdb
    con = duckdb.connect(str(home / "warehouse" / "aispend.duckdb"), read_only=True)
    lines, billed = con.execute("select count(*), sum(BilledCost) from main.focus_costs "
                                "where x_source = 'aws_cur'").fetchone()
    con.close()
    if lines < n or abs(Decimal(str(billed)) - total) > Decimal("0.01"):
        sys.exit(f"focus_costs disagrees with the CSV: {lines} lines, {billed} USD vs {n} rows, {total} USD")

    speed, mem = conv["wall_s"] / ours["wall_s"], conv["peak_rss_mib"] / ours["peak_rss_mib"]
    print("\n" + table([("focus-converter 1.0.0", conv), ("aispend run (ingest+dbt+publish)", ours),
                        ("aispend run on the 1,281-row sample", floor)]))
    print(f"{'focus-converter / aispend':34}{speed:>10.2f}{mem:>15.2f}")
    for line in ours["output"].splitlines():
        print("   ", line.strip())
    print(f"fixed cost: aispend on the 1,281-row sample takes {floor['wall_s']:.1f}s; 5× faster than "
          f"focus-converter on {n:,} rows needs ≤ {conv['wall_s'] / 5:.1f}s in all")
    print(f"targets: ≥ 5× faster ({'met' if speed >= 5 else 'NOT met'}: {speed:.1f}×), "
          f"≥ 5× less memory ({'met' if mem >= 5 else 'NOT met'}: {mem:.1f}×); "
          f"focus_costs holds {lines:,} lines = {billed} USD (matches the CSV)")
    (Path(args.dir) / "results-legacy-cur.json").write_text(json.dumps({
        "rows": n, "focus_converter": {k: v for k, v in conv.items() if k != "output"},
        "aispend": {k: v for k, v in ours.items() if k != "output"},
        "aispend_sample_1281_rows": {k: v for k, v in floor.items() if k != "output"},
        "speedup": round(speed, 2), "memory_ratio": round(mem, 2)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
