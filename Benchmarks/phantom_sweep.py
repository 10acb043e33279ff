#!/usr/bin/env python3
"""Accuracy of the automatic segmentation across phantom realisations (issue 4: "choose methods
that generalise").

The three sample specs (phantom-htb-low / -mid / -high: the same commands as SampleStudies/, only
the seed changes) are built for seeds 1..N with `htb synth`, and `htb qa --manifest` judges the
automatic liver and lesions against each phantom's truth. The committed samples are seeds 1, 2
and 3 of these specs; the other seeds show whether a figure is the method's or one realisation's.
Prints Markdown tables: one row per case (with whether it meets the per-study targets of issue 20
and whether htb's review flag fired, with its reasons); per spec, the median and worst liver Dice,
median lesion Dice, median and worst HTB error and the category agreement; and how often the
review flag fired on results that miss a target and on those that meet all, per seed group (1-3:
most limits chosen on them; 4-6 and 7-24: held out but seen for one or two limits; 25-48: seen
for one rule; 49 and up: never seen). `--json` writes them too. An accuracy
benchmark: no timing.

The specs after the first three are the failure classes of issue 20 (irregular lesions, a spleen
or stomach touching the left lobe, the delayed phase, a fatty liver, lesions at the dome, the
heart under the lungs), made with `htb synth`'s options for them.
`--lesion-margin-mm M` draws every spec's lesions with graded margins (fading over their outer M
mm, as real metastases do; Benchmarks/expert_edges.py): a measurement of the lesion model's
effect, never written into the docs' sweep tables. `--necrotic-lesions` likewise draws every lesion of
2 cm or more with a necrotic centre (htb synth --necrotic-lesions).

usage: Benchmarks/phantom_sweep.py [--seeds N] [--first-seed K] [--synth PATH] [--specs low,mid,...] [--grid coarse|fine] [--lesion-margin-mm M] [--necrotic-lesions] [--htb PATH] [--json OUT]
"""
import argparse, atexit, json, os, shutil, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

SPECS = {
    "low": "--lesions 6 --htb 20 --enhancement mixed --phase portal",
    "mid": "--lesions 40 --htb 62 --enhancement hyper --phase arterial",
    "high": "--lesions 5 --htb 85 --enhancement hypo --phase portal",
    # Failure classes of issue 20 (phantom options off by default; see README, Phantoms):
    # irregular hypodense metastases, several in the left lobe (the portal-venous study it missed);
    "irregular": "--lesions 8 --htb 8 --enhancement hypo --phase portal --lesion-shape irregular --left-lobe-lesions 3",
    # an arterial-phase HCC liver whose left lobe touches a nearly isodense spleen;
    "spleen": "--lesions 3 --htb 3 --enhancement hyper --phase arterial --spleen-contact",
    # the stomach's wall, at the liver's density, lying on the left lobe;
    "stomach": "--lesions 4 --htb 12 --enhancement mixed --phase portal --stomach-contact",
    # the delayed phase: the heart's wall at the parenchyma's density, hyper-enhancing lesions washed out.
    "delayed": "--lesions 4 --htb 6 --enhancement mixed --phase delayed",
    # a fatty liver (steatosis, common after chemotherapy): parenchyma 30 HU darker, near the
    # abdominal wall's density, with vessels and lesions unchanged (hypodense ones lose half their contrast).
    "fatty": "--lesions 6 --htb 20 --enhancement mixed --phase portal --steatosis-hu 30",
    # lesions under the dome, bulging the liver's surface under the diaphragm, the lung bases above
    # (IRCADb 17's 85 mL metastasis at the dome, where most of the lesion faces the lung).
    "dome": "--lesions 4 --htb 8 --enhancement mixed --phase portal --lungs --dome-lesions 2",
    # the delayed phase with the lung bases (the delayed study, whose liver ran up into the
    # heart): the heart, at the parenchyma's density, rests on the dome with lung around it, and
    # the diaphragm (5 mm of muscle) lies over the liver, the stomach and the spleen.
    "heart": "--lesions 4 --htb 6 --enhancement mixed --phase delayed --lungs",
    # two phases of one session (item 6 of issue 20): HCC-like lesions washed out in the delayed
    # phase that is measured, bright in its arterial phase, taken in another breath-hold (the
    # anatomy 6 mm higher), as HCC 1720's two phases are.
    "phases": "--lesions 3 --htb 5 --enhancement hyper --phase delayed --lungs --sibling-phase arterial --sibling-shift-mm 6",
}
# Two phases of one session (`--two-phase`, a measurement, not the sweep): the measured series with
# another phase beside it, some taken in another breath-hold (the anatomy higher or lower), where
# the other phase shows lesions the measured one hides or shows blood where the measured one
# shows parenchyma (docs/segmentation.md, OtherPhases).
TWO_PHASE_SPECS = {
    "hcc": "--lesions 3 --htb 5 --enhancement hyper --phase delayed --sibling-phase arterial --lungs --sibling-shift-mm 6",
    "nelm": "--lesions 6 --htb 15 --enhancement mixed --phase portal --sibling-phase arterial",
    "nelmshift": "--lesions 6 --htb 15 --enhancement mixed --phase portal --sibling-phase arterial --lungs --sibling-shift-mm=-8",
    "heart2": "--lesions 4 --htb 6 --enhancement mixed --phase delayed --lungs --sibling-phase arterial --sibling-shift-mm 5",
    "hypo2": "--lesions 5 --htb 10 --enhancement hypo --phase portal --sibling-phase arterial --lungs --sibling-shift-mm 7",
    "spleen2": "--lesions 3 --htb 3 --enhancement hyper --phase arterial --spleen-contact --sibling-phase portal",
}
# The grids (`--grid`). coarse: the sweep's own (2.8 mm pixels, 5 mm slices), where every limit was
# set. fine: the same 360 x 360 x 200 mm field on a CT's grid (0.94 mm pixels, 2.5 mm slices),
# with per-voxel noise chosen so that the segmentation's working grid (2 x 2 blocks, 1.9 mm) shows
# the parenchyma's robust SD of the three real studies (6.6-8.2 HU; 25 HU gives 7.2): the pixel
# size real studies come in, never looked at while a limit was set.
GRIDS = {
    "coarse": "--matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --noise-hu 12",
    "fine": "--matrix 384 --slices 80 --slice-mm 2.5 --pixel-mm 0.94 --noise-hu 25",
}


def add_grid_argument(ap):
    """`--grid`, for this benchmark and the others that build its phantoms."""
    ap.add_argument("--grid", choices=sorted(GRIDS), default="coarse", help="the phantoms' grid (default: coarse)")


def section(name, grid):
    """The docs/benchmarks.md section a benchmark writes on `grid`: `name` on the coarse grid,
    `name_GRID` on another."""
    return name if grid == "coarse" else f"{name}_{grid}"


def synth(htb, out, spec, seed, grid="coarse"):
    """Builds the phantom of one spec (a SPECS value) and seed at `out`, on one of `GRIDS`."""
    subprocess.run([htb, "synth", "--out", out, "--seed", str(seed)] + GRIDS[grid].split() + spec.split(),
                   check=True, stdout=subprocess.DEVNULL)


def failed_row(name, truth, error):
    """The row of a case `htb qa` could not segment: nothing measured (Dice 0, HTB 0 %), the error
    kept; it counts as a miss the pipeline was told of (flagged)."""
    empty = {"dice": 0.0, "predicted_volume_ml": 0.0}
    return {"name": name, "error": error, "liver": dict(empty, truth_volume_ml=truth["liver_volume_ml"]),
            "lesions": dict(empty, truth_volume_ml=truth["lesion_volume_ml"]),
            "htb_predicted_percent": 0.0, "htb_truth_percent": truth["htb_percent"],
            "htb_absolute_error_points": truth["htb_percent"], "category_agrees": False,
            # Nothing found; the truth's lesions of 10 mm or more (a 10 mm ball: 0.52 mL) missed.
            "detection_10mm": {"true_positives": 0, "detected": 0, "predicted_lesions": 0,
                               "truth_lesions": sum(v >= 0.52 for v in truth["lesion_volumes_ml"])},
            "automatic": {"review_needed": True, "review_reasons": [{"code": "no_liver_found", "detail": error}]}}


def meets(r):
    """The per-study targets of issue 20: liver Dice >= 0.92, lesion Dice >= 0.60 where the truth's
    lesions total >= 5 mL, HTB error <= 2 points, category right."""
    return (r["liver"]["dice"] >= 0.92 and (r["lesions"]["truth_volume_ml"] < 5 or r["lesions"]["dice"] >= 0.60)
            and r["htb_absolute_error_points"] <= 2 and r["category_agrees"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--first-seed", type=int, default=1, help="seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    ap.add_argument("--synth", help="htb binary that builds the phantoms (default: --htb), to judge an older htb on new specs")
    ap.add_argument("--specs", help="comma-separated spec names (default: all)")
    add_grid_argument(ap)
    ap.add_argument("--lesion-margin-mm", type=float,
                    help="every phantom's lesions with graded margins (htb synth --lesion-margin-mm): a measurement, not the sweep")
    ap.add_argument("--necrotic-lesions", action="store_true",
                    help="every lesion of 2 cm or more with a necrotic centre (htb synth --necrotic-lesions): a measurement, not the sweep")
    ap.add_argument("--two-phase", action="store_true",
                    help="the two-phase specs (TWO_PHASE_SPECS) instead of the sweep's: a measurement, not the sweep")
    ap.add_argument("--write-docs", action="store_true", help="write the summary tables into docs/benchmarks.md")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.two_phase and a.write_docs:
        sys.exit("--two-phase measures other specs; the documented sweep is SPECS (no --write-docs)")
    if (a.lesion_margin_mm is not None or a.necrotic_lesions) and a.write_docs:
        sys.exit("--lesion-margin-mm and --necrotic-lesions measure another lesion model; the documented sweep is the sharp one (no --write-docs)")
    specs = {k: v for k, v in (TWO_PHASE_SPECS if a.two_phase else SPECS).items() if not a.specs or k in a.specs.split(",")}
    if a.lesion_margin_mm is not None:
        specs = {k: f"{v} --lesion-margin-mm {a.lesion_margin_mm:g}" for k, v in specs.items()}
    if a.necrotic_lesions:
        specs = {k: f"{v} --necrotic-lesions" for k, v in specs.items()}
    work = tempfile.mkdtemp(prefix="htb-phantom-sweep-")
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # phantoms and outputs go when the run ends
    cases = []
    for name, spec in specs.items():
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            out = os.path.join(work, f"{name}{seed}")
            synth(a.synth or a.htb, out, spec, seed, a.grid)
            seg = os.path.join(out, "truth/seg.dcm")
            cases.append({"name": f"{name}{seed}", "study": out, "truth_liver": [seg + ":Liver"], "truth_lesions": [seg + ":Lesion*"]})
    manifest = os.path.join(work, "cases.json")
    with open(manifest, "w") as f:
        json.dump({"cases": cases}, f)
    p = subprocess.run([a.htb, "qa", "--manifest", manifest, "--json"], capture_output=True, text=True)
    # A case htb could not segment (exit 71, "found no liver"; exit 82 when other cases ran) is a
    # result too, the worst one (and a loud one: a pipeline gets the error, not a figure); any
    # other failure stops the sweep.
    rows = json.loads(p.stdout) if p.stdout.strip() else []
    done = {r["name"] for r in rows}
    for c in cases:
        if c["name"] in done:
            continue
        error = next((l for l in p.stderr.splitlines() if f": {c['name']}: " in l or f"/{c['name']}: " in l), None)
        if error is None:
            sys.exit(f"htb qa failed ({p.returncode}): {p.stderr}")
        with open(os.path.join(c["study"], "truth.json")) as f:
            truth = json.load(f)
        rows.append(failed_row(c["name"], truth, error))
    for r in rows:
        r["meets_targets"] = meets(r)
    print(f"| case | liver Dice | lesion Dice | HTB auto / truth | HTB error | category | meets targets | review flag (reasons) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        auto = r.get("automatic") or {}
        reasons = ", ".join(x["code"] for x in auto.get("review_reasons") or [])
        print(f"| {r['name']} | {r['liver']['dice']:.3f} | {r['lesions']['dice']:.3f} | "
              f"{r['htb_predicted_percent']:.2f} / {r['htb_truth_percent']:.2f} | {r['htb_absolute_error_points']:.2f} | "
              f"{'same' if r['category_agrees'] else 'differs'} | {'yes' if r['meets_targets'] else 'no'} | "
              f"{'yes (' + reasons + ')' if auto.get('review_needed') else 'no'} |")
    summary = {}
    md = []

    def out(line=""):
        md.append(line)
        print(line)
    out()
    out("| spec | seeds | liver Dice median (worst) | lesion Dice median | HTB error median (worst) | category right | lesions of 10 mm or more: precision / recall |")
    out("|---|---|---|---|---|---|---|")
    for name in list(specs) + ["all"]:
        rs = [r for r in rows if name == "all" or r["name"].rstrip("0123456789") == name]
        liver = [r["liver"]["dice"] for r in rs]
        err = [r["htb_absolute_error_points"] for r in rs]
        summary[name] = {
            "seeds": len(rs),
            "liver_dice_median": round(statistics.median(liver), 3), "liver_dice_worst": round(min(liver), 3),
            "liver_dice_at_least_0.95": sum(d >= 0.95 for d in liver),
            # Over the results whose truth holds >= 5 mL of lesions, as the targets count it.
            "lesion_dice_median": round(statistics.median(r["lesions"]["dice"] for r in rs if r["lesions"]["truth_volume_ml"] >= 5), 3),
            "htb_error_median": round(statistics.median(err), 2), "htb_error_worst": round(max(err), 2),
            "htb_error_at_most_2": sum(e <= 2 for e in err),
            "category_agrees": sum(r["category_agrees"] for r in rs),
            # Lesion detection pooled over the results (htb qa's detection_10mm): precision, found
            # lesions of 10 mm or more that overlap a truth lesion; recall, truth lesions of 10 mm
            # or more that a found lesion overlaps.
            "detection_10mm_true_positives": sum(r["detection_10mm"]["true_positives"] for r in rs),
            "detection_10mm_detected": sum(r["detection_10mm"]["detected"] for r in rs),
            "detection_10mm_predicted": sum(r["detection_10mm"]["predicted_lesions"] for r in rs),
            "detection_10mm_truth": sum(r["detection_10mm"]["truth_lesions"] for r in rs),
        }
        m = summary[name]
        out(f"| {name} | {m['seeds']} | {m['liver_dice_median']:.3f} ({m['liver_dice_worst']:.3f}) | {m['lesion_dice_median']:.3f} | "
              f"{m['htb_error_median']:.2f} ({m['htb_error_worst']:.2f}) | {m['category_agrees']} / {m['seeds']} | "
              f"{m['detection_10mm_true_positives'] / max(m['detection_10mm_predicted'], 1):.2f} / "
              f"{m['detection_10mm_detected'] / max(m['detection_10mm_truth'], 1):.2f} |")
    # The review flag against the targets, by how much each seed group was looked at when the
    # limits were set (docs/segmentation.md, "Review flag"): most limits on seeds 1-3,
    # left_lobe_missing's after seeds 4-6 had been looked at, unexplained_bright_tissue's on seeds
    # 1-24, the water rule of unexplained_dark_tissue on seeds 1-48; seeds from 49 were never
    # looked at. Each row names the seeds this run holds.
    out()
    out("| seeds | results missing a target | flagged | results meeting all | flagged |")
    out("|---|---|---|---|---|")
    groups = ((1, 3, "limits chosen on"), (4, 6, "held out; seen for two limits"),
              (7, 24, "held out; seen for one limit"), (25, 48, "seen for the water rule"),
              (49, None, "never seen"))
    if a.grid != "coarse":
        groups = ((1, None, "no limit was set on this grid"),)
    seed_of = lambda r: int(r["name"].lstrip("abcdefghijklmnopqrstuvwxyz"))
    for lo, hi, words in groups:
        rs = [r for r in rows if lo <= seed_of(r) and (hi is None or seed_of(r) <= hi)]
        if not rs:
            continue
        seeds = f"{min(map(seed_of, rs))}-{max(map(seed_of, rs))}"
        miss = [r for r in rs if not r["meets_targets"]]
        ok = [r for r in rs if r["meets_targets"]]
        fm = sum(bool((r.get("automatic") or {}).get("review_needed")) for r in miss)
        fo = sum(bool((r.get("automatic") or {}).get("review_needed")) for r in ok)
        summary["review_" + seeds] = {"missing": len(miss), "missing_flagged": fm, "meeting": len(ok), "meeting_flagged": fo}
        out(f"| {seeds} ({words}) | {len(miss)} | {fm} ({100 * fm / max(len(miss), 1):.0f} %) | {len(ok)} | {fo} ({100 * fo / max(len(ok), 1):.0f} %) |")
    # Each reason's share of the flag: how often it fires on misses and on results meeting every
    # target, and how often it is the only reason. A reason that fires on misses no more often
    # than on good results carries no information (docs/segmentation.md, "Review flag").
    codes = lambda r: {x["code"] for x in (r.get("automatic") or {}).get("review_reasons") or []}
    miss = [r for r in rows if not r["meets_targets"]]
    ok = [r for r in rows if r["meets_targets"]]
    out()
    out(f"| reason | fires on misses (of {len(miss)}) | fires on results meeting all (of {len(ok)}) | the only reason on misses | the only reason on results meeting all |")
    out("|---|---|---|---|---|")
    summary["reasons"] = {}
    for code in sorted(set().union(*map(codes, rows)), key=lambda c: -sum(c in codes(r) for r in miss)):
        n = [sum(c == {code} if only else code in c for c in map(codes, rs)) for only in (False, True) for rs in (miss, ok)]
        summary["reasons"][code] = dict(zip(("missing", "meeting", "missing_only", "meeting_only"), n))
        out(f"| `{code}` | {n[0]} | {n[1]} | {n[2]} | {n[3]} |")
    import docs_section
    docs_section.finish(a, section("phantom_sweep", a.grid), "\n".join(md), {"cases": rows, "summary": summary})


if __name__ == "__main__":
    main()
