#!/usr/bin/env python3
"""SimpleITK peer for bench_auto.py: the steps of htb's automatic segmentation (htb-auto/1),
done with SimpleITK filters, so the two can be timed on the same machine in the same run.

Steps (as in Sources/AutoSegmentation): read the DICOM series; block-average to ~1.5 mm in plane;
body = largest component above -300 HU; Gaussian 1 mm; liver HU mode and robust SD in the right
half (40-250 HU); band mode +- max(3 SD, 15); erosion 10 mm (distance map); largest component
on the patient's right; dilation 11 mm within the band; closing 4 mm; hole
filling slice by slice; lesions: Gaussian 2 mm, parenchyma statistics in the liver eroded 3 mm,
dark = below mode - max(2 SD, 10), 3 mm opening seeds, shape statistics (elongation), regrowth
7 mm, components >= a 5 mm sphere; resample to the CT grid; write a NIfTI label map.
It is a timing peer, not a second implementation to compare masks with.

usage: sitk_peer.py DICOM_FOLDER OUT.nii.gz
"""
import sys
import numpy as np
import SimpleITK as sitk


def dist_inside(m):
    # Distance (mm) from inside voxels to the nearest outside voxel.
    return sitk.SignedMaurerDistanceMap(m, insideIsPositive=True, squaredDistance=False, useImageSpacing=True)


def erode(m, r):
    return sitk.Cast(dist_inside(m) > r, sitk.sitkUInt8)


def dilate(m, r):
    return sitk.Cast(dist_inside(m) > -r, sitk.sitkUInt8)


def largest(m):
    cc = sitk.RelabelComponent(sitk.ConnectedComponent(m), sortByObjectSize=True)
    return sitk.Cast(cc == 1, sitk.sitkUInt8)


def mode_sd(values, lo, hi):
    v = values[(values > lo) & (values < hi)]
    h, e = np.histogram(v, bins=int(hi - lo), range=(lo, hi))
    h = np.convolve(h, np.ones(7) / 7, mode="same")
    mode = e[np.argmax(h)] + 0.5
    dev = np.abs(v[np.abs(v - mode) < 50] - mode)
    return mode, 1.4826 * np.median(dev)


def fill_slices(m):
    return sitk.JoinSeries([sitk.BinaryFillhole(m[:, :, k]) for k in range(m.GetSize()[2])], m.GetOrigin()[2], m.GetSpacing()[2])


def main(folder, out):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    ct = reader.Execute()
    f = max(1, round(1.5 / ct.GetSpacing()[0]))
    small = sitk.BinShrink(ct, [f, f, 1])
    body = largest(sitk.Cast(small > -300, sitk.sitkUInt8))
    sm = sitk.SmoothingRecursiveGaussian(sitk.Cast(small, sitk.sitkFloat32), 1.0)
    a = sitk.GetArrayViewFromImage(sm)
    b = sitk.GetArrayViewFromImage(body) > 0
    # The patient's right half (array columns of lower x when the row direction is +x).
    half = a.shape[2] // 2
    right = np.zeros_like(b)
    if small.GetDirection()[0] > 0:
        right[:, :, :half] = True
    else:
        right[:, :, half:] = True
    mode, sd = mode_sd(a[b & right], 40, 250)
    w = max(3 * sd, 15)
    band = sitk.Cast((sm > mode - w) & (sm < mode + w), sitk.sitkUInt8) & body
    # The largest eroded component whose centroid lies on the patient's right (LPS: x below
    # the body's centre).
    cores = sitk.ConnectedComponent(erode(band, 10))
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.Execute(cores)
    bs = sitk.LabelShapeStatisticsImageFilter()
    bs.Execute(body)
    centre = bs.GetCentroid(1)[0]
    best = max((l for l in shape.GetLabels() if shape.GetCentroid(l)[0] < centre), key=shape.GetNumberOfPixels)
    core = sitk.Cast(cores == best, sitk.sitkUInt8)
    liver = dilate(core, 11) & band
    liver = erode(dilate(liver, 4), 4)
    liver = fill_slices(liver)
    liver.CopyInformation(small)
    # Lesions.
    sm2 = sitk.SmoothingRecursiveGaussian(sitk.Cast(small, sitk.sitkFloat32), 2.0)
    inner = erode(liver, 3)
    a2 = sitk.GetArrayViewFromImage(sm2)
    pm, psd = mode_sd(a2[sitk.GetArrayViewFromImage(inner) > 0], -50, 250)
    dark = sitk.Cast(sm2 < pm - max(2 * psd, 10), sitk.sitkUInt8) & liver
    seeds = sitk.ConnectedComponent(erode(dark & inner, 3))
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.Execute(seeds)
    keep = [l for l in shape.GetLabels() if shape.GetElongation(l) <= 2.5]
    kept = sitk.Cast(sitk.ChangeLabel(seeds, {l: 0 for l in shape.GetLabels() if l not in keep}) > 0, sitk.sitkUInt8)
    grown = dilate(kept, 10) & dark
    cc = sitk.RelabelComponent(sitk.ConnectedComponent(grown), minimumObjectSize=int(np.pi / 6 * 125 / np.prod(small.GetSpacing())) + 1)
    lesions = sitk.Cast(cc > 0, sitk.sitkUInt8)
    labels = liver + lesions
    labels = sitk.Resample(labels, ct, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    sitk.WriteImage(labels, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
