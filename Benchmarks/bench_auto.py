#!/usr/bin/env python3
"""Automatic analysis speed and memory (issue 4) and the overlays' share of it (issue 6).

On 3D-IRCADb-01 patient 17 (512 x 512 x 119), interleaved in one run, N times each:
  A  htb analyze STUDY (automatic liver and lesions, report, PNG overlays)   - the whole analysis
  B  htb analyze STUDY --no-png                                              - without rendering
  P  Benchmarks/sitk_peer.py STUDY (SimpleITK doing the same steps, NIfTI out)
Wall time is the median; peak memory is each process's maximum resident set (wait4). Targets:
A within 3 s and peak memory within 6x the CT's 16-bit size; rendering share (median of paired A - B) / A <= 10 %.
The ratio A / P is the machine-independent figure to quote.

usage: Benchmarks/bench_auto.py [--runs N] [--htb PATH]   (needs ../shared/data and SimpleITK)
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def run(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    a = ap.parse_args()
    data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True, capture_output=True, text=True).stdout.strip()
    study = os.path.join(data, "3Dircadb1.17", "PATIENT_DICOM")
    out = tempfile.mkdtemp(prefix="htb-bench-auto-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)  # phantoms and outputs go when the run ends
    cmds = {
        "htb": [a.htb, "analyze", study, "--out", out + "/a"],
        "htb_no_png": [a.htb, "analyze", study, "--out", out + "/b", "--no-png"],
        "simpleitk": [sys.executable, os.path.join(here, "sitk_peer.py"), study, out + "/peer.nii.gz"],
    }
    for c in cmds.values():
        run(c)  # warm the page cache and imports
    wall = {k: [] for k in cmds}
    rss = {k: 0 for k in cmds}
    for _ in range(a.runs):
        for k, c in cmds.items():
            w, m = run(c)
            wall[k].append(w)
            rss[k] = max(rss[k], m)
    med = {k: statistics.median(v) for k, v in wall.items()}
    ct_bytes = 512 * 512 * 119 * 2
    with open(out + "/a/report.json") as f:
        report = json.load(f)
    result = {
        "benchmark": "automatic analysis of 3D-IRCADb-01 patient 17 (512x512x119), interleaved",
        "runs": a.runs, "cores": os.cpu_count(),
        "median_wall_s": {k: round(v, 3) for k, v in med.items()},
        "segmentation_s_in_report": report["automatic"]["seconds"],
        "ratio_htb_to_simpleitk": round(med["htb"] / med["simpleitk"], 3),
        # Paired (same iteration) differences: less noisy than a difference of medians.
        "rendering_s_paired_median": round(statistics.median(a - b for a, b in zip(wall["htb"], wall["htb_no_png"])), 3),
        "rendering_share": round(statistics.median(a - b for a, b in zip(wall["htb"], wall["htb_no_png"])) / med["htb"], 3),
        "peak_rss_mb": {k: round(v / 2**20, 1) for k, v in rss.items()},
        "htb_peak_rss_over_ct16": round(rss["htb"] / ct_bytes, 2),
        "targets": {"htb_wall_s_max": 3.0, "peak_rss_over_ct16_max": 6.0, "rendering_share_max": 0.10},
    }
    print(json.dumps(result, indent=2))
    if a.write_docs:
        import docs_section
        w, r = result["median_wall_s"], result["peak_rss_mb"]
        docs_section.write("bench_auto", "\n".join([
            f"| run ({a.runs} interleaved rounds, medians) | wall | peak RSS | ratio to SimpleITK |", "|---|---|---|---|",
            f"| `htb analyze` (automatic, {report['automatic']['method']}, report and PNGs) | {w['htb']:.2f} s (segmentation {result['segmentation_s_in_report']:.2f} s) | {r['htb']:.0f} MB = {result['htb_peak_rss_over_ct16']:.2f}x the CT | **{result['ratio_htb_to_simpleitk']:.3f}** |",
            f"| `htb analyze --no-png` | {w['htb_no_png']:.2f} s | {r['htb_no_png']:.0f} MB | {w['htb_no_png'] / w['simpleitk']:.3f} |",
            f"| SimpleITK peer (`Benchmarks/sitk_peer.py`) | {w['simpleitk']:.2f} s | {r['simpleitk']:.0f} MB | 1 |",
            "",
            f"Rendering share (paired): {100 * result['rendering_share']:.1f} %. Targets: wall <= 3 s, peak RSS <= 6x the CT's 16-bit size, rendering <= 10 %."]))


if __name__ == "__main__":
    main()
