#!/usr/bin/env python3
"""Batch throughput: `htb batch` against calling `htb analyze` once per study, same tree, same run.

The tree holds copies of the sample phantoms regenerated with other seeds (htb synth), each with
its truth SEG inside the study (the batch convention finds it). Both ways write reports and
overlays. Quote the ratio of studies per minute; absolute figures depend on the machine's load.

usage: Benchmarks/bench_batch.py [--studies N] [--htb PATH]
"""
import argparse, json, os, shutil, subprocess, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", type=int, default=12)
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="htb-bench-batch-")
    tree = os.path.join(work, "tree")
    for n in range(a.studies):
        subprocess.run([a.htb, "synth", "--out", os.path.join(tree, f"study{n:03d}"), "--seed", str(100 + n), "--htb", str(10 + 6 * (n % 12)),
                        "--lesions", "6", "--matrix", "128", "--slices", "40", "--pixel-mm", "2.8", "--slice-mm", "5"],
                       check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run([a.htb, "batch", tree, "--out", os.path.join(work, "batch"), "--jobs", "2", "--quiet"], check=True)
    batch_s = time.perf_counter() - t
    t = time.perf_counter()
    for n in range(a.studies):
        s = os.path.join(tree, f"study{n:03d}")
        subprocess.run([a.htb, "analyze", s, "--liver-mask", s + "/truth/seg.dcm:Liver", "--lesion-mask", s + "/truth/seg.dcm:Lesion*",
                        "--out", os.path.join(work, "single", f"{n}")], check=True, stdout=subprocess.DEVNULL)
    single_s = time.perf_counter() - t
    shutil.rmtree(work)
    result = {
        "benchmark": "studies per minute, 128x128x40 phantoms with truth SEG, reports + overlays",
        "studies": a.studies, "cores": os.cpu_count(),
        "batch_studies_per_min": round(a.studies / batch_s * 60, 1),
        "analyze_per_study_studies_per_min": round(a.studies / single_s * 60, 1),
        "ratio_batch_over_per_study": round(single_s / batch_s, 2),
    }
    print(json.dumps(result, indent=2))
    if a.write_docs:
        import docs_section
        docs_section.write("bench_batch", "\n".join([
            f"| {a.studies} phantom studies (128 x 128 x 40, truth SEG inside), reports and overlays | studies per minute |", "|---|---|",
            f"| `htb batch` | {result['batch_studies_per_min']} |", f"| one `htb analyze` per study | {result['analyze_per_study_studies_per_min']} |",
            f"| ratio | **{result['ratio_batch_over_per_study']}** |"]))

if __name__ == "__main__":
    main()
