#!/usr/bin/env python3
"""Cost of the DICOM results: `htb analyze` with and without `--dicom-out`, interleaved, same run.

Expert masks on 3D-IRCADb-01 patient 17 (512 x 512 x 119), PNG overlays on in both (the Secondary
Capture pictures reuse the rendered overlays). The added share is the median over rounds of the
paired difference (with - without, same round) over the median without, for wall time and for
CPU time (user + system); pairing cancels the drift of a shared machine. Issue 22's target is
<= 10 %. A third command adds --seg-per-lesion.

usage: Benchmarks/bench_dicom_out.py [--runs N] [--htb PATH] [--write-docs]
"""
import argparse, json, os, shutil, statistics, subprocess, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)


def timed(cmd):
    """(wall, CPU) seconds of one run of cmd."""
    c0, t = os.times(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, c1 = time.perf_counter() - t, os.times()
    return wall, (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)


def share(with_, without, i):
    """Median paired difference over the median without, for wall (i=0) or CPU (i=1) time."""
    return statistics.median(w[i] - o[i] for w, o in zip(with_, without)) / statistics.median(o[i] for o in without)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    a = ap.parse_args()
    data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()
    case = os.path.join(data, "3Dircadb1.17")
    work = tempfile.mkdtemp(prefix="htb-bench-dicom-")
    base = [a.htb, "analyze", case + "/PATIENT_DICOM", "--liver-mask", case + "/MASKS_DICOM/liver",
            "--lesion-mask", case + "/MASKS_DICOM/livertumor1", "--lesion-mask", case + "/MASKS_DICOM/livertumor2",
            "--out", work + "/out"]
    dicom = base + ["--dicom-out", work + "/dicom"]
    per_lesion = dicom + ["--seg-per-lesion"]
    for c in (base, dicom, per_lesion):
        timed(c)
    t0, t1, t2 = [], [], []
    for _ in range(a.runs):
        t0.append(timed(base))
        t1.append(timed(dicom))
        t2.append(timed(per_lesion))
    m0, m1, m2 = (statistics.median(x[0] for x in t) for t in (t0, t1, t2))
    c0, c1, c2 = (statistics.median(x[1] for x in t) for t in (t0, t1, t2))
    sizes = {f: os.path.getsize(os.path.join(work, "dicom", f)) for f in sorted(os.listdir(work + "/dicom"))}
    result = {
        "benchmark": "DICOM results (SEG, SR, Secondary Capture) added to htb analyze, expert masks, 3D-IRCADb-01 patient 17",
        "runs": a.runs, "cores": os.cpu_count(),
        "median_wall_s": {"analyze": round(m0, 4), "dicom_out": round(m1, 4), "seg_per_lesion": round(m2, 4)},
        "median_cpu_s": {"analyze": round(c0, 4), "dicom_out": round(c1, 4), "seg_per_lesion": round(c2, 4)},
        "added_share_wall": round(share(t1, t0, 0), 3), "added_share_cpu": round(share(t1, t0, 1), 3),
        "added_share_wall_seg_per_lesion": round(share(t2, t0, 0), 3),
        "added_share_cpu_seg_per_lesion": round(share(t2, t0, 1), 3),
        "bytes": sizes,
    }
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    if a.write_docs:
        import docs_section
        docs_section.write("bench_dicom_out", "\n".join([
            f"| `htb analyze`, expert masks, PNGs on ({a.runs} interleaved rounds) | median wall | added wall | median CPU | added CPU |",
            "|---|---|---|---|---|",
            f"| without DICOM results | {m0:.3f} s | | {c0:.3f} s | |",
            f"| `--dicom-out DIR` (SEG, SR, 3 Secondary Capture) | {m1:.3f} s | **{100 * result['added_share_wall']:+.1f} %** | {c1:.3f} s | {100 * result['added_share_cpu']:+.1f} % |",
            f"| `--dicom-out DIR --seg-per-lesion` | {m2:.3f} s | {100 * result['added_share_wall_seg_per_lesion']:+.1f} % | {c2:.3f} s | {100 * result['added_share_cpu_seg_per_lesion']:+.1f} % |",
            "",
            "Added = median of the paired (same round) differences over the median without.",
            f"Sizes: {', '.join(f'{k} {v / 1e6:.2f} MB' for k, v in sizes.items())}."]))


if __name__ == "__main__":
    main()
