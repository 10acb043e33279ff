#!/usr/bin/env python3
"""htb compare on phantom pairs with exact truth: issue 24's targets.

Ten baseline/follow-up pairs (`htb synth --follow-up-of`, scale 0.2-1.8, 0-2 new lesions, shifts up
to 30 mm; the same ten as Tests/htbTests/ResponseTests.swift) are compared three ways:
  truth    with the truth masks: lesion groups equal to the truth's pairs, new and gone equal
           (target: all ten); the category htb gives them is the reference for the next row;
  auto     with automatic masks on both sides: category right (target >= 9 of 10) and total tumour
           volume change within 10 points of the truth's; the new lesions it counts, each true or
           false by the truth (a category can be right by a false new lesion);
  outputs  two finished `htb analyze --save-masks` folders: wall time of `htb compare` (target <= 1 s).

On the coarse grid (the default; 2.8 mm pixels, 5 mm slices, noise box-filtered over 3 x 3 pixels)
a new lesion of 9 mm holds about one independent noise sample; `--grid fine` (the phantom sweep's
0.94 mm pixels and 2.5 mm slices, nearer a clinical CT: about twenty) draws the same ten pairs
there and writes its own section. The automatic target is judged on the fine grid; the coarse one
is a stress test (docs/response.md, "Which grid the automatic target is judged on").

usage: Benchmarks/response_pairs.py [--htb PATH] [--grid coarse|fine] [--write-docs]
"""
import argparse, atexit, json, math, os, shutil, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
from phantom_sweep import GRIDS  # noqa: E402  (the sweep's grids, one definition)

LESIONS = ["--lesions", "6", "--htb", "12"]
PAIRS = [(1, 0.3, 0, "10,0,0"), (2, 1.5, 1, "0,-20,5"), (3, 0.5, 2, "12,-8,15"), (4, 1.0, 0, "-30,0,0"),
         (5, 0.8, 1, "0,0,-25"), (6, 1.2, 0, "20,20,0"), (7, 0.3, 1, "-15,10,10"), (8, 1.8, 0, "5,-5,-5"),
         (9, 0.6, 2, "0,30,0"), (10, 0.2, 0, "-10,-10,20")]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p


def groups(pairs):
    out = []
    for b, f in pairs:
        hit = [g for g in out if b in g[0] or f in g[1]]
        nb, nf = {b}, {f}
        for g in hit:
            nb |= g[0]; nf |= g[1]; out.remove(g)
        out.append((nb, nf))
    return {(tuple(sorted(b)), tuple(sorted(f))) for b, f in out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    ap.add_argument("--grid", choices=sorted(GRIDS), default="coarse", help="the phantoms' grid (default: coarse)")
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    common = GRIDS[a.grid].split() + LESIONS
    work = tempfile.mkdtemp(prefix="htb-response-")
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # phantoms and outputs go when the run ends
    rows, times = [], []
    for seed, scale, new, shift in PAIRS:
        b, f = f"{work}/b{seed}", f"{work}/f{seed}"
        run([a.htb, "synth", "--out", b, "--seed", str(seed)] + common)
        run([a.htb, "synth", "--out", f, "--follow-up-of", b, "--scale", str(scale), "--new-lesions", str(new),
             f"--shift-mm={shift}"])
        truth = json.load(open(f + "/truth.json"))
        tb = truth["follow_up"]["baseline_lesion_volume_ml"]
        truth_change = 100 * (truth["lesion_volume_ml"] - tb) / tb
        masks = lambda side, s: [f"--{side}-liver-mask", s + "/truth/seg.dcm:Liver", f"--{side}-lesion-mask", s + "/truth/seg.dcm:Lesion*"]
        run([a.htb, "compare", b, f, "--out", f"{work}/ct{seed}", "--single-phase"] + masks("baseline", b) + masks("followup", f))
        ct = json.load(open(f"{work}/ct{seed}/compare.json"))
        got = {(tuple(l["baseline_ids"]), tuple(l["follow_up_ids"])) for l in ct["lesions"] if l["baseline_ids"] and l["follow_up_ids"]}
        new_ok = sorted(i for l in ct["lesions"] if l["status"] == "new" for i in l["follow_up_ids"]) == sorted(truth["follow_up"]["new_lesions"])
        gone_ok = sorted(i for l in ct["lesions"] if l["status"] == "gone" for i in l["baseline_ids"]) == sorted(truth["follow_up"]["gone_lesions"])
        matching_ok = got == groups(truth["follow_up"]["pairs"]) and new_ok and gone_ok
        run([a.htb, "compare", b, f, "--out", f"{work}/ca{seed}", "--single-phase"])
        ca = json.load(open(f"{work}/ca{seed}/compare.json"))
        auto_change = ca["totals"].get("tumour_volume_change_percent")
        # The automatic follow-up's new lesions that count for progression (not seen at baseline,
        # 10 mm or more), each true when its centroid lies within 10 mm of a truth new lesion's;
        # and the truth's new lesions none of them found.
        truth_new = [l["centroid_mm"] for l in ct["lesions"] if l["status"] == "new"]
        counted = [l["centroid_mm"] for l in ca["lesions"] if l["status"] == "new" and not l.get("seen_at_baseline")
                   and l["longest_axial_diameter_mm"] >= 10]
        new_true = sum(any(math.dist(x, y) <= 10 for y in truth_new) for x in counted)
        new_missed = sum(not any(math.dist(y, x) <= 10 for x in counted) for y in truth_new)
        for s, o in [(b, f"{work}/ob{seed}"), (f, f"{work}/of{seed}")]:
            run([a.htb, "analyze", s, "--out", o, "--save-masks", "--no-png", "--single-phase",
                 "--liver-mask", s + "/truth/seg.dcm:Liver", "--lesion-mask", s + "/truth/seg.dcm:Lesion*"])
        t0 = time.perf_counter()
        run([a.htb, "compare", f"{work}/ob{seed}", f"{work}/of{seed}", "--out", f"{work}/co{seed}"])
        times.append(time.perf_counter() - t0)
        # The truth's category: the response rules applied to the truth masks, whose matching was
        # just checked against the truth (new lesions under 10 mm are not counted, as in htb).
        cat = ct["response"]["category"]
        rows.append(dict(seed=seed, scale=scale, new=new, shift=shift, truth_category=cat,
                         truth_change=truth_change, truth_ok=matching_ok,
                         shift_error=sum((x - float(y)) ** 2 for x, y in zip(ct["alignment"]["translation_mm"], shift.split(","))) ** 0.5,
                         auto_category=ca["response"]["category"], auto_change=auto_change,
                         new_true=new_true, new_false=len(counted) - new_true, new_missed=new_missed,
                         progression_percent=ct["thresholds"]["progression_increase_percent"]))
        print(rows[-1], file=sys.stderr)
    lines = ["| seed | scale | new | shift mm | category from truth masks | truth masks: matching | shift error mm | automatic category | automatic new lesions counted: true / false (truth's missed) | tumour change truth / automatic |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ac = "-" if r["auto_change"] is None else f"{r['auto_change']:+.1f} %"
        lines.append(f"| {r['seed']} | {r['scale']} | {r['new']} | {r['shift']} | {r['truth_category']} | {'right' if r['truth_ok'] else 'WRONG'} | "
                     f"{r['shift_error']:.2f} | {r['auto_category']}{'' if r['auto_category'] == r['truth_category'] else ' (wrong)'} | "
                     f"{r['new_true']} / {r['new_false']} ({r['new_missed']}) | {r['truth_change']:+.1f} % / {ac} |")
    truth_right = sum(r["truth_ok"] for r in rows)
    auto_right = sum(r["auto_category"] == r["truth_category"] for r in rows)
    within = sum(r["auto_change"] is not None and abs(r["auto_change"] - r["truth_change"]) <= 10 for r in rows)
    # A right progression is right for the right reason when the truth's tumour grew past the
    # threshold or a true new lesion was counted (a false one elsewhere makes the category wrong).
    right_for_reason = sum(r["auto_category"] == r["truth_category"] and (r["truth_category"] != "progression" or r["new_true"] > 0
                           or r["truth_change"] >= r["progression_percent"]) for r in rows)
    lines.append("")
    # Issue 24's automatic-mask target is judged on the fine grid (docs/response.md, "Which grid
    # the automatic target is judged on"); the coarse grid is a stress test.
    target = "target >= 9" if a.grid == "fine" else "the target, >= 9, is judged on `--grid fine`"
    lines.append(f"Truth masks: {truth_right} of {len(rows)} right (target 10). Automatic masks: category right on "
                 f"{auto_right} of {len(rows)} ({target}; {right_for_reason} for the right reason: progression from a true new "
                 f"lesion or from growth), tumour change within 10 points on {within} of {len(rows)}. "
                 f"`htb compare` of two finished outputs: median {statistics.median(times):.3f} s, max {max(times):.3f} s (target <= 1 s).")
    print("\n".join(lines))
    if a.write_docs:
        import docs_section
        docs_section.write("response_pairs" if a.grid == "coarse" else f"response_pairs_{a.grid}", "\n".join(lines))


if __name__ == "__main__":
    main()
