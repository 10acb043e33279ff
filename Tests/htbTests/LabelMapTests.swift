import Analysis
import Foundation
import NIfTI
import Phantom
import Testing
import VolumeModel

/// Masks from the segmenters radiologists already run, by label name: TotalSegmentator's
/// multi-label NIfTI (names in a header extension) and its one-file-per-structure folder, and
/// NRRD label maps as 3D Slicer saves segmentations (.seg.nrrd with segment names).
@Suite("Label maps by name (TotalSegmentator, 3D Slicer NRRD)")
struct LabelMapTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low"

    /// The sample's truth as a label map (1 liver parenchyma, 2 lesions) on its CT grid.
    static func truthLabels() throws -> Volume<UInt8> {
        let a = try Analysis.run(
            .init(
                studyPath: sample, liverMasks: [MaskSpec(sample + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(sample + "/truth/seg.dcm:Lesion*")]))
        return a.labelMap
    }

    /// `path` (a .nii written by htb) with a Caret LabelTable extension, as TotalSegmentator writes
    /// its multi-label output: extension flag, esize (padded to 16), ecode 0, the XML; vox_offset moved.
    static func addLabelTable(_ names: [Int: String], to path: String, writing out: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let body = names.sorted { $0.key < $1.key }.map {
            "<Label Key=\"\($0.key)\" Red=\"1\" Green=\"0\" Blue=\"0\" Alpha=\"1\"><![CDATA[\($0.value)]]></Label>\n"
        }.joined()
        var xml = Array(
            ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CaretExtension><VolumeInformation Index=\"0\"><LabelTable>\n"
                + body + "</LabelTable></VolumeInformation></CaretExtension>\n").utf8)
        while (xml.count + 8) % 16 != 0 { xml.append(0) }
        let size = xml.count + 8
        var ext: [UInt8] = []
        for v in [Int32(size), 0] { withUnsafeBytes(of: v.littleEndian) { ext += $0 } }
        ext += xml
        let voxOffset = Int(
            Float(
                bitPattern: UInt32(bytes[108]) | UInt32(bytes[109]) << 8 | UInt32(bytes[110]) << 16 | UInt32(bytes[111])
                    << 24))
        #expect(voxOffset == 352)
        bytes[348] = 1
        bytes.insert(contentsOf: ext, at: 352)
        withUnsafeBytes(of: Float(352 + size).bitPattern.littleEndian) { bytes.replaceSubrange(108..<112, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: out))
    }

    static func htb(_ dir: String, _ masks: [String]) throws -> Report {
        let r = try runHTB(["analyze", sample] + masks + ["--out", dir, "--no-png"])
        #expect(r.status == 0, "\(r.stderr)")
        return try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/report.json")))
    }

    @Test("TotalSegmentator's multi-label NIfTI: labels chosen by name; an unknown name lists those present")
    func niftiLabelNames() throws {
        let dir = Paths.temporaryDirectory()
        try NIfTIWriter.write(labels: try Self.truthLabels(), to: dir + "/plain.nii")
        let named = dir + "/labels.nii"
        try Self.addLabelTable([1: "liver", 2: "liver_tumor", 5: "spleen"], to: dir + "/plain.nii", writing: named)
        let image = try NIfTIImage.read(path: named)
        #expect(image.labelNames == [1: "liver", 2: "liver_tumor", 5: "spleen"])
        let byValue = try Self.htb(dir + "/a", ["--liver-mask", named + ":1", "--lesion-mask", named + ":2"])
        let byName = try Self.htb(
            dir + "/b", ["--liver-mask", named + ":Liver", "--lesion-mask", named + ":liver_tumor"])
        #expect(byName.liver.volumeML == byValue.liver.volumeML)
        #expect(byName.lesions.totalVolumeML == byValue.lesions.totalVolumeML && byValue.lesions.totalVolumeML > 0)
        let bad = try runHTB(["analyze", Self.sample, "--liver-mask", named + ":kidney", "--out", dir + "/c"])
        #expect(bad.status == 68)
        #expect(bad.stderr.contains("no segment 'kidney'") && bad.stderr.contains("1 liver, 2 liver_tumor, 5 spleen"))
        // A name in a file that names no labels says so.
        let none = try runHTB(["analyze", Self.sample, "--liver-mask", dir + "/plain.nii:liver", "--out", dir + "/d"])
        #expect(none.status == 68 && none.stderr.contains("the file names no labels"))
    }

    @Test("TotalSegmentator's folder (DIR/liver.nii.gz, DIR/liver_tumor.nii.gz) works with the existing options")
    func totalSegmentatorFolder() throws {
        let dir = Paths.temporaryDirectory()
        let labels = try Self.truthLabels()
        var liver = labels, tumour = labels
        // TotalSegmentator's liver mask holds the tumours (the whole organ); its liver task writes the tumours apart.
        for v in 0..<labels.voxels.count {
            liver.voxels[v] = labels.voxels[v] != 0 ? 1 : 0
            tumour.voxels[v] = labels.voxels[v] == 2 ? 1 : 0
        }
        try FileManager.default.createDirectory(atPath: dir + "/segmentations", withIntermediateDirectories: true)
        try NIfTIWriter.write(labels: liver, to: dir + "/segmentations/liver.nii.gz")
        try NIfTIWriter.write(labels: tumour, to: dir + "/segmentations/liver_tumor.nii.gz")
        let r = try Self.htb(
            dir + "/out",
            [
                "--liver-mask", dir + "/segmentations/liver.nii.gz", "--lesion-mask",
                dir + "/segmentations/liver_tumor.nii.gz",
            ])
        let expert = try Self.htb(
            dir + "/expert",
            [
                "--liver-mask", Self.sample + "/truth/seg.dcm:Liver", "--lesion-mask",
                Self.sample + "/truth/seg.dcm:Lesion*",
            ])
        #expect(abs(r.htb.percent - expert.htb.percent) < 1e-9)
        #expect(r.lesions.count == expert.lesions.count)
    }

    /// The label map as an NRRD: LPS or RAS, raw or gzip, uint8 or big-endian uint16, with segments.
    static func writeNRRD(
        _ labels: Volume<UInt8>, to path: String, ras: Bool, gzip: Bool, uint16BigEndian: Bool,
        segments: [(String, Int)]
    ) throws {
        let g = labels.geometry, s = g.spacingMM
        let sign = ras ? -1.0 : 1.0
        func v(_ a: Vector3) -> String { "(\(sign * a.x),\(sign * a.y),\(a.z))" }
        var header =
            "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n"
        header += "type: \(uint16BigEndian ? "unsigned short" : "unsigned char")\ndimension: 3\n"
        header += "space: \(ras ? "right-anterior-superior" : "left-posterior-superior")\n"
        header += "sizes: \(g.dims.x) \(g.dims.y) \(g.dims.z)\n"
        header += "space directions: \(v(g.axes.0 * s.x)) \(v(g.axes.1 * s.y)) \(v(g.axes.2 * s.z))\n"
        header += "kinds: domain domain domain\n"
        if uint16BigEndian { header += "endian: big\n" }
        header += "encoding: \(gzip ? "gzip" : "raw")\nspace origin: \(v(g.originMM))\n"
        for (n, (name, value)) in segments.enumerated() {
            header += "Segment\(n)_Name:=\(name)\nSegment\(n)_LabelValue:=\(value)\nSegment\(n)_Layer:=0\n"
        }
        header += "\n"
        var payload: [UInt8] =
            uint16BigEndian ? labels.voxels.flatMap { [UInt8(0), $0] } : labels.voxels
        if gzip {
            let raw = path + ".payload"
            try Data(payload).write(to: URL(fileURLWithPath: raw))
            let r = try runProcess("/usr/bin/gzip", ["-n", "-f", raw])
            #expect(r.status == 0)
            payload = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw + ".gz")))
        }
        try Data(Array(header.utf8) + payload).write(to: URL(fileURLWithPath: path))
    }

    @Test(
        "3D Slicer .seg.nrrd and .nrrd label maps (LPS or RAS, raw or gzip, 8 or 16 bits): the same volumes as the NIfTI",
        arguments: [(false, false, false), (true, true, true), (true, false, true), (false, true, false)])
    func nrrd(_ ras: Bool, _ gzip: Bool, _ wide: Bool) throws {
        let dir = Paths.temporaryDirectory()
        let labels = try Self.truthLabels()
        let path = dir + "/Segmentation.seg.nrrd"
        try Self.writeNRRD(
            labels, to: path, ras: ras, gzip: gzip, uint16BigEndian: wide, segments: [("Liver", 1), ("Tumour", 2)])
        let image = try NIfTIImage.readNRRD(path: path)
        #expect(image.labelNames == [1: "Liver", 2: "Tumour"])
        #expect(image.geometry.matches(labels.geometry, toleranceMM: 1e-3))
        #expect(image.mask(label: 2).voxels == labels.voxels.map { $0 == 2 ? 1 : 0 })
        try NIfTIWriter.write(labels: labels, to: dir + "/labels.nii.gz")
        let viaNIfTI = try Self.htb(
            dir + "/a", ["--liver-mask", dir + "/labels.nii.gz:1", "--lesion-mask", dir + "/labels.nii.gz:2"])
        let viaNRRD = try Self.htb(dir + "/b", ["--liver-mask", path + ":liver", "--lesion-mask", path + ":Tumour"])
        #expect(viaNRRD.liver.volumeML == viaNIfTI.liver.volumeML)
        #expect(viaNRRD.lesions.totalVolumeML == viaNIfTI.lesions.totalVolumeML)
        #expect(viaNRRD.inputs.liverMasks.map(\.kind) == ["nrrd"])
    }

    @Test("NRRD that cannot be a CT's mask is refused with the field and what to do (exit 68)")
    func badNRRD() throws {
        let dir = Paths.temporaryDirectory()
        let cases: [(String, String)] = [
            ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\ndata file: x.raw\nencoding: raw\n\n", "attached data"),
            (
                "NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 2 2 2\nencoding: raw\n\n",
                "multi-layer .seg.nrrd"
            ),
            (
                "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nspace: scanner-xyz\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: raw\n\n\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
                "RAS or LPS"
            ),
            (
                "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4 4 4\nspace: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: raw\n\n\u{1}\u{1}",
                "truncated"
            ),
            (
                "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nspace: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: gzip\n\nnot gzip",
                "gzip"
            ),
            (
                "NRRD0004\ntype: short\ndimension: 3\nsizes: 9223372036854775807 2 2\nspace: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: raw\n\n\u{0}\u{0}",
                "fits in memory"
            ),
        ]
        for (n, (text, reason)) in cases.enumerated() {
            let path = dir + "/bad\(n).nrrd"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runHTB(["analyze", Self.sample, "--liver-mask", path, "--out", dir + "/out\(n)"])
            #expect(r.status == 68, "\(n): \(r.stderr)")
            #expect(r.stderr.contains(path) && r.stderr.contains(reason), "\(n): \(r.stderr)")
        }
    }

    @Test("a NIfTI whose vox_offset is no byte offset in the file (NaN, infinite, negative, past the end) is refused")
    func badVoxOffset() throws {
        let dir = Paths.temporaryDirectory()
        try NIfTIWriter.write(labels: try Self.truthLabels(), to: dir + "/labels.nii")
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/labels.nii")))
        for (n, value) in [Float.nan, .infinity, -352, 1e12, 352.5].enumerated() {
            var bytes = good
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(108..<112, with: $0) }
            let path = dir + "/bad\(n).nii"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: NIfTIError.self) { try NIfTIImage.read(path: path) }
            let r = try runHTB(["analyze", Self.sample, "--liver-mask", path, "--out", dir + "/out\(n)"])
            #expect(r.status == 68, "\(value): \(r.stderr)")
            #expect(r.stderr.contains(path) && r.stderr.contains("vox_offset"), "\(value): \(r.stderr)")
        }
    }

    @Test("an NRRD written by SimpleITK (an independent writer) reads to the NIfTI's grid and voxels")
    func nrrdFromSimpleITK() throws {
        guard (try? runProcess("/usr/bin/env", ["python3", "-c", "import SimpleITK"]).status) == 0 else {
            print("skipped: SimpleITK not installed; scripts/setup --test-peers installs it")
            return
        }
        let dir = Paths.temporaryDirectory()
        let labels = try Self.truthLabels()
        try NIfTIWriter.write(labels: labels, to: dir + "/labels.nii.gz")
        let script = """
            import sys, SimpleITK as sitk
            image = sitk.ReadImage(sys.argv[1])
            sitk.WriteImage(image, sys.argv[2], useCompression=True)
            sitk.WriteImage(sitk.Cast(image, sitk.sitkUInt16), sys.argv[3], useCompression=False)
            """
        let r = try runProcess(
            "/usr/bin/env",
            ["python3", "-c", script, dir + "/labels.nii.gz", dir + "/gzip.nrrd", dir + "/raw16.nrrd"])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["gzip.nrrd", "raw16.nrrd"] {
            let image = try NIfTIImage.readNRRD(path: dir + "/" + name)
            #expect(image.geometry.matches(labels.geometry, toleranceMM: 1e-3), "\(name): \(image.geometry)")
            #expect(image.mask(label: 2).voxels == labels.voxels.map { $0 == 2 ? 1 : 0 }, "\(name)")
            #expect(image.mask(label: 1).voxels == labels.voxels.map { $0 == 1 ? 1 : 0 }, "\(name)")
        }
    }
}
