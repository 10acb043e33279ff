import DicomIO
import Filters
import Foundation
import Phantom
import Testing
import VolumeModel
import Volumetry

@testable import Analysis

/// `htb synth`: valid DICOM (dciodvfy, pydicom), exact truth, HTB on target, reproducible.
@Suite("Phantoms")
struct PhantomTests {
    static func small(seed: UInt64 = 4, htb: Double? = 30, lesions: Int = 5) -> PhantomSpec {
        var s = PhantomSpec()
        s.seed = seed
        s.matrix = 64
        s.slices = 20
        s.pixelMM = 5.6
        s.sliceMM = 8
        s.lesions = lesions
        s.htbPercent = htb
        return s
    }

    /// `name` found on PATH (the python3 that `make test` installed pydicom for).
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let d = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: d, as: UTF8.self))
    }

    static var hasPydicom: Bool {
        guard let py = tool("python3") else { return false }
        return (try? run(py, ["-c", "import pydicom"]).status) == 0
    }

    @Test(
        "dciodvfy finds no error in a CT slice or the truth SEG",
        .enabled(if: tool("dciodvfy") != nil, "dciodvfy (Debian dicom3tools) not installed; make test installs it"))
    func dciodvfy() throws {
        let dir = Paths.temporaryDirectory()
        try Phantom.build(Self.small()).write(to: dir)
        for file in [dir + "/ct/IM0001.dcm", dir + "/ct/IM0010.dcm", dir + "/truth/seg.dcm"] {
            let r = try Self.run(Self.tool("dciodvfy")!, [file])
            let problems = r.output.split(separator: "\n").filter { $0.hasPrefix("Error") || $0.hasPrefix("Warning") }
            #expect(problems.isEmpty, "\(file): \(problems.joined(separator: "; "))")
        }
    }

    @Test(
        "pydicom reads the CT and the SEG back to the same values",
        .enabled(if: hasPydicom, "pydicom not installed; make test installs it"))
    func pydicomReadBack() throws {
        let dir = Paths.temporaryDirectory()
        let phantom = try Phantom.build(Self.small())
        try phantom.write(to: dir)
        let script = """
            import pydicom, glob, sys
            files = sorted(glob.glob(sys.argv[1] + '/ct/*.dcm'))
            ds = [pydicom.dcmread(f) for f in files]
            ds.sort(key=lambda d: float(d.ImagePositionPatient[2]))
            total = 0
            for d in ds:
                a = d.pixel_array.astype('int64') * int(d.RescaleSlope) + int(d.RescaleIntercept)
                total += int(a.sum())
            seg = pydicom.dcmread(sys.argv[1] + '/truth/seg.dcm')
            px = seg.pixel_array.reshape(int(seg.NumberOfFrames), -1).sum(axis=1)
            liver = sum(int(n) for n, f in zip(px, seg.PerFrameFunctionalGroupsSequence) if f.SegmentIdentificationSequence[0].ReferencedSegmentNumber == 1)
            lesion = sum(int(n) for n, f in zip(px, seg.PerFrameFunctionalGroupsSequence) if f.SegmentIdentificationSequence[0].ReferencedSegmentNumber > 1)
            print(len(ds), total, liver, lesion, len(seg.SegmentSequence))
            """
        let r = try Self.run(Self.tool("python3")!, ["-c", script, dir])
        #expect(r.status == 0, "\(r.output)")
        let v = r.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        #expect(v.count == 5)
        guard v.count == 5 else { return }
        #expect(v[0] == 20)
        #expect(v[1] == phantom.ct.voxels.reduce(0) { $0 + Int($1) })
        #expect(v[2] == phantom.truth.liverVoxels)
        #expect(v[3] == phantom.truth.lesionVoxels)
        #expect(v[4] == 1 + phantom.truth.lesionCount)
        // And through htb's own reader.
        let ct = try SeriesLoader.loadCT(try Inventory.scan(dir + "/ct").imageSeries()[0])
        #expect(ct.volume.voxels == phantom.ct.voxels)
    }

    @Test("--htb reaches its target from 1 to 90 %", arguments: [1.0, 25, 50, 75.5, 90])
    func htbTargets(target: Double) throws {
        let p = try Phantom.build(Self.small(seed: 9, htb: target, lesions: 8))
        #expect(abs(p.truth.htbPercent - target) < 0.5)
        #expect(p.truth.category == HTBCategory(percent: p.truth.htbPercent).rawValue)
    }

    @Test("same seed, same pixels; another seed, another phantom")
    func reproducible() throws {
        let a = try Phantom.build(Self.small(seed: 21)), b = try Phantom.build(Self.small(seed: 21)),
            c = try Phantom.build(Self.small(seed: 22))
        #expect(a.ct.voxels == b.ct.voxels && a.labels.voxels == b.labels.voxels)
        #expect(a.ct.voxels != c.ct.voxels)
        #expect(a.truth.liverVoxels != c.truth.liverVoxels)
    }

    @Test("analyze with the truth SEG reproduces truth.json exactly")
    func truthThroughSEG() throws {
        let dir = Paths.temporaryDirectory()
        let p = try Phantom.build(Self.small(lesions: 12))
        try p.write(to: dir)
        let a = try Analysis.run(
            .init(
                studyPath: dir, liverMasks: [MaskSpec(dir + "/truth/seg.dcm:Liver")],
                lesionMasks: [MaskSpec(dir + "/truth/seg.dcm:Lesion*")]))
        #expect(relativeError(a.result.liverVolumeML, p.truth.liverVolumeML) < 1e-4)
        #expect(relativeError(a.result.lesionVolumeML, p.truth.lesionVolumeML) < 1e-4)
        #expect(abs(a.result.htbPercent - p.truth.htbPercent) < 1e-3)
        #expect(a.result.lesions.count == p.truth.lesionCount)
        #expect(a.report.inputs.seriesReason.contains("references"))
    }

    @Test("bad options are refused with a usage error (exit 64)")
    func badOptions() throws {
        let r = try runHTB(["synth", "--out", Paths.temporaryDirectory(), "--htb", "120"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--htb"))
        let r2 = try runHTB(["synth", "--out", Paths.temporaryDirectory(), "--enhancement", "glowing"])
        #expect(r2.status == 64)
    }

    @Test(
        "sibling phases: the same anatomy in another phase, another series of the session; the phase check measures its breath-hold"
    )
    func siblingPhases() throws {
        var s = PhantomSpec()
        (s.seed, s.matrix, s.slices, s.pixelMM, s.sliceMM) = (3, 128, 40, 2.8, 5)
        (s.lesions, s.htbPercent, s.enhancement, s.phase, s.lungs) = (4, 6, "hyper", .delayed, true)
        (s.siblingPhases, s.siblingShiftMM) = ([.arterial], 8)
        let p = try Phantom.build(s)
        let dir = Paths.temporaryDirectory()
        try p.write(to: dir)
        #expect(p.truth.command.contains("--sibling-phase arterial --sibling-shift-mm 8"))
        let truthJSON = try Data(contentsOf: URL(fileURLWithPath: dir + "/truth.json"))
        #expect(try JSONSchemaValidator.violations(ofJSON: truthJSON, against: "phantom-truth.schema.json").isEmpty)
        let inventory = try Inventory.scan(dir + "/ct")
        let series = inventory.imageSeries()
        let main = try #require(series.first { $0.phaseHint == "delayed" })
        let sibling = try #require(series.first { $0.phaseHint == "arterial" })
        #expect(series.count == 2 && main.studyUID == sibling.studyUID && main.seriesUID != sibling.seriesUID)
        #expect(main.first.frameOfReferenceUID == sibling.first.frameOfReferenceUID)
        // analyze measures the delayed series (it ranks before the arterial one), with the truth's pixels.
        let chosen = try SeriesChooser.choose(in: inventory, selector: nil, masks: [])
        let ct = try SeriesLoader.loadCT(chosen.entry).volume
        #expect(chosen.entry.seriesUID == main.seriesUID && ct.voxels == p.ct.voxels)
        // The sibling, resampled onto the measured grid with the breath-hold measured at the lung
        // bases taken back: the shift drawn (8 mm up), and the liver's interior at the arterial
        // phase's parenchyma (75 HU) where the delayed phase reads 95.
        var interior = Mask(repeating: 0, geometry: ct.geometry)
        for v in 0..<interior.voxels.count where p.labels.voxels[v] == 1 { interior.voxels[v] = 1 }
        interior = Filters.erode(interior, radiusMM: 8)
        let (images, inputs) = Analysis.siblingImages(
            chosen: chosen.entry, ct: ct, liver: interior, inventory: inventory, singlePhase: false)
        let input = try #require(inputs?.first)
        let image = try #require(images.first?.image)
        func median(_ v: CTVolume) -> Float {
            Filters.median(interior.voxels.indices.filter { interior.voxels[$0] != 0 }.map { Float(v.voxels[$0]) })
        }
        print("sibling: shift \(input.shiftMM ?? .nan) mm, liver \(median(image)) HU (measured \(median(ct)) HU)")
        #expect(input.used && abs((input.shiftMM ?? 0) - 8) <= 1.5)
        #expect(abs(median(image) - 75) <= 5 && abs(median(ct) - 95) <= 5)
        // Another phase than the measured one, each once; a shift needs a sibling.
        for bad: (inout PhantomSpec) -> Void in [
            { $0.siblingPhases = [.delayed] }, { $0.siblingPhases = [.arterial, .arterial] },
            {
                $0.siblingPhases = nil
                $0.siblingShiftMM = 5
            },
        ] {
            var b = s
            bad(&b)
            #expect(throws: PhantomError.self) { try Phantom.build(b) }
        }
    }
}
