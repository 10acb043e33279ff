#!/usr/bin/env python3
"""Converts a classic CT series (one file per slice) into one Legacy Converted Enhanced CT object.

Test data for htb's multi-frame reader: highdicom (an independent implementation of PS3.3 A.70)
writes the functional groups, so htb is checked against a writer it does not share code with.

    make_enhanced_ct.py SRC_DIR OUT_FILE [--transfer-syntax UID] [--split N]

SRC_DIR holds the slices (any file names; non-DICOM files and other series are ignored: the
series with the most CT slices is taken). --split N writes the frames as N objects of the same
series (OUT_FILE gets -1, -2, ... before its suffix), as some scanners do. Prints the written paths.
"""
import argparse
import os
import sys

import highdicom
import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--transfer-syntax", default=ExplicitVRLittleEndian)
    p.add_argument("--split", type=int, default=1)
    a = p.parse_args()

    by_series = {}
    for root, _, files in os.walk(a.src):
        for name in files:
            try:
                ds = pydicom.dcmread(os.path.join(root, name))
            except Exception:
                continue
            if getattr(ds, "Modality", "") != "CT" or "PixelData" not in ds:
                continue
            by_series.setdefault(ds.SeriesInstanceUID, []).append(ds)
    if not by_series:
        sys.exit(f"{a.src}: no CT slices")
    slices = max(by_series.values(), key=len)
    # One object has one pixel format, but real series mix Bits Stored (12 and 13 bits in the
    # shared HCC-TACE-Seg series): where they differ, every slice is re-stored as the signed
    # 16-bit values pydicom reads (the same numbers, so the same HU).
    formats = {(d.BitsAllocated, d.BitsStored, d.HighBit, d.PixelRepresentation) for d in slices}
    if len(formats) > 1:
        for d in slices:
            values = d.pixel_array.astype(np.int16)
            d.BitsStored, d.HighBit, d.PixelRepresentation = 16, 15, 1
            d.PixelData = values.tobytes()
    o = np.array(slices[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(o[:3], o[3:])
    slices.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, dtype=float))))

    series_uid = generate_uid()
    parts = np.array_split(np.arange(len(slices)), a.split)
    stem, ext = os.path.splitext(a.out)
    for n, idx in enumerate(parts):
        out = a.out if a.split == 1 else f"{stem}-{n + 1}{ext}"
        image = highdicom.legacy.LegacyConvertedEnhancedCTImage(
            legacy_datasets=[slices[i] for i in idx],
            series_instance_uid=series_uid,
            series_number=int(getattr(slices[0], "SeriesNumber", 1) or 1),
            sop_instance_uid=generate_uid(),
            instance_number=n + 1,
            transfer_syntax_uid=a.transfer_syntax,
        )
        image.save_as(out)
        print(out)


if __name__ == "__main__":
    main()
