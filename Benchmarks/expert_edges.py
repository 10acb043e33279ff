#!/usr/bin/env python3
"""Where the expert draws a lesion's edge: the CT's profile across each expert lesion outline.

Accuracy of a convention, no timing. For every lesion of at least 1 mL in the real annotated
studies (when ../shared/data is unpacked) and in three phantoms (exact truth at voxel centres; the
third's lesions fade over their outer 5 mm, `htb synth --lesion-margin-mm 5`), the
median HU of the liver at each in-plane distance from the lesion's outline (bins one pixel wide,
centred half a pixel either side of it and on to 6 mm inside and outside, measured slice by slice
as the outline is drawn; other lesions left out; read between bins linearly) is expressed as a
share of the lesion's contrast:

    share(d) = (median HU at d - parenchyma) / (lesion core - parenchyma)

with the parenchyma the median of the liver more than 15 mm from every lesion and the core the
median of the lesion more than 4 mm inside its outline (its inner half when it is thinner). 1 is
the lesion's own value, 0 the parenchyma's. A sharp lesion blurred by the scanner crosses 0.5 at
its true edge; the row gives the share at the outline itself, where the profile crosses 0.5 and
0.25 (negative: inside the outline) and the whole profile.

What it is for: the lesion steps place an edge somewhere on that profile (the automatic lesion
step near its foot, max(1.5 SD, 10 HU) from the parenchyma; one-click growth at half the seed's
contrast), and the phantoms' truth sits at its middle. The table shows where experts put it.

Needs numpy and SimpleITK (PyPI; `scripts/setup --bench-peers`).

usage: Benchmarks/expert_edges.py [--htb PATH] [--json OUT] [--write-docs]
"""
import argparse, os, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
import docs_section  # noqa: E402

# The real annotated studies: seeded_lesions.REAL's (name, study, series, liver masks, lesion
# masks), paths relative to the data folder.
from seeded_lesions import REAL, run  # noqa: E402 (and its checked subprocess call)
# Phantoms for comparison: the sweep's fine grid (a CT's pixels) and its coarse grid.
PHANTOMS = [
    ("phantom, fine grid, irregular seed 1",
     "--seed 1 --matrix 384 --slices 80 --slice-mm 2.5 --pixel-mm 0.94 --noise-hu 25 --lesions 8 --htb 8 "
     "--enhancement hypo --phase portal --lesion-shape irregular --left-lobe-lesions 3"),
    ("phantom, coarse grid, hypodense seed 1",
     "--seed 1 --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --noise-hu 12 --lesions 6 --htb 20 "
     "--enhancement hypo --phase portal"),
    # The first phantom with graded margins (htb synth --lesion-margin-mm 5): lesions that fade.
    ("phantom, fine grid, irregular seed 1, margin 5 mm",
     "--seed 1 --matrix 384 --slices 80 --slice-mm 2.5 --pixel-mm 0.94 --noise-hu 25 --lesions 8 --htb 8 "
     "--enhancement hypo --phase portal --lesion-shape irregular --left-lobe-lesions 3 --lesion-margin-mm 5"),
]
BINS_MM = [round(-6 + 0.75 * i, 2) for i in range(17)]


def in_plane_distances(np, sitk, mask, spacing):
    """Per slice: distance (mm) to the outline, negative inside (SimpleITK's signed Maurer map
    of each axial slice puts 0 on the lesion's outermost pixels and 1 pixel on the first outside:
    half a pixel less puts the zero on the outline between them)."""
    out = np.full(mask.shape, np.inf, dtype=np.float32)
    for k in range(mask.shape[0]):
        if not mask[k].any():
            continue
        s = sitk.GetImageFromArray(mask[k].astype(np.uint8))
        s.SetSpacing(spacing[:2])
        d = sitk.GetArrayFromImage(sitk.SignedMaurerDistanceMap(s, insideIsPositive=False, squaredDistance=False,
                                                                useImageSpacing=True))
        out[k] = d - 0.5 * min(spacing[:2])
    return out


def profiles(np, sitk, ct_path, labels_path, name):
    """One row per lesion of >= 1 mL (6-connected components of the lesion label)."""
    img = sitk.ReadImage(ct_path, sitk.sitkFloat32)
    ct = sitk.GetArrayFromImage(img)  # z, y, x
    labels = sitk.GetArrayFromImage(sitk.ReadImage(labels_path))
    spacing = img.GetSpacing()  # x, y, z
    voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000
    liver, lesions = labels >= 1, labels == 2
    comps = sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray(lesions.astype(np.uint8)), False))
    everyone = in_plane_distances(np, sitk, lesions, spacing)
    parenchyma = float(np.median(ct[liver & ~lesions & (everyone > 15)]))
    rows = []
    for c in range(1, int(comps.max()) + 1):
        lesion = comps == c
        ml = lesion.sum() * voxel_ml
        if ml < 1:
            continue
        d = in_plane_distances(np, sitk, lesion, spacing)
        core = lesion & (d < -4)
        if core.sum() < 20:
            core = lesion & (d <= np.median(d[lesion]))
        value = float(np.median(ct[core]))
        contrast = value - parenchyma
        others = lesions & ~lesion
        # Bins one pixel wide centred half a pixel either side of the outline and on outwards
        # (pixel centres lie there on a straight outline); each bin's mean distance and median HU.
        pixel = min(spacing[:2])
        points = []
        for n in range(-int(6 / pixel) - 1, int(6 / pixel) + 1):
            m = liver & ~others & (d >= n * pixel) & (d < (n + 1) * pixel)
            if m.sum() >= 20 and contrast != 0:
                points.append((float(d[m].mean()), (float(np.median(ct[m])) - parenchyma) / contrast))

        def at(x):
            """The profile at distance x (linear between the bins either side; None outside them)."""
            for (d0, s0), (d1, s1) in zip(points, points[1:]):
                if d0 <= x <= d1:
                    return s0 + (s1 - s0) * (x - d0) / (d1 - d0)
            return None

        def crossing(level):
            """Outermost distance where the profile falls through `level` (linear between bins)."""
            hit = None
            for (d0, s0), (d1, s1) in zip(points, points[1:]):
                if s0 >= level > s1:
                    hit = d0 + (s0 - level) / (s0 - s1) * (d1 - d0)
            return hit

        share = [at(b) for b in BINS_MM]
        rows.append({"case": name, "lesion_ml": round(ml, 1), "parenchyma_hu": round(parenchyma),
                     "core_hu": round(value), "pixel_mm": round(spacing[0], 2), "slice_mm": round(spacing[2], 2),
                     "share_at_outline": at(0.0), "half_at_mm": crossing(0.5),
                     "quarter_at_mm": crossing(0.25), "profile": dict(zip(BINS_MM, share))})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--htb", default=os.path.join(root, ".build", "release", "htb"))
    ap.add_argument("--json")
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    try:
        import numpy as np, SimpleITK as sitk
    except ImportError:
        sys.exit("expert_edges.py needs numpy and SimpleITK (scripts/setup --bench-peers)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="htb-edges-") as tmp:
        data = os.environ.get("HTB_REAL_DATA", "/tmp/htb-realdata")
        cases = []
        if os.path.isdir(data):
            for name, study, series, livers, lesions in REAL:
                cmd = [a.htb, "convert", os.path.join(data, study)]
                if series:
                    cmd += ["--series", series]
                for m in livers:
                    cmd += ["--liver-mask", os.path.join(data, m)]
                for m in lesions:
                    cmd += ["--lesion-mask", os.path.join(data, m)]
                cases.append((name, cmd))
        else:
            print(f"{data} missing (bash ../shared/data/unpack.sh): phantoms only", file=sys.stderr)
        for name, options in PHANTOMS:
            d = os.path.join(tmp, name.replace(" ", "_").replace(",", ""))
            run([a.htb, "synth", "--out", d, *options.split()])
            seg = os.path.join(d, "truth", "seg.dcm")
            cases.append((name, [a.htb, "convert", d, "--liver-mask", seg + ":Liver", "--lesion-mask", seg + ":Lesion*"]))
        for n, (name, cmd) in enumerate(cases):
            ct, labels = os.path.join(tmp, f"{n}.ct.nii.gz"), os.path.join(tmp, f"{n}.labels.nii.gz")
            run(cmd + ["--out", ct, "--labels-out", labels])
            rows += profiles(np, sitk, ct, labels, name)
    f2 = lambda v: "-" if v is None else f"{v:+.2f}"
    shown = [b for b in BINS_MM if b in (-6.0, -4.5, -3.0, -1.5, -0.75, 0.0, 0.75, 1.5, 3.0)]
    md = ["| case | lesion (mL) | parenchyma / core (HU) | pixel / slice (mm) | share at the outline | "
          "half contrast at (mm) | quarter contrast at (mm) | " + " | ".join(f"{b:+g} mm" for b in shown) + " |",
          "|---|---|---|---|---|---|---|" + "---|" * len(shown)]
    for r in rows:
        md.append(f"| {r['case']} | {r['lesion_ml']:.1f} | {r['parenchyma_hu']} / {r['core_hu']} | "
                  f"{r['pixel_mm']} / {r['slice_mm']} | {f2(r['share_at_outline'])} | {f2(r['half_at_mm'])} | "
                  f"{f2(r['quarter_at_mm'])} | " + " | ".join(f2(r["profile"][b]) for b in shown) + " |")
        print(md[-1])
    docs_section.finish(a, "expert_edges", "\n".join(md), rows)


if __name__ == "__main__":
    sys.exit(main())
