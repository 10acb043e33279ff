#!/usr/bin/env python3
"""Reads an htb SR (TID 1500) with highdicom's parser and prints what it finds as JSON.

Used by DicomOutputTests: the values must equal report.json's. Output:
{"groups": {tracking_id: {"uid", "kind", "segment", "measurements": {meaning: [value, unit]}}},
 "evaluations": [[concept meaning, value (code value or text)]]}
"""
import json
import sys

import highdicom as hd


def main(path):
    sr = hd.sr.srread(path)
    report = sr.content
    out = {"groups": {}, "evaluations": []}
    kinds = [
        ("volumetric", report.get_volumetric_roi_measurement_groups()),
        ("individual", report.get_image_measurement_groups()),
    ]
    for kind, groups in kinds:
        for g in groups:
            segment = None
            if kind == "volumetric" and g.referenced_segment is not None:
                segment = int(g.referenced_segment[0].ReferencedSOPSequence[0].ReferencedSegmentNumber)
            out["groups"][g.tracking_identifier] = {
                "uid": str(g.tracking_uid),
                "kind": kind,
                "segment": segment,
                "finding": g.finding_type.value if g.finding_type is not None else None,
                "measurements": {m.name.meaning: [float(m.value), m.unit.value] for m in g.get_measurements()},
            }
    # Qualitative evaluations (TID 1500 rows 12-14): the CONTAINER's CODE and TEXT items.
    for item in sr.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeMeaning != "Qualitative Evaluations":
            continue
        for e in item.ContentSequence:
            name = e.ConceptNameCodeSequence[0].CodeMeaning
            if e.ValueType == "CODE":
                out["evaluations"].append([name, e.ConceptCodeSequence[0].CodeValue])
            elif e.ValueType == "TEXT":
                out["evaluations"].append([name, e.TextValue])
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
