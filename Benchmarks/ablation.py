#!/usr/bin/env python3
"""Ablation of the automatic segmentation's stages (issue 20: "measure an ablation table (each
stage switched off, every case and the phantom sweep) and remove stages that do not earn their
keep across all of them").

Builds the phantom sweep's cases once (every spec of `phantom_sweep.py`, seeds 1..N), adds the
three real annotated studies when ../shared/data is there, and judges them all with `htb qa
--json`, first with every stage and then with each stage of `htb qa --without-stage` switched off
in turn. Prints a Markdown table: per variant, how many results meet the per-study targets
(phantom_sweep.meets), the medians of liver Dice, lesion Dice and HTB error, and on how many cases
switching the stage off made a figure worse or better by more than noise (liver Dice 0.005,
lesion Dice 0.02, HTB error 0.2 points). A stage that makes no case worse when off does not earn
its keep. An accuracy benchmark: no timing.

`--lesion-margin-mm M` and `--necrotic-lesions` draw every phantom's lesions with graded margins or
necrotic centres, as in `phantom_sweep.py`: a stage written for one lesion model (`graded_margin`,
`necrotic_lesions`) is judged on it, and every other stage on it too (docs sections `ablation_graded`
and `ablation_necrotic`).

usage: Benchmarks/ablation.py [--seeds N] [--htb PATH] [--grid coarse|fine] [--lesion-margin-mm M] [--necrotic-lesions] [--stages a,b,...] [--json OUT]
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
import phantom_sweep  # noqa: E402  (the specs, the common options and the targets)

def stages(htb):
    """Every stage `htb qa --without-stage` can switch off, as its help lists them (no list here
    to drift from the code's)."""
    text = subprocess.run([htb, "qa", "--help"], capture_output=True, text=True, check=True).stdout
    part = text.split("--without-stage", 1)[1].split("(repeatable):", 1)[1].split("\n  --", 1)[0]
    return [s.strip().rstrip(".") for s in " ".join(part.split()).split(",") if s.strip()]


NOISE = {"liver": 0.005, "lesion": 0.02, "htb": 0.2}


def real_cases():
    data = os.path.join(root, "..", "shared", "data")
    if not os.path.exists(os.path.join(data, "unpack.sh")):
        print("../shared/data is absent: phantoms only", file=sys.stderr)
        return []
    d = subprocess.run(["bash", os.path.join(data, "unpack.sh")], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    h = os.path.join(d, "HCC-TACE-Seg")
    return [
        {"name": "real-ircadb17", "study": f"{d}/3Dircadb1.17/PATIENT_DICOM", "truth_liver": [f"{d}/3Dircadb1.17/MASKS_DICOM/liver"],
         "truth_lesions": [f"{d}/3Dircadb1.17/MASKS_DICOM/livertumor1", f"{d}/3Dircadb1.17/MASKS_DICOM/livertumor2"]},
        {"name": "real-hcc1720", "study": f"{h}/1720", "truth_liver": [f"{h}/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
         "truth_lesions": [f"{h}/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]},
        {"name": "real-hcc0697", "study": f"{h}/0697", "truth_liver": [f"{h}/0697/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
         "truth_lesions": [f"{h}/0697/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]},
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    phantom_sweep.add_grid_argument(ap)
    ap.add_argument("--stages", help="comma-separated stages to switch off (default: every stage htb lists)")
    ap.add_argument("--lesion-margin-mm", type=float, help="every phantom's lesions with graded margins (htb synth --lesion-margin-mm)")
    ap.add_argument("--necrotic-lesions", action="store_true", help="every lesion of 2 cm or more with a necrotic centre")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--json")
    a = ap.parse_args()
    a.stages = a.stages or ",".join(stages(a.htb))
    work = tempfile.mkdtemp(prefix="htb-ablation-")
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # phantoms and outputs go when the run ends
    cases = []
    model = ""
    if a.lesion_margin_mm is not None:
        model += f" --lesion-margin-mm {a.lesion_margin_mm:g}"
    if a.necrotic_lesions:
        model += " --necrotic-lesions"
    for name, spec in phantom_sweep.SPECS.items():
        spec += model
        for seed in range(1, a.seeds + 1):
            out = os.path.join(work, f"{name}{seed}")
            phantom_sweep.synth(a.htb, out, spec, seed, a.grid)
            seg = os.path.join(out, "truth/seg.dcm")
            cases.append({"name": f"{name}{seed}", "study": out, "truth_liver": [seg + ":Liver"], "truth_lesions": [seg + ":Lesion*"]})
    cases += real_cases()
    manifest = os.path.join(work, "cases.json")
    with open(manifest, "w") as f:
        json.dump({"cases": cases}, f)

    def judge(stage):
        extra = ["--without-stage", stage] if stage else []
        p = subprocess.run([a.htb, "qa", "--manifest", manifest, "--json"] + extra, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"htb qa failed ({p.returncode}): {p.stderr}")
        return {r["name"]: r for r in json.loads(p.stdout)}

    base = judge(None)
    variants = [("all stages", base)] + [(f"without {s}", judge(s)) for s in a.stages.split(",") if s]
    md = [f"{len(base)} cases: {a.seeds} seeds of {len(phantom_sweep.SPECS)} phantom specs"
          + (f" and {len(base) - a.seeds * len(phantom_sweep.SPECS)} real studies" if len(base) > a.seeds * len(phantom_sweep.SPECS) else ""), "",
          "| variant | results meeting the targets | liver Dice median | lesion Dice median | HTB error median | cases worse | cases better |",
          "|---|---|---|---|---|---|---|"]
    for line in md:
        print(line)
    table = []
    for label, rows in variants:
        worse, better = [], []
        for n, r in rows.items():
            b = base[n]
            dl = r["liver"]["dice"] - b["liver"]["dice"]
            ds = r["lesions"]["dice"] - b["lesions"]["dice"]
            de = r["htb_absolute_error_points"] - b["htb_absolute_error_points"]
            if dl < -NOISE["liver"] or ds < -NOISE["lesion"] or de > NOISE["htb"]:
                worse.append(n)
            elif dl > NOISE["liver"] or ds > NOISE["lesion"] or de < -NOISE["htb"]:
                better.append(n)
        rs = list(rows.values())
        row = {
            "variant": label, "meeting": sum(phantom_sweep.meets(r) for r in rs), "cases": len(rs),
            "liver_dice_median": round(statistics.median(r["liver"]["dice"] for r in rs), 3),
            "lesion_dice_median": round(statistics.median(r["lesions"]["dice"] for r in rs), 3),
            "htb_error_median": round(statistics.median(r["htb_absolute_error_points"] for r in rs), 2),
            "worse": sorted(worse), "better": sorted(better),
        }
        table.append(row)
        md.append(f"| {label} | {row['meeting']} / {row['cases']} | {row['liver_dice_median']:.3f} | {row['lesion_dice_median']:.3f} | "
                  f"{row['htb_error_median']:.2f} | {len(worse)}: {' '.join(row['worse'][:8])}{' ...' if len(worse) > 8 else ''} | "
                  f"{len(better)}: {' '.join(row['better'][:8])}{' ...' if len(better) > 8 else ''} |")
        print(md[-1], flush=True)
    import docs_section
    section = "ablation" + ("_graded" if a.lesion_margin_mm is not None else "") + ("_necrotic" if a.necrotic_lesions else "")
    docs_section.finish(a, phantom_sweep.section(section, a.grid), "\n".join(md), {"variants": table, "cases": {label: rows for label, rows in variants}})


if __name__ == "__main__":
    main()
