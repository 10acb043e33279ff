import Analysis
import DicomIO
import Foundation
import Overlay
import Testing

/// `--dicom-out`: the SEG, the TID 1500 SR and the Secondary Capture pictures, checked with the
/// peers a PACS-side reader would use (dciodvfy, DCMTK's dsrdump, highdicom's SR parser) and
/// against report.json, the PNGs and the source's patient module.
@Suite("DICOM results (SEG, SR, Secondary Capture)")
struct DicomOutputTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-mid"
    static let expertMasks = [
        "--liver-mask", sample + "/truth/seg.dcm:Liver", "--lesion-mask", sample + "/truth/seg.dcm:Lesion*",
    ]
    static var hasHighdicom: Bool {
        (try? runProcess("/usr/bin/env", ["python3", "-c", "import highdicom"]).status) == 0
    }

    struct Run {
        var out: String
        var dicom: String
        var report: Report
        var files: [String] { report.dicomOutputs ?? [] }
    }

    /// `htb analyze STUDY ... --out OUT --dicom-out OUT/dicom`, which must succeed.
    static func analyze(_ study: String, _ extra: [String]) throws -> Run {
        let out = Paths.temporaryDirectory()
        let r = try runHTB(["analyze", study, "--out", out, "--dicom-out", out + "/dicom"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        return Run(out: out, dicom: out + "/dicom", report: report)
    }

    /// dciodvfy's error lines for `path` (warnings are allowed); nil when dciodvfy is absent.
    static func conformanceErrors(_ path: String) throws -> [String]? {
        guard let tool = PhantomTests.tool("dciodvfy") else { return nil }
        return try PhantomTests.run(tool, [path]).output.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("Error") }
    }

    /// highdicom's reading of the SR (Tests/peers/read_sr.py).
    static func readSR(_ path: String) throws -> [String: Any] {
        let r = try runProcess("/usr/bin/env", ["python3", Paths.packageRoot + "/Tests/peers/read_sr.py", path])
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// Every figure of report.json in the SR, as highdicom reads it, equal to the report's rounding.
    static func expectSRMatches(_ sr: [String: Any], _ report: Report, perLesion: Bool) {
        let groups = sr["groups"] as? [String: [String: Any]] ?? [:]
        func value(_ group: String, _ concept: String) -> (Double, String)? {
            guard let m = groups[group]?["measurements"] as? [String: [Any]], let v = m[concept], v.count == 2,
                let x = v[0] as? Double, let unit = v[1] as? String
            else { return nil }
            return (x, unit)
        }
        func expectValue(_ group: String, _ concept: String, _ expected: Double, _ unit: String) {
            let got = value(group, concept)
            #expect(
                got?.0 == expected && got?.1 == unit,
                "\(group) \(concept): \(String(describing: got)) vs \(expected) \(unit)")
        }
        expectValue("Liver", "Volume", report.liver.volumeML, "ml")
        expectValue("Liver", "Hepatic tumour burden", report.htb.percent, "%")
        expectValue("Liver parenchyma", "Volume", report.liver.parenchymaVolumeML, "ml")
        expectValue("All lesions", "Volume", report.lesions.totalVolumeML, "ml")
        #expect(groups["Liver"]?["segment"] as? Int == 1)
        #expect(groups["Liver"]?["kind"] as? String == "volumetric")
        for l in report.lesions.items {
            let name = "Lesion \(l.id)"
            expectValue(name, "Volume", l.volumeML, "ml")
            expectValue(name, "Long Axis", l.longestAxialDiameterMM, "mm")
            expectValue(name, "Short Axis", l.shortAxisMM, "mm")
            #expect(groups[name]?["kind"] as? String == (perLesion ? "volumetric" : "individual"))
            if perLesion { #expect(groups[name]?["segment"] as? Int == 1 + l.id) }
        }
        #expect(groups.count == 3 + report.lesions.items.count)
        let evaluations = (sr["evaluations"] as? [[String]]) ?? []
        #expect(evaluations.contains(["Hepatic tumour burden category", report.htb.category]))
        for f in report.flags { #expect(evaluations.contains(["htb flag", f])) }
    }

    @Test("expert masks, one segment per lesion: every object conforms and carries the report's figures")
    func objectsCarryTheReport() throws {
        let run = try Self.analyze(Self.sample, Self.expertMasks + ["--seg-per-lesion"])
        let names = run.files.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["seg.dcm", "sr.dcm", "sc_axial.dcm", "sc_coronal.dcm", "sc_sagittal.dcm"])
        for f in run.files {
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        // DCMTK's own SR reader renders it, with the HTB value as written.
        if let dsrdump = PhantomTests.tool("dsrdump") {
            let d = try PhantomTests.run(dsrdump, [run.dicom + "/sr.dcm"])
            #expect(d.status == 0, "\(d.output)")
            #expect(d.output.contains("Imaging Measurement Report"))
            #expect(
                d.output.contains("\"Hepatic tumour burden\")=\"\(decimalString(run.report.htb.percent, places: 4))\""),
                "\(d.output)")
        }
        if Self.hasHighdicom {
            Self.expectSRMatches(try Self.readSR(run.dicom + "/sr.dcm"), run.report, perLesion: true)
        }
        // The SEG and the SR name the same study as the CT and reference each other.
        let seg = try DicomFile(path: run.dicom + "/seg.dcm", headersOnly: true)
        let sr = try DicomFile(path: run.dicom + "/sr.dcm", headersOnly: true)
        #expect(seg.string(.studyInstanceUID) == run.report.study.studyUID)
        #expect(sr.string(.studyInstanceUID) == run.report.study.studyUID)
        #expect(seg.itemCount([TagPathStep(.segmentSequence)]) == 1 + run.report.lesions.count)
        for f in [seg, sr] {
            #expect(f.string(Tag(0x0008, 0x0070)) == "htb")
            #expect(f.string(Tag(0x0018, 0x1020)) == htbVersion)
            #expect(f.string(Tag(0x0008, 0x0023))?.count == 8)
        }
        // Each picture is its PNG, pixel for pixel.
        for (png, sc) in zip(Analysis.overlayFiles, Analysis.dicomPictureFiles) {
            let canvas = try PNGFile.decode(path: run.out + "/" + png)
            let f = try DicomFile(path: run.dicom + "/" + sc, headersOnly: false)
            #expect(try f.int(.rows) == canvas.height && f.int(.columns) == canvas.width)
            #expect(f.string(.photometricInterpretation) == "RGB")
            #expect(try f.decodedPixelBytes() == canvas.pixels, "\(sc) differs from \(png)")
        }
    }

    @Test("the SEG written reads back as masks that give the same figures")
    func segmentationReadsBack() throws {
        let run = try Self.analyze(Self.sample, Self.expertMasks + ["--seg-per-lesion", "--no-png"])
        #expect(!FileManager.default.fileExists(atPath: run.out + "/overlay_axial.png"))
        let seg = run.dicom + "/seg.dcm"
        let again = try runHTB([
            "analyze", Self.sample, "--liver-mask", seg + ":Liver", "--lesion-mask", seg + ":Lesion*", "--json",
            "--no-png", "--out", Paths.temporaryDirectory(),
        ])
        #expect(again.status == 0, "\(again.stderr)")
        let r = try Report.decode(Data(again.stdout.utf8))
        #expect(r.liver.volumeML == run.report.liver.volumeML)
        #expect(r.lesions.items.map(\.volumeML) == run.report.lesions.items.map(\.volumeML))
        #expect(r.htb.percent == run.report.htb.percent)
    }

    @Test("DICOM date and time in UTC")
    func dateTime() {
        #expect(dicomDateTime(Date(timeIntervalSince1970: 0)) == ("19700101", "000000"))
        #expect(dicomDateTime(Date(timeIntervalSince1970: 1_796_357_106.9)) == ("20261204", "040506"))
    }

    @Test(
        "frames that do not start on a byte (101 x 101 slices): the SEG reads back to the same voxels",
        arguments: [false, true])
    func unalignedFrames(perLesion: Bool) throws {
        let study = Paths.temporaryDirectory() + "/s101"
        let s = try runHTB(["synth", "--out", study, "--matrix", "101", "--slices", "24", "--seed", "3"])
        #expect(s.status == 0, "\(s.stderr)")
        let masks = ["--liver-mask", study + "/truth/seg.dcm:Liver", "--lesion-mask", study + "/truth/seg.dcm:Lesion*"]
        let run = try Self.analyze(study, masks + ["--no-png"] + (perLesion ? ["--seg-per-lesion"] : []))
        let seg = run.dicom + "/seg.dcm"
        let again = try runHTB([
            "analyze", study, "--liver-mask", seg + ":Liver", "--lesion-mask",
            seg + (perLesion ? ":Lesion*" : ":Lesions"),
            "--json", "--no-png", "--out", Paths.temporaryDirectory(),
        ])
        #expect(again.status == 0, "\(again.stderr)")
        let r = try Report.decode(Data(again.stdout.utf8))
        #expect(r.liver.voxelCount == run.report.liver.voxelCount)
        #expect(r.lesions.items.map(\.voxelCount) == run.report.lesions.items.map(\.voxelCount))
        if let errors = try Self.conformanceErrors(seg) { #expect(errors.isEmpty, "\(errors)") }
    }

    @Test("automatic segmentation: lesions in one segment; UIDs new each run, tracking UIDs stable")
    func automaticAndUIDs() throws {
        let a = try Self.analyze(Self.sample, ["--single-phase", "--no-png"])
        let b = try Self.analyze(Self.sample, ["--single-phase", "--no-png"])
        #expect(a.files.count == 5)
        for f in a.files {
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        func uids(_ path: String) throws -> [String] {
            let f = try DicomFile(path: path, headersOnly: true)
            return [f.string(.sopInstanceUID) ?? "", f.string(.seriesInstanceUID) ?? ""]
        }
        for name in ["seg.dcm", "sr.dcm", "sc_axial.dcm"] {
            let ua = try uids(a.dicom + "/" + name), ub = try uids(b.dicom + "/" + name)
            #expect(Set(ua).isDisjoint(with: ub), "\(name) reused a UID across runs")
        }
        let seg = try DicomFile(path: a.dicom + "/seg.dcm", headersOnly: true)
        #expect(seg.string([TagPathStep(.segmentSequence, item: 0), TagPathStep(Tag(0x0062, 0x0008))]) == "AUTOMATIC")
        if Self.hasHighdicom {
            let sa = try Self.readSR(a.dicom + "/sr.dcm"), sb = try Self.readSR(b.dicom + "/sr.dcm")
            Self.expectSRMatches(sa, a.report, perLesion: false)
            let ga = sa["groups"] as? [String: [String: Any]] ?? [:],
                gb = sb["groups"] as? [String: [String: Any]] ?? [:]
            #expect(!ga.isEmpty && ga.keys.sorted() == gb.keys.sorted())
            for k in ga.keys { #expect(ga[k]?["uid"] as? String == gb[k]?["uid"] as? String, "\(k)") }
            #expect(ga["All lesions"]?["segment"] as? Int == (a.report.lesions.count > 0 ? 2 : nil))
            let evaluations = (sa["evaluations"] as? [[String]]) ?? []
            #expect(
                evaluations.contains { $0.first == "Segmentation method" && $0.last?.hasPrefix("automatic") == true })
            #expect(
                evaluations.contains { $0.first == "Review needed" } == (a.report.automatic?.reviewNeeded == true),
                "the review flag is in the SR exactly when the report sets it")
        }
    }

    /// A copy of the sample's CT whose patient module `edit` changes (files saved in place).
    static func editedCopy(_ edit: (DicomFile) throws -> Void) throws -> String {
        let dir = Paths.temporaryDirectory() + "/study"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: sample + "/ct") {
            let f = try DicomFile(path: sample + "/ct/" + name, headersOnly: false)
            try edit(f)
            try f.save(to: dir + "/" + name)
        }
        return dir
    }

    @Test("odd characters in names are copied as UTF-8; --deidentify leaves no name, ID or birth date")
    func patientModule() throws {
        let name = "O'Brien-Müller^Zoë Ångström^^Dr.", id = "ID-ßø-4711", born = "19450817"
        let study = try Self.editedCopy { f in
            try f.set(Tag(0x0008, 0x0005), "ISO_IR 192")
            try f.set(Tag(0x0010, 0x0010), name)
            try f.set(.patientID, id)
            try f.set(Tag(0x0010, 0x0030), born)
            try f.set(Tag(0x0008, 0x0050), "ACC-Zoë-1")
        }
        let kept = try Self.analyze(study, ["--single-phase", "--no-png"])
        for f in kept.files {
            let d = try DicomFile(path: f, headersOnly: true)
            #expect(d.string(Tag(0x0010, 0x0010)) == name, "\(f)")
            #expect(d.string(.patientID) == id, "\(f)")
            #expect(d.string(Tag(0x0008, 0x0005)) == "ISO_IR 192", "\(f)")
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        let anonymous = try Self.analyze(study, ["--single-phase", "--deidentify", "--seg-per-lesion"])
        // Every byte of every object (and the PNGs beside them): no name part, ID, birth date or accession.
        let needles = ["O'Brien", "Müller", "Zoë", "Ångström", id, born, "ACC-Zo"].flatMap { s in
            [Data(s.utf8), s.data(using: .isoLatin1)].compactMap { $0 }
        }
        let outputs = anonymous.files + Analysis.overlayFiles.map { anonymous.out + "/" + $0 }
        #expect(outputs.count == 8)
        for f in outputs {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: f))
            for n in needles { #expect(bytes.range(of: n) == nil, "\(f) holds \(String(decoding: n, as: UTF8.self))") }
        }
        for f in anonymous.files {
            let d = try DicomFile(path: f, headersOnly: true)
            #expect(d.string(Tag(0x0012, 0x0062)) == "YES", "\(f)")
            #expect(d.string(.studyInstanceUID) == anonymous.report.study.studyUID, "\(f)")
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        let refused = try runHTB([
            "analyze", study, "--dicom-out", Paths.temporaryDirectory(), "--deidentify", "--burn-in-patient",
        ])
        #expect(refused.status == 64 && refused.stderr.contains("--burn-in-patient"), "\(refused.stderr)")
    }

    @Test("a source without patient-module attributes, or in Latin-1, still gives valid objects")
    func missingAndLatin1() throws {
        let bare = try Self.editedCopy { f in
            for t in [
                Tag(0x0010, 0x0010), .patientID, Tag(0x0010, 0x0030), Tag(0x0010, 0x0040), Tag(0x0008, 0x0020),
                Tag(0x0008, 0x0030), Tag(0x0020, 0x0010), Tag(0x0008, 0x0050), Tag(0x0008, 0x0090), .studyDescription,
            ] { f.remove(t) }
        }
        let run = try Self.analyze(bare, Self.expertMasks + ["--no-png"])
        #expect(run.files.count == 5)
        for f in run.files {
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        // Latin-1 (ISO_IR 100) bytes, written by pydicom: converted to UTF-8 in the outputs.
        guard (try? runProcess("/usr/bin/env", ["python3", "-c", "import pydicom"]).status) == 0 else { return }
        let latin = Paths.temporaryDirectory() + "/study"
        let script = """
            import os, sys, pydicom
            src, dst = sys.argv[1], sys.argv[2]
            os.makedirs(dst, exist_ok=True)
            for n in os.listdir(src):
                ds = pydicom.dcmread(os.path.join(src, n))
                ds.SpecificCharacterSet = 'ISO_IR 100'
                ds.PatientName = 'Müller^Jürgen'
                ds.save_as(os.path.join(dst, n))
            """
        let p = try runProcess("/usr/bin/env", ["python3", "-c", script, Self.sample + "/ct", latin])
        #expect(p.status == 0, "\(p.stderr)")
        let l = try Self.analyze(latin, Self.expertMasks + ["--no-png"])
        for f in l.files {
            let d = try DicomFile(path: f, headersOnly: true)
            #expect(d.string(Tag(0x0010, 0x0010)) == "Müller^Jürgen", "\(f)")
        }
    }

    @Test("batch --dicom-out: one folder per study, a failed study leaves none", .timeLimit(.minutes(5)))
    func batch() throws {
        let root = Paths.temporaryDirectory() + "/root"
        try FileManager.default.createDirectory(atPath: root + "/broken", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.sample, toPath: root + "/mid")
        // A study whose only series has one slice: it fails, the other is done.
        let ct = try FileManager.default.contentsOfDirectory(atPath: Self.sample + "/ct").sorted()
        let broken = try DicomFile(path: Self.sample + "/ct/" + ct[0], headersOnly: false)
        try broken.set(.studyInstanceUID, "1.2.3.4.5.6.7.8.9")
        try broken.set(.seriesInstanceUID, "1.2.3.4.5.6.7.8.10")
        try broken.save(to: root + "/broken/one.dcm")
        let out = Paths.temporaryDirectory() + "/out", dicom = Paths.temporaryDirectory() + "/dicom"
        let r = try runHTB(["batch", root, "--out", out, "--dicom-out", dicom, "--no-png", "--quiet"])
        #expect(r.status != 0, "one study must fail: \(r.stderr)")
        let rows = try String(contentsOfFile: out + "/results.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 2)
        let keys = try FileManager.default.contentsOfDirectory(atPath: dicom)
        #expect(keys.count == 1, "\(keys)")
        guard let key = keys.first else { return }
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: "\(out)/\(key)/report.json")))
        let names = ["seg.dcm", "sr.dcm", "sc_axial.dcm", "sc_coronal.dcm", "sc_sagittal.dcm"]
        #expect(report.dicomOutputs == names.map { "\(dicom)/\(key)/\($0)" })
        for f in report.dicomOutputs ?? [] { #expect(FileManager.default.fileExists(atPath: f), "\(f)") }
        // Again with --resume: the done study is kept, its DICOM folder untouched.
        let before =
            try FileManager.default.attributesOfItem(atPath: "\(dicom)/\(key)/sr.dcm")[.modificationDate] as? Date
        let again = try runHTB(["batch", root, "--out", out, "--dicom-out", dicom, "--no-png", "--quiet", "--resume"])
        #expect(again.status != 0)
        let after =
            try FileManager.default.attributesOfItem(atPath: "\(dicom)/\(key)/sr.dcm")[.modificationDate] as? Date
        #expect(before == after)
    }

    @Test(
        "the 512 x 512 x 119 study with expert masks: objects conform, SR equals the report",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
    func realStudy() throws {
        let d = Paths.realData + "/3Dircadb1.17"
        let run = try Self.analyze(
            d + "/PATIENT_DICOM",
            [
                "--liver-mask", d + "/MASKS_DICOM/liver", "--lesion-mask", d + "/MASKS_DICOM/livertumor1",
                "--lesion-mask", d + "/MASKS_DICOM/livertumor2", "--seg-per-lesion",
            ])
        for f in run.files {
            if let errors = try Self.conformanceErrors(f) { #expect(errors.isEmpty, "\(f): \(errors)") }
        }
        if Self.hasHighdicom {
            Self.expectSRMatches(try Self.readSR(run.dicom + "/sr.dcm"), run.report, perLesion: true)
        }
    }
}
