import Analysis
import DicomIO
import Foundation
import NIfTI
import Phantom
import Testing
import VolumeModel

/// Broken studies made by the tests themselves from a tiny phantom: each gives a specific message
/// and the documented exit code, never a crash, a hang or a number.
@Suite("Bad input")
struct BadInputTests {
    /// A 48x48x16 phantom written to a fresh folder; returns the folder.
    static func study(_ name: String = #function) throws -> String {
        var spec = PhantomSpec()
        spec.seed = 3
        spec.matrix = 48
        spec.slices = 16
        spec.pixelMM = 7
        spec.sliceMM = 10
        spec.lesions = 2
        spec.htbPercent = 10
        spec.noiseHU = 5
        let dir = Paths.temporaryDirectory(name)
        try Phantom.build(spec).write(to: dir)
        return dir
    }

    static func analyze(_ dir: String, ct: String? = nil, extra: [String] = []) throws -> RunResult {
        try runHTB(
            [
                "analyze", ct ?? dir + "/ct", "--liver-mask", dir + "/truth/labels.nii.gz:1",
                "--lesion-mask", dir + "/truth/labels.nii.gz:2", "--out", dir + "/out",
            ] + extra)
    }

    static func edit(_ file: String, _ change: (DicomFile) throws -> Void) throws {
        let f = try DicomFile(path: file, headersOnly: false)
        try change(f)
        try f.save(to: file)
    }

    static func slice(_ dir: String, _ k: Int) -> String { dir + String(format: "/ct/IM%04d.dcm", k) }

    @Test("an intact phantom analyses with exit 0 and reproduces its truth")
    func intact() throws {
        let dir = try Self.study()
        let r = try Self.analyze(dir)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/out/report.json")))
        let truth =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json")))
            as! [String: Any]
        #expect(relativeError(report.liver.volumeML, truth["liver_volume_ml"] as! Double) < 1e-4)
        #expect(relativeError(report.lesions.totalVolumeML, truth["lesion_volume_ml"] as! Double) < 1e-4)
        #expect(abs(report.htb.percent - (truth["htb_percent"] as! Double)) < 1e-3)
        #expect(report.lesions.count == truth["lesion_count"] as! Int)
        // This small field of view cuts the liver at its top or bottom: that warning, and no other.
        #expect(report.study.warnings.allSatisfy { $0.code == "liver_at_fov_edge" })
    }

    @Test("a missing slice is an error naming the gap (exit 67)")
    func missingSlice() throws {
        let dir = try Self.study()
        try FileManager.default.removeItem(atPath: Self.slice(dir, 8))
        let r = try Self.analyze(dir, extra: ["--series", "Phantom"])
        #expect(r.status == 67)
        #expect(r.stderr.contains("gap of 20.000 mm after slice 6"))
    }

    @Test("two slices at one position are an error (exit 67)")
    func duplicatePosition() throws {
        let dir = try Self.study()
        let copy = dir + "/ct/copy.dcm"
        try FileManager.default.copyItem(atPath: Self.slice(dir, 5), toPath: copy)
        try Self.edit(copy) { try $0.set(.sopInstanceUID, UIDFactory.random()) }
        let r = try Self.analyze(dir, extra: ["--series", "Phantom"])
        #expect(r.status == 67)
        #expect(r.stderr.contains("several slices at the same position"))
    }

    @Test("an identical second copy of a file is ignored with a warning")
    func duplicateFile() throws {
        let dir = try Self.study()
        try FileManager.default.copyItem(atPath: Self.slice(dir, 5), toPath: dir + "/ct/again.dcm")
        let r = try Self.analyze(dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("repeat an instance already read"))
    }

    @Test("uneven slice steps: small is a warning, large an error")
    func unevenSteps() throws {
        let dir = try Self.study()
        // 1 % off: a warning, volumes use the mean step.
        try Self.edit(Self.slice(dir, 9)) { try $0.set(.imagePositionPatient, "-164.5\\-164.5\\80.1") }
        let r = try Self.analyze(dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("slice steps vary"))
        // 30 % off: the volume would be wrong.
        try Self.edit(Self.slice(dir, 9)) { try $0.set(.imagePositionPatient, "-164.5\\-164.5\\83") }
        let r2 = try Self.analyze(dir, extra: ["--series", "Phantom"])
        #expect(r2.status == 67)
        #expect(r2.stderr.contains("more than 5 % apart"))
    }

    @Test("gantry tilt: a warning, and the volume uses the true slice separation")
    func gantryTilt() throws {
        let dir = try Self.study()
        let clean = try Analysis.run(
            .init(
                studyPath: dir + "/ct", liverMasks: [MaskSpec(dir + "/truth/labels.nii.gz:1")],
                lesionMasks: [MaskSpec(dir + "/truth/labels.nii.gz:2")]))
        // Shift each slice along y by k x 10 mm x tan(12 deg): a sheared stack.
        for k in 1...16 {
            let y = -164.5 + Double(k - 1) * 10 * tan(12 * Double.pi / 180)
            try Self.edit(Self.slice(dir, k)) {
                try $0.set(.imagePositionPatient, "-164.5\\\(decimalString(y))\\\(decimalString(Double(k - 1) * 10))")
            }
        }
        let loaded = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").select("Phantom"))
        #expect(loaded.warnings.contains { $0.code == "gantry_tilt" })
        #expect(abs(loaded.volume.geometry.shearDegrees - 12) < 0.01)
        // The voxel volume is the unsheared one: 7 x 7 x 10 mm.
        #expect(abs(loaded.volume.geometry.voxelVolumeMM3 - clean.ct.volume.geometry.voxelVolumeMM3) < 1e-6)
    }

    @Test("rescale differing between slices: applied per slice, with a warning")
    func rescalePerSlice() throws {
        let dir = try Self.study()
        let before = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").select("Phantom"))
        // Slice 4: stored values stay, intercept -1000 instead of -1024: HU rise by 24 on that slice only.
        try Self.edit(Self.slice(dir, 4)) { try $0.set(.rescaleIntercept, "-1000") }
        let after = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").select("Phantom"))
        #expect(after.warnings.contains { $0.code == "rescale_varies" })
        let n = before.volume.dims.sliceCount
        #expect(
            zip(before.volume.voxels[(3 * n)..<(4 * n)], after.volume.voxels[(3 * n)..<(4 * n)]).allSatisfy {
                $1 == $0 + 24
            })
        #expect(before.volume.voxels[0..<(3 * n)] == after.volume.voxels[0..<(3 * n)])
    }

    @Test("a slice with another matrix in the stack is refused, not left out (exit 67)")
    func mixedMatrix() throws {
        let dir = try Self.study()
        try Self.edit(Self.slice(dir, 16)) { f in
            try f.set(.rows, "24")
            try f.set(.columns, "24")
            let pixels = [Int16](repeating: 0, count: 24 * 24)
            try pixels.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 16) }
        }
        let r = try Self.analyze(dir)
        #expect(r.status == 67, "\(r.stderr)")
        #expect(r.stderr.contains("IM0016.dcm is 24x24, the series is 48x48"))
    }

    @Test("a truncated slice is refused naming the file (exit 65)")
    func truncated() throws {
        let dir = try Self.study()
        let file = Self.slice(dir, 6)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        try data.prefix(data.count - 1000).write(to: URL(fileURLWithPath: file))
        let r = try Self.analyze(dir)
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("IM0006.dcm"))
    }

    @Test("non-DICOM files are skipped and counted; a folder of them has no series (exit 66)")
    func nonDicom() throws {
        let dir = try Self.study()
        try "not an image".write(toFile: dir + "/ct/notes.txt", atomically: true, encoding: .utf8)
        let r = try Self.analyze(dir)
        #expect(r.status == 0, "\(r.stderr)")
        let info = try runHTB(["info", dir + "/ct"])
        #expect(info.stdout.contains("1 non-DICOM skipped"))
        let empty = Paths.temporaryDirectory()
        try "x".write(toFile: empty + "/a.txt", atomically: true, encoding: .utf8)
        let r2 = try runHTB(["info", empty])
        #expect(r2.status == 66)
        #expect(
            r2.stderr.contains("no image series found (0 DICOM files read; 1 non-DICOM files skipped)"), "\(r2.stderr)")
        let r3 = try runHTB(["analyze", empty + "/missing", "--liver-mask", "x.nii", "--lesion-mask", "y.nii"])
        #expect(r3.status == 66 || r3.status == 68)
    }

    static var hasPydicom: Bool { (try? runProcess("/usr/bin/env", ["python3", "-c", "import pydicom"]).status) == 0 }

    @Test(
        "empty SOP Instance and Class UIDs (an anonymiser's): taken from the file meta header with a warning; without them either, every file is unreadable and the message says why",
        .enabled(
            if: hasPydicom,
            Comment(rawValue: "needs pydicom (scripts/setup --test-peers) to write an anonymiser's files")))
    func sopUIDsFromMeta() throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-mid"
        // pydicom writes the data set as changed and the file meta header as it was.
        let script = """
            import os, sys, pydicom
            src, dst, meta = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
            os.makedirs(dst, exist_ok=True)
            for n in os.listdir(src):
                ds = pydicom.dcmread(os.path.join(src, n))
                ds.SOPInstanceUID = ""
                ds.SOPClassUID = ""
                if not meta:
                    ds.file_meta.MediaStorageSOPInstanceUID = ""
                ds.save_as(os.path.join(dst, n), enforce_file_format=False)
            """
        let masks = [
            "--liver-mask", sample + "/truth/seg.dcm:Liver", "--lesion-mask", sample + "/truth/seg.dcm:Lesion*",
        ]
        let repaired = Paths.temporaryDirectory() + "/ct"
        #expect(try runProcess("/usr/bin/env", ["python3", "-c", script, sample + "/ct", repaired, "1"]).status == 0)
        let r = try runHTB(["analyze", repaired, "--json", "--no-png", "--out", Paths.temporaryDirectory()] + masks)
        #expect(r.status == 0, "\(r.stderr)")
        let original = try runHTB(
            ["analyze", sample + "/ct", "--json", "--no-png", "--out", Paths.temporaryDirectory()] + masks)
        let a = try Report.decode(Data(r.stdout.utf8)), b = try Report.decode(Data(original.stdout.utf8))
        #expect(a.liver.volumeML == b.liver.volumeML && a.htb.percent == b.htb.percent)
        let codes = a.study.warnings.map(\.code)
        #expect(codes.contains("sop_instance_uid_from_meta") && codes.contains("sop_class_uid_from_meta"), "\(codes)")
        #expect(a.study.warnings.contains { $0.message.hasPrefix("40 of 40 files have an empty (0008,0018)") })

        let hopeless = Paths.temporaryDirectory() + "/ct"
        #expect(try runProcess("/usr/bin/env", ["python3", "-c", script, sample + "/ct", hopeless, "0"]).status == 0)
        for command in [["info", hopeless], ["analyze", hopeless, "--out", Paths.temporaryDirectory()]] {
            let failed = try runHTB(command)
            #expect(failed.status == 66, "\(failed.stderr)")
            #expect(failed.stderr.contains("(40 DICOM files, all unreadable, e.g. "), "\(failed.stderr)")
            #expect(failed.stderr.contains("missing (0008,0018) SOP Instance UID"), "\(failed.stderr)")
        }
    }

    @Test("a header claiming a matrix no CT holds is refused before anything is allocated")
    func absurdMatrix() throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-low/ct"
        let dir = Paths.temporaryDirectory() + "/ct"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: sample).sorted().prefix(3) {
            let f = try DicomFile(path: sample + "/" + name, headersOnly: false)
            try f.set(.rows, "40000")
            try f.set(.columns, "40000")
            try f.save(to: dir + "/" + name)
        }
        let r = try runHTB(["analyze", dir, "--out", Paths.temporaryDirectory(), "--no-png"])
        #expect(r.status != 0 && r.status < 128, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("40000 x 40000 x 3 voxels; htb reads at most 2^30"), "\(r.stderr)")
    }

    @Test("a one-slice series is refused (exit 67)")
    func oneSlice() throws {
        let dir = try Self.study()
        let single = Paths.temporaryDirectory()
        try FileManager.default.copyItem(atPath: Self.slice(dir, 3), toPath: single + "/only.dcm")
        let r = try runHTB(["convert", single, "--out", single + "/x.nii"])
        #expect(r.status == 67)
        #expect(r.stderr.contains("only one slice"))
    }

    @Test("a non-CT series is refused (exit 69), a missing tag is named (exit 65)")
    func modalityAndTags() throws {
        let dir = try Self.study()
        for k in 1...16 { try Self.edit(Self.slice(dir, k)) { try $0.set(.modality, "MR") } }
        let r = try runHTB(["convert", dir + "/ct", "--series", "Phantom", "--out", dir + "/x.nii"])
        #expect(r.status == 69)
        #expect(r.stderr.contains("modality is MR, expected CT"))
        let dir2 = try Self.study()
        try Self.edit(Self.slice(dir2, 2)) { $0.remove(.imagePositionPatient) }
        let r2 = try runHTB(["convert", dir2 + "/ct", "--series", "Phantom", "--out", dir2 + "/x.nii"])
        #expect(r2.status == 65)
        #expect(r2.stderr.contains("IM0002.dcm: missing (0020,0032) Image Position (Patient)"))
    }

    @Test("masks: another grid (68), an empty liver (68); none given: automatic, or exit 71 on a CT with no liver")
    func masks() throws {
        let dir = try Self.study()
        var other = PhantomSpec()
        other.matrix = 40
        other.slices = 16
        other.pixelMM = 8.4
        other.sliceMM = 10
        other.lesions = 1
        let otherDir = Paths.temporaryDirectory()
        try Phantom.build(other).write(to: otherDir)
        let r = try runHTB([
            "analyze", dir + "/ct", "--series", "Phantom", "--liver-mask", otherDir + "/truth/labels.nii.gz:1",
            "--lesion-mask", otherDir + "/truth/labels.nii.gz:2", "--out", dir + "/o",
        ])
        #expect(r.status == 68)
        #expect(r.stderr.contains("not on the CT's grid"))
        let r2 = try runHTB([
            "analyze", dir + "/ct", "--liver-mask", dir + "/truth/labels.nii.gz:7",
            "--lesion-mask", dir + "/truth/labels.nii.gz:8", "--out", dir + "/o",
        ])
        #expect(r2.status == 68)
        #expect(r2.stderr.contains("empty"))
        let r3 = try runHTB(["analyze", dir + "/ct", "--out", dir + "/o", "--json", "--no-png"])
        #expect(r3.status == 0, "\(r3.stderr)")
        #expect(r3.stdout.contains("\"source\" : \"automatic\""))
        // Air only: nothing to segment is an error with its own code, and no report.
        let g = Geometry(
            dims: Dims(32, 32, 6), originMM: Vector3(0, 0, 0), spacingMM: Vector3(1.5, 1.5, 3),
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
        let airDir = Paths.temporaryDirectory("air")
        try SeriesWriter.writeCT(
            CTVolume(repeating: -1000, geometry: g),
            identity: SeriesIdentity(
                patientName: "Air^Test", patientID: "AIR", studyUID: "2.25.1001", seriesUID: "2.25.1002",
                frameOfReferenceUID: "2.25.1003",
                studyDate: "20260101", seriesNumber: 1, seriesDescription: "air", studyDescription: "air",
                instanceUID: { "2.25.1004.\($0 + 1)" }), to: airDir + "/ct")
        let r4 = try runHTB(["analyze", airDir + "/ct", "--out", airDir + "/o"])
        #expect(r4.status == 71, "\(r4.stderr)")
        #expect(r4.stderr.contains("automatic segmentation found no liver: no body"))
        #expect(!FileManager.default.fileExists(atPath: airDir + "/o/report.json"))
    }

    @Test("a NIfTI mask with flipped rows and slices lands on the same voxels")
    func flippedNIfTI() throws {
        let dir = try Self.study()
        let labels = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz").mask(label: nil)
        let original = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz")
        // Re-grid: j and k reversed, origin moved to the far corner; same voxel centres.
        let g = labels.geometry
        let flipped = Geometry(
            dims: g.dims, originMM: g.positionMM(0, Double(g.dims.y - 1), Double(g.dims.z - 1)), spacingMM: g.spacingMM,
            axes: (g.axes.0, -g.axes.1, -g.axes.2))
        var values = [UInt8](repeating: 0, count: g.dims.count)
        for k in 0..<g.dims.z {
            for j in 0..<g.dims.y {
                for i in 0..<g.dims.x {
                    values[i + g.dims.x * ((g.dims.y - 1 - j) + g.dims.y * (g.dims.z - 1 - k))] = UInt8(
                        original.value(at: i + g.dims.x * (j + g.dims.y * k)))
                }
            }
        }
        try NIfTIWriter.write(labels: Volume(voxels: values, geometry: flipped), to: dir + "/flipped.nii.gz")
        let a = try Analysis.run(
            .init(
                studyPath: dir + "/ct", liverMasks: [MaskSpec(dir + "/flipped.nii.gz:1")],
                lesionMasks: [MaskSpec(dir + "/flipped.nii.gz:2")]))
        let b = try Analysis.run(
            .init(
                studyPath: dir + "/ct", liverMasks: [MaskSpec(dir + "/truth/labels.nii.gz:1")],
                lesionMasks: [MaskSpec(dir + "/truth/labels.nii.gz:2")]))
        #expect(a.liver.voxels == b.liver.voxels)
        #expect(a.lesions.voxels == b.lesions.voxels)
    }

    @Test("convert writes HU and the geometry into NIfTI, and the label map beside it")
    func convert() throws {
        let dir = try Self.study()
        let r = try runHTB([
            "convert", dir + "/ct", "--out", dir + "/ct.nii.gz", "--liver-mask", dir + "/truth/labels.nii.gz:1",
            "--lesion-mask", dir + "/truth/labels.nii.gz:2", "--labels-out", dir + "/labels.nii",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let ct = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").select("Phantom"))
        let nii = try NIfTIImage.read(path: dir + "/ct.nii.gz")
        #expect(nii.geometry.matches(ct.volume.geometry, toleranceMM: 1e-3))
        #expect((0..<ct.volume.voxels.count).allSatisfy { nii.value(at: $0) == Double(ct.volume.voxels[$0]) })
        let labels = try NIfTIImage.read(path: dir + "/labels.nii")
        let truth = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz")
        #expect((0..<ct.volume.voxels.count).allSatisfy { labels.value(at: $0) == truth.value(at: $0) })
    }
}
