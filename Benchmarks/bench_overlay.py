#!/usr/bin/env python3
"""Overlay rendering cost: `htb analyze` with and without PNG overlays, interleaved, same run.

The share of the analysis spent on rendering is (median with PNGs - median without) / median
with PNGs. Until automatic segmentation exists the analysis runs on expert masks (3D-IRCADb-01
patient 17, 512 x 512 x 119), which makes the share larger than against the automatic analysis.

usage: Benchmarks/bench_overlay.py [--runs N] [--htb PATH]
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    a = ap.parse_args()
    data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True, capture_output=True, text=True).stdout.strip()
    case = os.path.join(data, "3Dircadb1.17")
    out = tempfile.mkdtemp(prefix="htb-bench-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)  # phantoms and outputs go when the run ends
    base = [a.htb, "analyze", case, "--liver-mask", case + "/MASKS_DICOM/liver",
            "--lesion-mask", case + "/MASKS_DICOM/livertumor1", "--lesion-mask", case + "/MASKS_DICOM/livertumor2", "--out", out]
    timed(base); timed(base + ["--no-png"])
    with_png, without = [], []
    for _ in range(a.runs):
        with_png.append(timed(base))
        without.append(timed(base + ["--no-png"]))
    m1, m0 = statistics.median(with_png), statistics.median(without)
    result = {
        "benchmark": "overlay rendering share of htb analyze (expert masks, 3D-IRCADb-01 patient 17)",
        "runs": a.runs, "cores": os.cpu_count(),
        "median_with_png_s": round(m1, 4), "median_without_png_s": round(m0, 4),
        "rendering_share": round((m1 - m0) / m1, 3),
    }
    print(json.dumps(result, indent=2))
    if a.write_docs:
        import docs_section
        docs_section.write("bench_overlay", "\n".join([
            f"| `htb analyze`, expert masks ({a.runs} interleaved rounds, medians) | wall |", "|---|---|",
            f"| with the three PNG overlays | {m1:.3f} s |", f"| `--no-png` | {m0:.3f} s |",
            f"| rendering share | **{100 * result['rendering_share']:.1f} %** |"]))

if __name__ == "__main__":
    main()
