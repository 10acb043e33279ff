"""Where the truth's lesion volume goes in the automatic segmentation, per phantom spec.

For each phantom of the sweep (`phantom_sweep.py`'s specs and grid), `htb analyze --save-masks`
and, voxel by voxel against the exact truth:
- the truth's lesion volume split into found (automatic lesion), missed inside the automatic liver
  (liver, not lesion) and missed outside it (the liver outline left it out);
- the false lesion volume (automatic lesion, truth not lesion), as a share of the truth's lesion
  volume;
- the automatic whole liver against the truth's;
- the signed HTB error (automatic - truth, points) and its two parts: the lesion volume's,
  (lesion_auto - lesion_truth) / liver_truth, and the liver volume's, the rest.

It says which error dominates the HTB bias, so a change to the segmentation can be aimed at it.
Phantoms only: their truth is exact and on the CT's grid. Needs numpy and SimpleITK
(`sh scripts/setup --bench-peers`).

    python3 Benchmarks/lesion_budget.py [--seeds 6] [--first-seed 1] [--specs low,stomach]
        [--htb .build/release/htb] [--json OUT] [--write-docs]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import phantom_sweep  # noqa: E402  (the specs and grid of the sweep)

root = os.path.dirname(here)


def labels(path):
    import SimpleITK as sitk
    return sitk.GetArrayFromImage(sitk.ReadImage(path))


def budget(truth, auto):
    """Voxel counts of one result: truth and automatic labels (0 outside, 1 liver, 2 lesion)."""
    t_lesion, a_lesion = truth == 2, auto == 2
    counts = {
        "truth_lesion": int(t_lesion.sum()),
        "found": int((t_lesion & a_lesion).sum()),
        "missed_in_liver": int((t_lesion & (auto == 1)).sum()),
        "missed_outside_liver": int((t_lesion & (auto == 0)).sum()),
        "false_lesion": int((a_lesion & ~t_lesion).sum()),
        "auto_lesion": int(a_lesion.sum()),
        "truth_liver": int((truth >= 1).sum()),
        "auto_liver": int((auto >= 1).sum()),
    }
    lt, la, vt, va = counts["truth_lesion"], counts["auto_lesion"], counts["truth_liver"], counts["auto_liver"]
    htb_t = 100 * lt / vt if vt else 0.0
    htb_a = 100 * la / va if va else 0.0
    counts["htb_error_points"] = htb_a - htb_t
    # The lesion volume's part (at the truth's liver volume) and the liver volume's part.
    counts["htb_error_from_lesions"] = 100 * (la - lt) / vt if vt else 0.0
    counts["htb_error_from_liver"] = counts["htb_error_points"] - counts["htb_error_from_lesions"]
    return counts


def summary(rows):
    tl = sum(r["truth_lesion"] for r in rows)
    share = lambda k: sum(r[k] for r in rows) / tl if tl else 0.0
    med = lambda k: statistics.median(r[k] for r in rows)
    return {
        "results": len(rows),
        "truth_lesion_ml": round(sum(r["truth_lesion_ml"] for r in rows), 1),
        "found_share": round(share("found"), 3),
        "missed_in_liver_share": round(share("missed_in_liver"), 3),
        "missed_outside_liver_share": round(share("missed_outside_liver"), 3),
        "false_lesion_share": round(share("false_lesion"), 3),
        "liver_volume_ratio": round(sum(r["auto_liver"] for r in rows) / sum(r["truth_liver"] for r in rows), 3),
        "htb_error_median": round(med("htb_error_points"), 2),
        "htb_error_from_lesions_median": round(med("htb_error_from_lesions"), 2),
        "htb_error_from_liver_median": round(med("htb_error_from_liver"), 2),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--specs", help="comma-separated spec names (default: all of phantom_sweep.py's)")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    phantom_sweep.add_grid_argument(ap)
    ap.add_argument("--json")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    a = ap.parse_args()
    try:
        import numpy, SimpleITK  # noqa: F401
    except ImportError as e:
        sys.exit(f"lesion_budget.py needs numpy and SimpleITK ({e}): sh scripts/setup --bench-peers")
    specs = {k: v for k, v in phantom_sweep.SPECS.items() if not a.specs or k in a.specs.split(",")}
    work = tempfile.mkdtemp(prefix="htb-lesion-budget-")
    rows = []
    try:
        for name, spec in specs.items():
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                study, out = os.path.join(work, f"{name}{seed}"), os.path.join(work, f"{name}{seed}-auto")
                phantom_sweep.synth(a.htb, study, spec, seed, a.grid)
                p = subprocess.run([a.htb, "analyze", study, "--out", out, "--save-masks", "--no-png"],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"htb analyze {study} failed ({p.returncode}): {p.stderr}")
                truth, auto = labels(os.path.join(study, "truth/labels.nii.gz")), labels(os.path.join(out, "labels.nii.gz"))
                if truth.shape != auto.shape:
                    sys.exit(f"{name}{seed}: truth {truth.shape} and automatic {auto.shape} labels differ in shape")
                r = budget(truth, auto)
                r["truth_lesion_ml"] = json.load(open(os.path.join(study, "truth.json")))["lesion_volume_ml"]
                r["name"], r["spec"] = f"{name}{seed}", name
                rows.append(r)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    groups = {s: [r for r in rows if r["spec"] == s] for s in specs}
    groups["all"] = rows
    md = ["| spec | results | truth lesion, mL | found | missed inside the liver | missed outside the liver | "
          "false lesion | liver volume auto / truth | signed HTB error median (lesion part, liver part) |",
          "|---|---|---|---|---|---|---|---|---|"]
    sums = {}
    for s, rs in groups.items():
        m = sums[s] = summary(rs)
        md.append(f"| {s} | {m['results']} | {m['truth_lesion_ml']:.0f} | {m['found_share']:.2f} | "
                  f"{m['missed_in_liver_share']:.2f} | {m['missed_outside_liver_share']:.2f} | "
                  f"{m['false_lesion_share']:.2f} | {m['liver_volume_ratio']:.3f} | "
                  f"{m['htb_error_median']:+.2f} ({m['htb_error_from_lesions_median']:+.2f}, "
                  f"{m['htb_error_from_liver_median']:+.2f}) |")
    md.append("")
    md.append("Shares are of the truth's lesion volume, pooled over the spec's results (found + missed inside + "
              "missed outside = 1; the false lesion volume comes on top). The signed HTB error is automatic minus "
              "truth; its lesion part is (lesion_auto - lesion_truth) / liver_truth, its liver part the rest.")
    print("\n".join(md))
    import docs_section
    docs_section.finish(a, phantom_sweep.section("lesion_budget", a.grid), "\n".join(md), {"cases": rows, "summary": sums})


if __name__ == "__main__":
    main()
