#!/usr/bin/env python3
"""Robustness of the automatic segmentation to acquisition changes (issue 4: "other real cases,
unknown to you, will check that it generalises").

Each real annotated case in ../shared/data is copied to a temporary folder with its CT pixels
changed (UIDs, geometry and masks untouched, so the expert's masks still apply) and judged by
`htb qa` against the expert's masks:

- `gain0.8`, `gain0.9`, `gain1.1`, `gain1.2`: soft tissue's HU above water scaled by 0.8 to 1.2 (HU <= 0 unchanged:
  water, fat and air keep their values), what a weaker or stronger contrast enhancement does to
  parenchyma, vessels and lesions (a liver at 100 HU measured at 80 or 120 HU);
- `noise10`: Gaussian noise of SD 10 HU added to every pixel inside the body (a lower dose);
  `noise10@8` ... `noise10@12` draw it with seeds 8-12 instead of 7 (other realisations of the
  same dose: six draws show how far one realisation can move a figure, the worst one matters).

- `fat15`, `fat30`: steatosis (fatty infiltration, common after chemotherapy), which lowers the
  parenchyma's attenuation by about 1.5-2 HU per percent of fat: the expert's parenchyma (liver less
  lesions, with the vessels inside it) lowered by 15 or 30 HU, by its share of each voxel (the
  expert's mask blurred by a 1 mm Gaussian, a partial-volume edge rather than a step at the
  expert's outline); lesions, the organs around and the study's other series unchanged (HCC
  1720's arterial phase keeps its liver). The real anatomy's own bowel, muscle and vessels meet a
  liver whose contrast to them and to its lesions has changed. Needs SimpleITK (PyPI) to read the
  masks htb lays on the CT grid (`htb analyze --save-masks`).

- `thick5`: the measured series rebuilt from slabs of adjacent slices (their mean; as many as
  make the slab nearest 5 mm: IRCADb 17's 1.6 mm slices in threes, 4.8 mm), a thick reconstruction
  of the same scan; the expert's masks are taken to that grid by majority of each slab's voxels.
  A study already at 5 mm is not applicable (no row).

The original is judged too. One row per case and change: liver Dice, lesion Dice, HTB error,
category, whether the result meets issue 20's per-study targets (`phantom_sweep.meets`) and
whether the review flag fired (with its reasons): how often the flag catches a real study that an
acquisition change pushed past a target. The copies are deleted afterwards (the data's licences forbid keeping them). An
accuracy benchmark: no timing. Needs pydicom and numpy (PyPI).

usage: Benchmarks/robustness.py [--htb PATH] [--changes gain0.8,gain0.9,gain1.1,gain1.2,noise10,noise10@8,...,noise10@12,fat15,fat30,thick5] [--json OUT]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, here)
import phantom_sweep  # noqa: E402  (the per-study targets, `meets`)

# (name, folder copied, study, truth liver, truth lesions), paths relative to the data folder.
CASES = [
    ("IRCADb 17", "3Dircadb1.17", "3Dircadb1.17/PATIENT_DICOM", ["3Dircadb1.17/MASKS_DICOM/liver"],
     ["3Dircadb1.17/MASKS_DICOM/livertumor1", "3Dircadb1.17/MASKS_DICOM/livertumor2"]),
    ("HCC 1720", "HCC-TACE-Seg/1720", "HCC-TACE-Seg/1720", ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
     ["HCC-TACE-Seg/1720/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]),
    ("HCC 0697", "HCC-TACE-Seg/0697", "HCC-TACE-Seg/0697", ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"],
     ["HCC-TACE-Seg/0697/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"]),
]


def expert_labels(htb, study, liver, lesions):
    """The measured series' UID and the expert's masks on its grid (SimpleITK image: liver 1,
    lesion 2), as htb itself lays them (`analyze --save-masks`)."""
    import SimpleITK as sitk
    out = tempfile.mkdtemp(prefix="htb-expert-masks-")
    try:
        cmd = [htb, "analyze", study, "--no-png", "--save-masks", "--out", out]
        for m in liver:
            cmd += ["--liver-mask", m]
        for m in lesions:
            cmd += ["--lesion-mask", m]
        subprocess.run(cmd, check=True, capture_output=True)
        series = json.load(open(os.path.join(out, "report.json")))["inputs"]["series"]
        return series, sitk.ReadImage(os.path.join(out, "labels.nii.gz"))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def series_slices(top, series, labels):
    """[(grid slice index, path)] of the series' files under `top`, each placed by its position
    in the labels' grid; a slice off the grid (a stray one the loader leaves out) is not listed."""
    import pydicom
    found = []
    for base, _, files in os.walk(top):
        for f in sorted(files):
            q = os.path.join(base, f)
            try:
                ds = pydicom.dcmread(q, stop_before_pixels=True)
            except Exception:
                continue
            if ds.get("SeriesInstanceUID") != series or "ImagePositionPatient" not in ds:
                continue
            i, j, k = labels.TransformPhysicalPointToContinuousIndex([float(x) for x in ds.ImagePositionPatient])
            kk = int(round(k))
            if abs(i) <= 0.01 and abs(j) <= 0.01 and abs(k - kk) <= 0.01 and 0 <= kk < labels.GetSize()[2]:
                found.append((kk, q))
    if sorted(k for k, _ in found) != list(range(labels.GetSize()[2])):
        raise RuntimeError(f"{top}: series {series} does not fill the masks' grid slice by slice")
    return sorted(found)


def thick(htb, src, dst, study, liver, lesions, mm):
    """Copies `src` to `dst` with the measured series rebuilt from slabs of k adjacent slices
    (their mean, k = the slice step nearest `mm`), as a thick reconstruction of the same scan, and
    writes the expert's masks on that grid (a voxel is liver, or lesion, where most of its k are):
    `dst/thick-truth.nii.gz`. Returns that path, or None when the slices are already as thick."""
    import numpy as np, pydicom, SimpleITK as sitk
    from pydicom.uid import generate_uid
    series, labels = expert_labels(htb, study, liver, lesions)
    step = labels.GetSpacing()[2]
    k = int(round(mm / step))
    if k < 2:
        return None
    shutil.copytree(src, dst)
    slices = series_slices(dst, series, labels)
    a = sitk.GetArrayFromImage(labels)  # z, y, x
    groups = len(slices) // k
    new_uid = generate_uid()
    for n in range(groups):
        part = slices[n * k:(n + 1) * k]
        sets = [pydicom.dcmread(q) for _, q in part]
        hu = np.mean([d.pixel_array.astype(np.float64) * float(d.get("RescaleSlope", 1)) + float(d.get("RescaleIntercept", 0))
                      for d in sets], axis=0)
        ds = sets[0]
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        info = np.iinfo(ds.pixel_array.dtype)
        ds.PixelData = np.clip(np.round((hu - intercept) / slope), info.min, info.max).astype(ds.pixel_array.dtype).tobytes()
        ds.ImagePositionPatient = [float(np.mean([float(d.ImagePositionPatient[c]) for d in sets])) for c in range(3)]
        ds.SliceThickness = k * step
        if "SliceLocation" in ds:
            ds.SliceLocation = float(np.mean([float(d.SliceLocation) for d in sets]))
        ds.InstanceNumber = n + 1
        ds.SeriesInstanceUID = new_uid
        ds.SOPInstanceUID = generate_uid()
        if hasattr(ds, "file_meta"):
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(part[0][1])
        for _, q in part[1:]:
            os.remove(q)
    for _, q in slices[groups * k:]:
        os.remove(q)
    block = a[:groups * k].reshape(groups, k, *a.shape[1:])
    out = np.where(2 * (block == 2).sum(1) > k, 2, np.where(2 * (block > 0).sum(1) > k, 1, 0)).astype(np.uint8)
    image = sitk.GetImageFromArray(out)
    image.SetSpacing((labels.GetSpacing()[0], labels.GetSpacing()[1], k * step))
    image.SetDirection(labels.GetDirection())
    # The slab's centre: the mean of its k slices' positions.
    image.SetOrigin(labels.TransformContinuousIndexToPhysicalPoint((0, 0, (k - 1) / 2)))
    path = os.path.join(dst, "thick-truth.nii.gz")
    sitk.WriteImage(image, path)
    return path


def fatty(htb, src, dst, study, liver, lesions, delta):
    """Copies the study folder `src` to `dst` with the measured series' parenchyma `delta` HU
    darker (see `fat15`): the expert's masks laid on the CT grid by htb itself (`analyze
    --save-masks`: liver 1, lesion 2), each slice found by its position in that grid."""
    import numpy as np, pydicom, SimpleITK as sitk
    series, labels = expert_labels(htb, study, liver, lesions)
    share = sitk.GetArrayFromImage(
        sitk.SmoothingRecursiveGaussian(sitk.Cast(labels == 1, sitk.sitkFloat32), 1.0))  # z, y, x
    shutil.copytree(src, dst)
    for kk, q in series_slices(dst, series, labels):
        ds = pydicom.dcmread(q)
        raw = ds.pixel_array
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        hu = raw.astype(np.float64) * slope + intercept - delta * share[kk]
        info = np.iinfo(raw.dtype)
        ds.PixelData = np.clip(np.round((hu - intercept) / slope), info.min, info.max).astype(raw.dtype).tobytes()
        ds.save_as(q)


def perturb(src, dst, change):
    """Copies the study folder `src` to `dst`, changing the CT images' pixels (not the masks)."""
    import numpy as np, pydicom
    change, _, seed = change.partition("@")
    rng = np.random.default_rng(int(seed or 7))
    kind = "gain" if change.startswith("gain") else "noise"
    value = float(change[len(kind):])
    for base, _, files in os.walk(src):
        for f in sorted(files):
            p = os.path.join(base, f)
            q = os.path.join(dst, os.path.relpath(p, src))
            os.makedirs(os.path.dirname(q), exist_ok=True)
            try:
                ds = pydicom.dcmread(p)
            except Exception:
                shutil.copy(p, q)
                continue
            # 3D-IRCADb stores its masks as CT images: they are masks, not pixels to change.
            is_image = ds.get("Modality") == "CT" and "PixelData" in ds and "MASKS" not in p
            if not is_image or "LOCALIZER" in [str(x) for x in ds.get("ImageType", [])]:
                shutil.copy(p, q)
                continue
            raw = ds.pixel_array
            slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
            hu = raw.astype(np.float64) * slope + intercept
            if kind == "gain":
                hu = np.where(hu > 0, hu * value, hu)
            else:
                hu = hu + rng.normal(0, value, hu.shape) * (hu > -900)
            info = np.iinfo(raw.dtype)
            ds.PixelData = np.clip(np.round((hu - intercept) / slope), info.min, info.max).astype(raw.dtype).tobytes()
            ds.save_as(q)


def qa(htb, study, liver, lesions):
    cmd = [htb, "qa", study, "--json"]
    for m in liver:
        cmd += ["--truth-liver", m]
    for m in lesions:
        cmd += ["--truth-lesion", m]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip()}
    r = json.loads(out.stdout)[0]
    auto = r.get("automatic") or {}
    return {"liver_dice": r["liver"]["dice"], "lesion_dice": r["lesions"]["dice"],
            "truth_liver_ml": r["liver"]["truth_volume_ml"], "truth_htb_percent": r["htb_truth_percent"],
            "htb_error": r["htb_absolute_error_points"], "category_agrees": r["category_agrees"],
            "meets_targets": phantom_sweep.meets(r), "review_needed": bool(auto.get("review_needed")),
            "review_reasons": [x["code"] for x in auto.get("review_reasons", [])]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--htb", default=os.path.join(root, ".build/release/htb"))
    ap.add_argument("--changes", default="gain0.8,gain0.9,gain1.1,gain1.2,noise10," + ",".join(f"noise10@{s}" for s in range(8, 13)) + ",fat15,fat30,thick5")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--json")
    a = ap.parse_args()
    data = subprocess.run(["sh", os.path.join(root, "../shared/data/unpack.sh")], check=True, capture_output=True, text=True).stdout.strip()
    changes = ["original"] + [c for c in a.changes.split(",") if c]
    rows = []
    work = tempfile.mkdtemp(prefix="htb-robustness-")
    try:
        for name, top, study, liver, lesions in CASES:
            for change in changes:
                def masks(base):
                    return [os.path.join(base, m) for m in liver], [os.path.join(base, m) for m in lesions]
                base = data if change == "original" else os.path.join(work, change)
                truth = masks(base)
                if change != "original":
                    expert = (os.path.join(data, study), *masks(data))
                    if change.startswith("thick"):
                        nifti = thick(a.htb, os.path.join(data, top), os.path.join(base, top), *expert, float(change[5:]))
                        if nifti is None:
                            print(f"{name:10s} {change:10s} not applicable: its slices are already that thick")
                            continue
                        truth = ([nifti + ":1"], [nifti + ":2"])
                    elif not os.path.exists(os.path.join(base, top)):
                        if change.startswith("fat"):
                            fatty(a.htb, os.path.join(data, top), os.path.join(base, top), *expert, float(change[3:]))
                        else:
                            perturb(os.path.join(data, top), os.path.join(base, top), change)
                r = qa(a.htb, os.path.join(base, study), *truth)
                r.update(case=name, change=change)
                rows.append(r)
                if "error" in r:
                    print(f"{name:10s} {change:10s} failed: {r['error']}")
                else:
                    print(f"{name:10s} {change:10s} liver Dice {r['liver_dice']:.3f}  lesion Dice {r['lesion_dice']:.3f}  "
                          f"HTB error {r['htb_error']:5.2f}  category {'same' if r['category_agrees'] else 'differs'}  "
                          f"{'meets' if r['meets_targets'] else 'misses'} the targets  review {','.join(r['review_reasons']) or '-'}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.write_docs:
        import docs_section
        md = ["| case | change | liver Dice | lesion Dice | HTB error (points) | category | targets | review flag (reasons) |",
              "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            md.append(f"| {r['case']} | {r['change']} | failed: {r['error']} | | | | | |" if "error" in r else
                      f"| {r['case']} | {r['change']} | {r['liver_dice']:.3f} | {r['lesion_dice']:.3f} | {r['htb_error']:.2f} | "
                      f"{'same' if r['category_agrees'] else 'differs'} | {'met' if r['meets_targets'] else '**missed**'} | "
                      f"{', '.join(r['review_reasons']) if r['review_needed'] else 'no'} |")
        done = [r for r in rows if "error" not in r]
        missed = [r for r in done if not r["meets_targets"]]
        met = [r for r in done if r["meets_targets"]]
        md.append("")
        md.append(f"The flag fires on {sum(r['review_needed'] for r in missed)} of {len(missed)} results that miss a "
                  f"target (liver Dice >= 0.92, lesion Dice >= 0.60 where lesions total >= 5 mL, HTB error <= 2 "
                  f"points, category) and on {sum(r['review_needed'] for r in met)} of {len(met)} that meet them all.")
        docs_section.write("robustness", "\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
