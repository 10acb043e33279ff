import Analysis
import DicomIO
import Foundation
import Overlay
import Phantom
import Response
import Testing
import VolumeModel
import Volumetry

/// `htb compare`: phantom pairs with the exact truth of every change (`htb synth --follow-up-of`),
/// a real study against a moved copy of itself, finished outputs, bad pairs.
@Suite("Treatment response (htb compare)")
struct ResponseTests {
    static let common = "--matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8"

    /// A side made from a phantom's truth labels (no DICOM round trip).
    static func side(_ p: Phantom, _ name: String) -> Side {
        var liver = Mask(repeating: 0, geometry: p.labels.geometry), lesions = liver
        for v in 0..<liver.voxels.count {
            if p.labels.voxels[v] != 0 { liver.voxels[v] = 1 }
            if p.labels.voxels[v] == 2 { lesions.voxels[v] = 1 }
        }
        return Side(
            name: name, source: name, kind: "study", studyUID: p.truth.command, seriesUID: "-",
            patientID: "PHANTOM-\(p.spec.seed)", studyDate: p.spec.followUp == nil ? "20260101" : "20260401",
            liver: liver, lesions: lesions, maskSources: ["expert"])
    }

    /// The truth's response category: its volumes and its new lesions (those measurable by RECIST,
    /// >= 10 mm across, counted), with the comparison's rules.
    static func truthCategory(_ p: Phantom) throws -> String {
        let t = p.truth, f = t.followUp!
        let s = side(p, "truth")
        let m = try Volumetry.measure(liver: s.liver, lesions: s.lesions)
        let measurable = f.newLesions.filter {
            m.lesions[$0 - 1].diameters.longestMM >= Comparison.measurableNewLesionMM
        }
        let change =
            f.baselineLesionVolumeML > 0
            ? 100 * (t.lesionVolumeML - f.baselineLesionVolumeML) / f.baselineLesionVolumeML : nil
        return Comparison.category(
            baselineML: f.baselineLesionVolumeML, followUpML: t.lesionVolumeML, changePercent: change,
            newLesions: measurable.count
        ).category
    }

    static let pairSpecs: [(seed: UInt64, scale: Double, new: Int, shift: Vector3)] = [
        (1, 0.3, 0, Vector3(10, 0, 0)), (2, 1.5, 1, Vector3(0, -20, 5)), (3, 0.5, 2, Vector3(12, -8, 15)),
        (4, 1.0, 0, Vector3(-30, 0, 0)), (5, 0.8, 1, Vector3(0, 0, -25)), (6, 1.2, 0, Vector3(20, 20, 0)),
        (7, 0.3, 1, Vector3(-15, 10, 10)), (8, 1.8, 0, Vector3(5, -5, -5)), (9, 0.6, 2, Vector3(0, 30, 0)),
        (10, 0.2, 0, Vector3(-10, -10, 20)),
    ]

    /// A pair's baseline and follow-up phantoms, built in memory.
    static func pair(_ s: (seed: UInt64, scale: Double, new: Int, shift: Vector3)) throws -> (
        baseline: Phantom, followUp: Phantom
    ) {
        var spec = PhantomSpec()
        (spec.seed, spec.matrix, spec.slices, spec.sliceMM, spec.pixelMM) = (s.seed, 128, 40, 5, 2.8)
        (spec.lesions, spec.htbPercent) = (6, 12)
        let baseline = try Phantom.build(spec)
        spec.followUp = .init(scale: s.scale, newLesions: s.new, shiftMM: s.shift)
        return (baseline, try Phantom.build(spec, baseline: baseline))
    }

    /// Three of the benchmark's ten pairs (Benchmarks/response_pairs.py runs all ten, also with
    /// automatic masks): a shrinking liver whose lesions split and vanish, new lesions, a shift
    /// that pushes the liver's dome out of the field of view.
    @Test(
        "phantom pairs: every lesion matched as the truth pairs them, the response category right",
        arguments: [0, 2, 9])
    func phantomPairs(_ n: Int) throws {
        let s = Self.pairSpecs[n]
        let (baseline, followUp) = try Self.pair(s)
        let truth = try #require(followUp.truth.followUp)
        #expect(truth.baselineLesionVolumesML == baseline.truth.lesionVolumesML)
        let c = try Comparison.compare(Self.side(baseline, "baseline"), Self.side(followUp, "follow-up"))
        // Alignment: the shift, to the grid (nearest-voxel overlap is flat within half a voxel).
        let g = baseline.labels.geometry.spacingMM
        #expect(
            (c.alignment.translationMM - s.shift).length <= 0.5 * g.length, "\(c.alignment.translationMM) vs \(s.shift)"
        )
        let matched = Set(
            c.lesions.filter { !$0.baselineIDs.isEmpty && !$0.followUpIDs.isEmpty }.map {
                [$0.baselineIDs, $0.followUpIDs]
            })
        #expect(
            matched == ComparisonQA.groups(truth.pairs),
            "seed \(s.seed): \(matched) vs truth \(truth.pairs), gone \(truth.goneLesions), new \(truth.newLesions), volumes \(baseline.truth.lesionVolumesML) -> \(followUp.truth.lesionVolumesML)"
        )
        #expect(Set(c.lesions.filter { $0.status == "new" }.flatMap(\.followUpIDs)) == Set(truth.newLesions))
        #expect(Set(c.lesions.filter { $0.status == "gone" }.flatMap(\.baselineIDs)) == Set(truth.goneLesions))
        #expect(c.response.category == (try Self.truthCategory(followUp)), "seed \(s.seed): \(c.response)")
        #expect(abs(c.followUp.lesionVolumeML - followUp.truth.lesionVolumeML) < 1e-6)
        #expect(abs(c.baseline.lesionVolumeML - baseline.truth.lesionVolumeML) < 1e-6)
        #expect(c.warnings.isEmpty, "\(c.warnings)")
        print(
            "pair seed \(s.seed) scale \(s.scale) new \(s.new): \(c.response.category), groups \(matched.count), shift error \(String(format: "%.2f", (c.alignment.translationMM - s.shift).length)) mm"
        )
    }

    @Test(
        "a lesion is new only where the baseline CT does not show it: the truth's new lesions are new; one the baseline's masks miss is seen at baseline and not counted"
    )
    func seenAtBaseline() throws {
        let s = Self.pairSpecs[2]  // seed 3: scale 0.5, two new lesions
        let (baseline, followUp) = try Self.pair(s)
        var b = Self.side(baseline, "baseline"), f = Self.side(followUp, "follow-up")
        (b.ct, f.ct) = (baseline.ct, followUp.ct)
        let c = try Comparison.compare(b, f)
        let new = c.lesions.filter { $0.status == "new" }
        #expect(new.count == 2 && new.allSatisfy { $0.seenAtBaseline == false }, "\(new)")
        // The baseline's masks without its largest lesion (as an automatic segmentation may miss
        // it): its follow-up partners (the lesion and a fragment it shed) have none, but the
        // baseline CT shows them.
        let m = try Volumetry.measure(liver: b.liver, lesions: b.lesions)
        for v in m.components.voxels[0] { b.lesions.voxels[v] = 0 }
        let missed = try Comparison.compare(b, f)
        let seen = missed.lesions.filter { $0.seenAtBaseline == true }
        let partners = Set(try #require(c.lesions.first { $0.baselineIDs == [1] }).followUpIDs)
        #expect(Set(seen.flatMap(\.followUpIDs)) == partners && seen.allSatisfy { $0.status == "new" })
        #expect(missed.lesions.filter { $0.status == "new" && $0.seenAtBaseline == false }.count == 2)
        let (cf, cb) = (seen.first?.followUpContrastHU ?? 0, seen.first?.baselineContrastHU ?? 0)
        print(
            "seen at baseline: contrast \(cf) HU at follow-up, \(cb) HU at baseline; new ones \(new.map { ($0.followUpContrastHU ?? 0, $0.baselineContrastHU ?? 0) })"
        )
        // Without the CTs nothing is judged: the lesion counts as new.
        (b.ct, f.ct) = (nil, nil)
        #expect(try Comparison.compare(b, f).lesions.allSatisfy { $0.seenAtBaseline == nil })
    }

    @Test("the CLI on a phantom pair: studies and finished outputs give the same comparison; compare.json conforms")
    func cli() throws {
        let dir = Paths.temporaryDirectory()
        let base = dir + "/base", later = dir + "/later"
        var r = try runHTB(
            ["synth", "--out", base, "--seed", "3", "--lesions", "6", "--htb", "20"]
                + Self.common.split(separator: " ").map(String.init))
        #expect(r.status == 0, "\(r.stderr)")
        r = try runHTB(["synth", "--out", later, "--follow-up-of", base, "--scale", "0.2", "--shift-mm", "10,-5,20"])
        #expect(r.status == 0, "\(r.stderr)")
        let truth = try JSONDecoder().decode(
            PhantomTruth.self, from: Data(contentsOf: URL(fileURLWithPath: later + "/truth.json")))
        #expect(truth.followUp?.newLesions == [])
        func masks(_ side: String, _ study: String) -> [String] {
            [
                "--\(side)-liver-mask", study + "/truth/seg.dcm:Liver", "--\(side)-lesion-mask",
                study + "/truth/seg.dcm:Lesion*",
            ]
        }
        r = try runHTB(
            ["compare", base, later, "--out", dir + "/c1", "--single-phase"] + masks("baseline", base)
                + masks("followup", later))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Response: PARTIAL"), "\(r.stdout)")  // 0.2 x the volume: -80 %
        // The picture: both halves show lesions tinted by status (shrinking: bluish green).
        let png = try PNGFile.decode(path: dir + "/c1/compare.png")
        #expect(png.width == 2 * ComparisonPicture.tilePixels + 6)
        var tinted = (left: 0, right: 0)
        let shrinking = ComparisonPicture.colour("shrinking")
        for y in 0..<png.height {
            for x in 0..<png.width {
                let p = png.pixel(x, y)
                // A 50 % blend of the status colour over grey keeps its hue: green above red and blue.
                if Int(p.g) > Int(p.r) + 20 && Int(p.g) > Int(p.b) - 10 && shrinking.g > shrinking.r {
                    if x < ComparisonPicture.tilePixels { tinted.left += 1 } else { tinted.right += 1 }
                }
            }
        }
        #expect(tinted.left > 50 && tinted.right > 5, "\(tinted)")
        #expect(tinted.left > tinted.right, "the baseline shows more lesion than the shrunken follow-up: \(tinted)")
        #expect(try PNGFile.textChunks(path: dir + "/c1/compare.png").contains { $0 == ("htb:response", "partial") })
        // The same from two finished analyze outputs.
        for (study, out) in [(base, dir + "/a1"), (later, dir + "/a2")] {
            let a = try runHTB(
                [
                    "analyze", study, "--out", out, "--save-masks", "--single-phase", "--no-png", "--liver-mask",
                    study + "/truth/seg.dcm:Liver", "--lesion-mask", study + "/truth/seg.dcm:Lesion*",
                ])
            #expect(a.status == 0, "\(a.stderr)")
        }
        r = try runHTB(["compare", dir + "/a1", dir + "/a2", "--out", dir + "/c2"])
        #expect(r.status == 0, "\(r.stderr)")
        // The NIfTI label map carries the grid in float32: figures agree to rounding.
        func load(_ path: String) throws -> Comparison {
            try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        }
        let c1 = try load(dir + "/c1/compare.json"), c2 = try load(dir + "/c2/compare.json")
        #expect(c1.response.category == c2.response.category && c1.response.category == "partial")
        #expect(c1.lesions.map(\.status) == c2.lesions.map(\.status))
        #expect(c1.lesions.map(\.baselineIDs) == c2.lesions.map(\.baselineIDs))
        #expect(c1.lesions.map(\.followUpIDs) == c2.lesions.map(\.followUpIDs))
        for (x, y) in zip(c1.lesions, c2.lesions) {
            #expect(
                abs(x.baselineVolumeML - y.baselineVolumeML) < 1e-3
                    && abs(x.followUpVolumeML - y.followUpVolumeML) < 1e-3)
        }
        #expect((c1.alignment.translationMM - c2.alignment.translationMM).length < 0.5)
        // The outputs' studies are still where their reports say: the picture is drawn and the
        // patient checked from them, as for the studies.
        #expect(!c2.warnings.contains { $0.contains("patient identity not checked") })
        #expect(c1.picture == "compare.png" && c2.picture == "compare.png")
        #expect(try PNGFile.decode(path: dir + "/c2/compare.png").width == png.width)
        // Moved away: no picture, the reason said, the patient not checked (warned), figures unchanged.
        try FileManager.default.moveItem(atPath: base, toPath: dir + "/moved-base")
        r = try runHTB(["compare", dir + "/a1", dir + "/a2", "--out", dir + "/c3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Picture   none (the study of \(dir)/a1 is not at \(base) any more)"), "\(r.stdout)")
        let c3 = try load(dir + "/c3/compare.json")
        #expect(c3.picture == nil && c3.warnings.contains { $0.contains("patient identity not checked") })
        #expect(c3.lesions.map(\.status) == c2.lesions.map(\.status))
        try FileManager.default.moveItem(atPath: dir + "/moved-base", toPath: base)
        // qa of the comparison against the follow-up's truth: matching right, category right.
        for c in ["c1", "c2"] {
            let q = try runHTB([
                "qa", "--comparison", dir + "/\(c)/compare.json", "--follow-up-truth", later + "/truth.json",
                "--require-category", "--json",
            ])
            #expect(q.status == 0, "\(q.stderr)")
            let j = try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(j["matching"] as? String == "right" && j["category_agrees"] as? Bool == true, "\(j)")
            #expect((j["tumour_change_error_points"] as? Double ?? 99) < 0.01, "\(j)")
        }
        // A comparison whose pairing is wrong (one follow-up id swapped) fails qa (exit 82).
        var doc = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/c1/compare.json")))
                as? [String: Any])
        var lesions = try #require(doc["lesions"] as? [[String: Any]])
        lesions[0]["follow_up_ids"] = [99]
        doc["lesions"] = lesions
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: dir + "/tampered.json"))
        let q = try runHTB(["qa", "--comparison", dir + "/tampered.json", "--follow-up-truth", later + "/truth.json"])
        #expect(q.status == 82, "\(q.stdout) \(q.stderr)")
        #expect(q.stdout.contains("matching wrong"), "\(q.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/c3/compare.png"))
    }

    @Test("a manifest of pairs: a folder and a summary row per pair; a bad pair fails alone (exit 80)")
    func manifest() throws {
        let dir = Paths.temporaryDirectory()
        var r = try runHTB(
            ["synth", "--out", dir + "/base", "--seed", "4", "--lesions", "4", "--htb", "10"]
                + Self.common.split(separator: " ").map(String.init))
        #expect(r.status == 0, "\(r.stderr)")
        r = try runHTB(["synth", "--out", dir + "/later", "--follow-up-of", dir + "/base", "--scale", "0.2"])
        #expect(r.status == 0, "\(r.stderr)")
        let manifest = """
            {"pairs": [
              {"id": "good", "baseline": "base", "follow_up": "later",
               "baseline_liver_masks": ["base/truth/seg.dcm:Liver"], "baseline_lesion_masks": ["base/truth/seg.dcm:Lesion*"],
               "follow_up_liver_masks": ["later/truth/seg.dcm:Liver"], "follow_up_lesion_masks": ["later/truth/seg.dcm:Lesion*"]},
              {"id": "bad", "baseline": "base", "follow_up": "missing",
               "baseline_liver_masks": ["base/truth/seg.dcm:Liver"], "baseline_lesion_masks": ["base/truth/seg.dcm:Lesion*"]}
            ]}
            """
        try manifest.write(toFile: dir + "/pairs.json", atomically: true, encoding: .utf8)
        r = try runHTB(["compare", "--manifest", dir + "/pairs.json", "--out", dir + "/out", "--single-phase"])
        #expect(r.status == 80, "\(r.stderr)")
        let rows = try String(contentsOfFile: dir + "/out/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 3)
        #expect(rows[0].hasPrefix("id,status,error_class,error_message,response"))
        #expect(rows[1].hasPrefix("good,ok,,,partial,"), "\(rows[1])")
        #expect(rows[2].hasPrefix("bad,failed,no_input,"), "\(rows[2])")
        #expect(FileManager.default.fileExists(atPath: dir + "/out/good/compare.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/out/good/compare.png"))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/out")
        #expect(Set(left) == ["good", "summary.csv"], "\(left)")
        // A manifest that cannot be used: exit 64 with the file and the reason.
        try #"{"pairs": [{"id": "../x", "baseline": "a", "follow_up": "b"}]}"#.write(
            toFile: dir + "/bad.json", atomically: true, encoding: .utf8)
        r = try runHTB(["compare", "--manifest", dir + "/bad.json", "--out", dir + "/out2"])
        #expect(r.status == 64 && r.stderr.contains("bad.json: bad pairs manifest: pair 1: id '../x'"), "\(r.stderr)")
    }

    @Test("bad pairs: two patients refused, a swapped order and one study twice warned, no masks named")
    func badPairs() throws {
        let dir = Paths.temporaryDirectory()
        let a = dir + "/a", b = dir + "/b", later = dir + "/later"
        for (out, seed) in [(a, "1"), (b, "2")] {
            let r = try runHTB(
                ["synth", "--out", out, "--seed", seed, "--lesions", "3", "--htb", "5"]
                    + Self.common.split(separator: " ").map(String.init))
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try runHTB(["synth", "--out", later, "--follow-up-of", a, "--scale", "1"]).status == 0)
        func masks(_ side: String, _ study: String) -> [String] {
            [
                "--\(side)-liver-mask", study + "/truth/seg.dcm:Liver", "--\(side)-lesion-mask",
                study + "/truth/seg.dcm:Lesion*",
            ]
        }
        var r = try runHTB(
            ["compare", a, b, "--out", dir + "/x", "--single-phase"] + masks("baseline", a) + masks("followup", b))
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("different patients (Patient ID 'PHANTOM-1' and 'PHANTOM-2')"), "\(r.stderr)")
        r = try runHTB(
            ["compare", later, a, "--out", dir + "/y", "--single-phase"] + masks("baseline", later)
                + masks("followup", a))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("older than the baseline"), "\(r.stdout)")
        r = try runHTB(
            ["compare", a, a, "--out", dir + "/z", "--single-phase"] + masks("baseline", a) + masks("followup", a))
        #expect(r.stdout.contains("the same study"), "\(r.stdout)")
        // An analyze output without --save-masks cannot be compared: exit 66, the folder named.
        #expect(
            try runHTB(
                ["analyze", a, "--out", dir + "/nomasks", "--no-png", "--single-phase"] + [
                    "--liver-mask", a + "/truth/seg.dcm:Liver",
                ]
            ).status == 0)
        r = try runHTB(["compare", dir + "/nomasks", a, "--out", dir + "/w", "--single-phase"] + masks("followup", a))
        #expect(r.status == 66, "\(r.stderr)")
        #expect(r.stderr.contains("nomasks: an htb analyze output needs its masks"), "\(r.stderr)")
    }

    @Test(
        "a real study against a copy of itself moved 20 mm (new Study UID): every lesion matched, no change",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
    func realMovedCopy() throws {
        guard (try? runProcess("/usr/bin/env", ["python3", "-c", "import pydicom"]).status) == 0 else {
            print("skipped: pydicom not installed; make test installs it")
            return
        }
        let root = Paths.realData + "/3Dircadb1.17"
        let moved = Paths.temporaryDirectory()
        // The CT and its three mask series, every Image Position moved by (20, 0, 0) mm, new UIDs.
        let script = """
            import os, sys, pydicom
            from pydicom.uid import generate_uid
            src, dst = sys.argv[1], sys.argv[2]
            study = generate_uid()
            for sub in ["PATIENT_DICOM", "MASKS_DICOM/liver", "MASKS_DICOM/livertumor1", "MASKS_DICOM/livertumor2"]:
                os.makedirs(os.path.join(dst, sub))
                series = generate_uid()
                for name in sorted(os.listdir(os.path.join(src, sub))):
                    ds = pydicom.dcmread(os.path.join(src, sub, name))
                    p = [float(v) for v in ds.ImagePositionPatient]
                    ds.ImagePositionPatient = [p[0] + 20, p[1], p[2]]
                    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
                    ds.SOPInstanceUID = generate_uid()
                    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                    ds.save_as(os.path.join(dst, sub, name))
            """
        let p = try runProcess("/usr/bin/env", ["python3", "-c", script, root, moved])
        #expect(p.status == 0, "\(p.stderr)")
        let out = Paths.temporaryDirectory()
        let r = try runHTB([
            "compare", root + "/PATIENT_DICOM", moved + "/PATIENT_DICOM", "--out", out, "--single-phase",
            "--baseline-liver-mask", root + "/MASKS_DICOM/liver", "--baseline-lesion-mask",
            root + "/MASKS_DICOM/livertumor1",
            "--baseline-lesion-mask", root + "/MASKS_DICOM/livertumor2",
            "--followup-liver-mask", moved + "/MASKS_DICOM/liver", "--followup-lesion-mask",
            moved + "/MASKS_DICOM/livertumor1",
            "--followup-lesion-mask", moved + "/MASKS_DICOM/livertumor2",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/compare.json"))
        let c = try JSONDecoder().decode(Comparison.self, from: data)
        #expect((c.alignment.translationMM - Vector3(20, 0, 0)).length < 0.01, "\(c.alignment.translationMM)")
        #expect(c.alignment.liverDice > 0.999)
        #expect(c.lesions.count == 2)
        for l in c.lesions {
            #expect(l.baselineIDs.count == 1 && l.followUpIDs == l.baselineIDs && l.matchedBy == "overlap")
            #expect(abs(l.changePercent ?? 1) < 1e-9 && l.status == "stable")
        }
        #expect(c.response.category == "stable")
        // A copy keeps the Study Date (and 3D-IRCADb has no Patient ID): only those are warned.
        #expect(
            c.warnings.allSatisfy { $0.contains("both studies were made on") || $0.contains("gives no Patient ID") },
            "\(c.warnings)")
        print("IRCADb 17 moved 20 mm: \(c.summaryText)")
    }

    @Test(
        "a real study's two phases as baseline and follow-up (HCC 1720: equilibrium with expert masks, then arterial): lesions matched, change reported",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
    func realTwoPhases() throws {
        let dir = Paths.temporaryDirectory()
        let root = Paths.realData + "/HCC-TACE-Seg/1720"
        let liver = root + "/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Liver.dcm"
        let tumour = root + "/SEGMENTATIONS/31_EQP_Ax5.00mm_ManualROI_Tumor.dcm"
        let phases = ["--baseline-series", "31_EQP", "--followup-series", "10_AP", "--single-phase"]
        // The expert's equilibrium masks do not fit the arterial series' slices (0.83 mm apart along
        // the table): refused with the measured mismatch rather than moved.
        var r = try runHTB(
            ["compare", root, root, "--out", dir + "/expert"] + phases
                + [
                    "--baseline-liver-mask", liver, "--baseline-lesion-mask", tumour, "--followup-liver-mask", liver,
                    "--followup-lesion-mask", tumour,
                ])
        #expect(r.status == 68 && r.stderr.contains("not on the CT's grid"), "\(r.stderr)")
        func load(_ path: String) throws -> Comparison {
            try JSONDecoder().decode(Comparison.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        }
        // The arterial phase segmented automatically: a comparison made and its change reported
        // (its category rests on the automatic lesions: a reader checks compare.png).
        r = try runHTB(
            ["compare", root, root, "--out", dir + "/auto"] + phases
                + ["--baseline-liver-mask", liver, "--baseline-lesion-mask", tumour])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try load(dir + "/auto/compare.json")
        #expect(a.totals.tumourVolumeChangePercent != nil && !a.response.reason.isEmpty)
        #expect(a.lesions.contains { !$0.baselineIDs.isEmpty && !$0.followUpIDs.isEmpty })
        #expect(FileManager.default.fileExists(atPath: dir + "/auto/compare.png"))
        print("HCC 1720 equilibrium -> arterial, automatic arterial lesions: \(a.summaryText)")
    }
}
