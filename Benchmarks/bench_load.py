#!/usr/bin/env python3
"""Series loading: htb against dcm2niix on the same folder, in the same run.

Both read every slice of the 3D-IRCADb-01 patient 17 CT (119 x 512 x 512, uncompressed) and write
an uncompressed NIfTI-1 file: `htb convert` and `dcm2niix -z n`. Runs are interleaved (A B A B ...)
so that load from other users of the machine hits both alike; the figure to quote is the ratio of
medians, never an absolute time (shared machines are noisy).

With --enhanced the series is first converted into one Legacy Converted Enhanced CT object
(Tests/peers/make_enhanced_ct.py, highdicom) and both tools read that instead.

usage: Benchmarks/bench_load.py [--runs N] [--htb PATH] [--study DIR] [--enhanced]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

def timed(cmd):
    """Wall seconds and CPU seconds (user + system) of one run."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    ap.add_argument("--study", default=None)
    ap.add_argument("--enhanced", action="store_true", help="read the series as one Enhanced CT object")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    a = ap.parse_args()
    study = a.study
    if study is None:
        data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True, capture_output=True, text=True).stdout.strip()
        study = os.path.join(data, "3Dircadb1.17/PATIENT_DICOM")
    if not shutil.which("dcm2niix"):
        sys.exit("dcm2niix is not installed (apt-get install dcm2niix)")
    # Output on tmpfs when there is one: disk write-back is the noisiest part on shared machines.
    out = tempfile.mkdtemp(prefix="htb-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    if a.enhanced:
        converted = os.path.join(out, "enhanced")
        os.makedirs(converted)
        subprocess.run([sys.executable, os.path.join(root, "Tests/peers/make_enhanced_ct.py"), study,
                        os.path.join(converted, "ct.dcm")], check=True, capture_output=True)
        study = converted
    htb_cmd = [a.htb, "convert", study, "--out", os.path.join(out, "htb.nii")]
    d2n_cmd = ["dcm2niix", "-z", "n", "-b", "n", "-f", "d2n", "-o", out, study]
    # Warm the page cache and check both work.
    timed(htb_cmd); timed(d2n_cmd)
    htb, d2n = [], []
    for _ in range(a.runs):
        htb.append(timed(htb_cmd))
        d2n.append(timed(d2n_cmd))
    shutil.rmtree(out)
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    result = {
        "benchmark": "load 119-slice CT series and write NIfTI" + (" (one Enhanced CT object)" if a.enhanced else ""),
        "study": study, "runs": a.runs, "cores": os.cpu_count(),
        "htb_median_wall_s": round(med(htb, 0), 4),
        "dcm2niix_median_wall_s": round(med(d2n, 0), 4),
        "wall_ratio_htb_over_dcm2niix": round(med(htb, 0) / med(d2n, 0), 3),
        "htb_median_cpu_s": round(med(htb, 1), 4),
        "dcm2niix_median_cpu_s": round(med(d2n, 1), 4),
    }
    print(json.dumps(result, indent=2))
    if a.write_docs:
        import docs_section
        docs_section.write("bench_load_enhanced" if a.enhanced else "bench_load", "\n".join([
            "| step | htb convert | dcm2niix -z n | ratio htb / dcm2niix |", "|---|---|---|---|",
            f"| wall, median of {a.runs} interleaved pairs | {result['htb_median_wall_s']:.3f} s | {result['dcm2niix_median_wall_s']:.3f} s | **{result['wall_ratio_htb_over_dcm2niix']:.3f}** |",
            f"| CPU (user + system) | {result['htb_median_cpu_s']:.3f} s | {result['dcm2niix_median_cpu_s']:.3f} s | {result['htb_median_cpu_s'] / result['dcm2niix_median_cpu_s']:.3f} |"]))

if __name__ == "__main__":
    main()
