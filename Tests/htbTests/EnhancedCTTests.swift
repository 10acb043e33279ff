import DicomIO
import Foundation
import Testing
import VolumeModel

/// Enhanced and Legacy Converted Enhanced CT: one multi-frame object per series, its frames placed
/// by their functional groups. The objects are written by highdicom (Tests/peers/make_enhanced_ct.py)
/// from classic series, so htb must give the classic series' figures, voxel for voxel.
@Suite(
    "Enhanced CT (multi-frame, functional groups)",
    .enabled(if: DicomOutputTests.hasHighdicom, "highdicom not installed; make test installs it"))
struct EnhancedCTTests {
    static let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-mid"

    /// Converts the classic series in `source` into `folder`/ct.dcm (or `split` objects) and returns `folder`.
    static func enhanced(
        _ source: String, transferSyntax: String? = nil, split: Int = 1, name: String = #function
    ) throws -> String {
        let folder = Paths.temporaryDirectory(name)
        var args = [Paths.packageRoot + "/Tests/peers/make_enhanced_ct.py", source, folder + "/ct.dcm"]
        if let transferSyntax { args += ["--transfer-syntax", transferSyntax] }
        if split > 1 { args += ["--split", "\(split)"] }
        let r = try runProcess("/usr/bin/env", ["python3"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        return folder
    }

    /// The CT series of `path` as htb loads it (the largest axial part).
    static func load(_ path: String) throws -> LoadedSeries {
        let entry = try #require(
            try Inventory.scan(path).imageSeries().filter { $0.orientationName == "axial" }
                .max { $0.slices.count < $1.slices.count })
        return try SeriesLoader.loadCT(entry)
    }

    /// The two loads hold the same voxels on the same grid.
    static func expectSameVolume(_ a: LoadedSeries, _ b: LoadedSeries) {
        let ga = a.volume.geometry, gb = b.volume.geometry
        #expect(ga.dims == gb.dims)
        #expect((ga.originMM - gb.originMM).length < 1e-6)
        #expect((ga.spacingMM - gb.spacingMM).length < 1e-9)
        #expect((ga.axes.0 - gb.axes.0).length < 1e-9 && (ga.axes.1 - gb.axes.1).length < 1e-9)
        #expect((ga.axes.2 - gb.axes.2).length < 1e-9)
        #expect(a.volume.voxels == b.volume.voxels, "voxels differ")
        #expect(a.warnings.map(\.code) == b.warnings.map(\.code))
    }

    /// report.json without what names the input (paths, series UID, number and description: the
    /// converter writes new ones) or times the run.
    static func figures(_ out: String) throws -> NSDictionary {
        let data = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        var r = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        r["inputs"] = nil
        if var study = r["study"] as? [String: Any] {
            for k in ["series_uid", "series_key", "series_description", "series_number"] { study[k] = nil }
            r["study"] = study
        }
        if var auto = r["automatic"] as? [String: Any] {
            auto["seconds"] = nil
            r["automatic"] = auto
        }
        return r as NSDictionary
    }

    /// `htb analyze` on both studies with the same extra arguments: the same report figures.
    static func expectSameAnalysis(_ classic: String, _ enhanced: String, _ extra: [String]) throws {
        let a = Paths.temporaryDirectory(), b = Paths.temporaryDirectory()
        let ra = try runHTB(["analyze", classic, "--out", a] + extra)
        let rb = try runHTB(["analyze", enhanced, "--out", b] + extra)
        #expect(ra.status == 0, "\(ra.stderr)")
        #expect(rb.status == 0, "\(rb.stderr)")
        let fa = try figures(a), fb = try figures(b)
        #expect(fa == fb, "reports differ:\n\(fa)\n\(fb)")
    }

    @Test("a phantom's Legacy Converted Enhanced CT loads voxel for voxel as its classic series")
    func phantomVoxels() throws {
        let enhanced = try Self.enhanced(Self.sample + "/ct")
        let classic = try Self.load(Self.sample + "/ct")
        let multi = try Self.load(enhanced)
        #expect(multi.slices.allSatisfy { $0.frameIndex != nil })
        #expect(Set(multi.slices.map(\.sopInstanceUID)).count == 1)
        Self.expectSameVolume(classic, multi)
        // `info` counts one file holding every frame.
        let info = try runHTB(["info", enhanced])
        #expect(info.status == 0)
        #expect(info.stdout.contains("1 DICOM files"))
        #expect(info.stdout.contains("| \(classic.slices.count) |"), "\(info.stdout)")
    }

    @Test("analyze with expert masks and automatic, convert and batch give the classic series' figures")
    func phantomCommands() throws {
        let enhanced = try Self.enhanced(Self.sample + "/ct")
        let masks = [
            "--liver-mask", Self.sample + "/truth/seg.dcm:Liver", "--lesion-mask",
            Self.sample + "/truth/seg.dcm:Lesion*",
        ]
        try Self.expectSameAnalysis(Self.sample + "/ct", enhanced, masks)
        try Self.expectSameAnalysis(Self.sample + "/ct", enhanced, ["--single-phase"])
        // convert: the same NIfTI voxels and affine (the header's description names the series).
        let dir = Paths.temporaryDirectory()
        for (study, name) in [(Self.sample + "/ct", "a"), (enhanced, "b")] {
            let r = try runHTB(["convert", study, "--out", "\(dir)/\(name).nii"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.nii"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.nii"))
        #expect(a.count == b.count)
        #expect(a[148..<a.count] == b[148..<b.count], "NIfTI differs beyond the description")
        #expect(a[0..<148] == b[0..<148])
        // batch (which groups files by Study UID, so one run a copy): the same summary row.
        var rows: [[String]] = []
        var header: [String] = []
        for study in [Self.sample + "/ct", enhanced] {
            let root = Paths.temporaryDirectory(), out = Paths.temporaryDirectory()
            try FileManager.default.copyItem(atPath: study, toPath: root + "/study")
            let r = try runHTB(["batch", root, "--out", out, "--single-phase"])
            #expect(r.status == 0, "\(r.stderr)")
            let csv = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8).split(separator: "\n")
            #expect(csv.count == 2)
            header = csv[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            rows.append(csv[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        }
        for column in [
            "status", "liver_ml", "lesion_ml", "htb_percent", "category", "flags", "automatic_review_needed",
        ] {
            let i = try #require(header.firstIndex(of: column), "no column \(column) in \(header)")
            #expect(rows[0][i] == rows[1][i], "\(column): \(rows[0][i]) vs \(rows[1][i])")
        }
    }

    @Test(
        "compressed Enhanced CT decodes frame by frame to the same voxels",
        arguments: [
            ("1.2.840.10008.1.2.5", "RLE Lossless (highdicom)"),
            ("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless (DCMTK dcmcjpls)"),
            ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless (pydicom + OpenJPEG)"),
        ])
    func compressed(_ syntax: String, _ how: String) throws {
        let classic = try Self.load(Self.sample + "/ct")
        let folder: String
        switch syntax {
        case "1.2.840.10008.1.2.4.80":
            guard let tool = PhantomTests.tool("dcmcjpls") else {
                print("skipped: dcmcjpls (DCMTK's tools) not installed; make test installs it")
                return
            }
            let native = try Self.enhanced(Self.sample + "/ct")
            folder = Paths.temporaryDirectory()
            #expect(try PhantomTests.run(tool, [native + "/ct.dcm", folder + "/ct.dcm"]).status == 0)
        case "1.2.840.10008.1.2.4.90":
            let native = try Self.enhanced(Self.sample + "/ct")
            folder = Paths.temporaryDirectory()
            let script = """
                import sys, pydicom
                from pydicom.uid import JPEG2000Lossless
                ds = pydicom.dcmread(sys.argv[1]); ds.compress(JPEG2000Lossless); ds.save_as(sys.argv[2])
                """
            let r = try runProcess("/usr/bin/env", ["python3", "-c", script, native + "/ct.dcm", folder + "/ct.dcm"])
            guard r.status == 0 else {
                print("skipped: pydicom cannot encode JPEG 2000 (pylibjpeg-openjpeg); make test installs it")
                return
            }
        default:
            folder = try Self.enhanced(Self.sample + "/ct", transferSyntax: syntax)
        }
        let multi = try Self.load(folder)
        #expect(multi.slices.first?.transferSyntaxUID == syntax, "\(how)")
        Self.expectSameVolume(classic, multi)
    }

    @Test("a series split over several multi-frame objects is one volume")
    func splitObjects() throws {
        let folder = try Self.enhanced(Self.sample + "/ct", split: 3)
        let inventory = try Inventory.scan(folder)
        #expect(inventory.dicomFileCount == 3)
        #expect(inventory.imageSeries().count == 1)
        let multi = try Self.load(folder)
        #expect(Set(multi.slices.map(\.sopInstanceUID)).count == 3)
        Self.expectSameVolume(try Self.load(Self.sample + "/ct"), multi)
    }

    @Test("--dicom-out on an Enhanced CT: the SEG references frames, passes dciodvfy and reads back")
    func dicomOutputs() throws {
        let enhanced = try Self.enhanced(Self.sample + "/ct")
        let masks = [
            "--liver-mask", Self.sample + "/truth/seg.dcm:Liver", "--lesion-mask",
            Self.sample + "/truth/seg.dcm:Lesion*",
        ]
        let run = try DicomOutputTests.analyze(enhanced, masks)
        let seg = run.dicom + "/seg.dcm"
        for name in ["seg.dcm", "sr.dcm"] {
            if let errors = try DicomOutputTests.conformanceErrors(run.dicom + "/" + name) {
                #expect(errors.isEmpty, "\(name): \(errors)")
            }
        }
        // Every SEG frame names the CT frame it was derived from; the CT is referenced once.
        let f = try DicomFile(path: seg, headersOnly: true)
        let frames = try #require(try f.int(.numberOfFrames))
        for i in 0..<frames {
            let source = [
                TagPathStep(.perFrameFunctionalGroupsSequence, item: i), TagPathStep(Tag(0x0008, 0x9124)),
                TagPathStep(Tag(0x0008, 0x2112)), TagPathStep(.referencedFrameNumber),
            ]
            #expect(f.string(source) != nil, "frame \(i + 1) has no Referenced Frame Number")
        }
        #expect(f.itemCount([TagPathStep(.referencedSeriesSequence), TagPathStep(Tag(0x0008, 0x114A))]) == 1)
        // The SEG as the masks of the same study: the same volumes.
        let again = Paths.temporaryDirectory()
        let r = try runHTB([
            "analyze", enhanced, "--out", again, "--liver-mask", seg + ":1", "--lesion-mask", seg + ":2",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Self.figures(run.out), b = try Self.figures(again)
        #expect((a["liver"] as? NSDictionary) == (b["liver"] as? NSDictionary))
        #expect((a["htb"] as? NSDictionary) == (b["htb"] as? NSDictionary))
    }

    @Test("frames that cannot be placed are refused with the file, the frame and the tag")
    func badFrames() throws {
        let enhanced = try Self.enhanced(Self.sample + "/ct")
        let file = enhanced + "/ct.dcm"
        func edited(_ code: String) throws -> String {
            let folder = Paths.temporaryDirectory()
            let script = "import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\n\(code)\nds.save_as(sys.argv[2])"
            let r = try runProcess("/usr/bin/env", ["python3", "-c", script, file, folder + "/ct.dcm"])
            #expect(r.status == 0, "\(r.stderr)")
            return folder
        }
        // Frame 4 without its Plane Position: exit 65, the file and the frame named.
        let noPosition = try edited("del ds.PerFrameFunctionalGroupsSequence[3].PlanePositionSequence")
        var r = try runHTB(["analyze", noPosition, "--single-phase"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("ct.dcm frame 4: missing (0020,0032)"), "\(r.stderr)")
        // Fewer per-frame items than frames.
        let short = try edited("del ds.PerFrameFunctionalGroupsSequence[-1]")
        r = try runHTB(["info", short])
        #expect(r.stderr.contains("(5200,9230)") && r.stderr.contains("one item per frame"), "\(r.stderr)")
        // No functional groups at all: a multi-frame image htb cannot place (exit 69).
        let bare = try edited("del ds.PerFrameFunctionalGroupsSequence\ndel ds.SharedFunctionalGroupsSequence")
        r = try runHTB(["analyze", bare, "--single-phase"])
        #expect(r.status == 69, "\(r.stderr)")
        #expect(r.stderr.contains("without (5200,9230) Per-frame Functional Groups"), "\(r.stderr)")
    }

    @Test("a frame's own Pixel Value Transformation overrides the shared one")
    func perFrameRescale() throws {
        let enhanced = try Self.enhanced(Self.sample + "/ct")
        let folder = Paths.temporaryDirectory()
        let script = """
            import sys, copy, pydicom
            ds = pydicom.dcmread(sys.argv[1])
            item = copy.deepcopy(ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence)
            item[0].RescaleIntercept = float(item[0].RescaleIntercept) + 10
            ds.PerFrameFunctionalGroupsSequence[4].PixelValueTransformationSequence = item
            ds.save_as(sys.argv[2])
            """
        let r = try runProcess("/usr/bin/env", ["python3", "-c", script, enhanced + "/ct.dcm", folder + "/ct.dcm"])
        #expect(r.status == 0, "\(r.stderr)")
        let classic = try Self.load(Self.sample + "/ct"), multi = try Self.load(folder)
        let k = try #require(multi.slices.firstIndex { $0.frameIndex == 4 })
        let n = classic.volume.geometry.dims.sliceCount
        for i in stride(from: k * n, to: (k + 1) * n, by: 97) {
            #expect(Int(multi.volume.voxels[i]) == Int(classic.volume.voxels[i]) + 10)
        }
        #expect(multi.volume.voxels[0..<(k * n)] == classic.volume.voxels[0..<(k * n)])
        #expect(multi.warnings.map(\.code).contains("rescale_varies"))
    }

    @Test(
        "the shared real studies as Legacy Converted Enhanced CT: voxels and expert-mask figures as classic",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)), arguments: RealCaseTests.cases)
    func realStudies(_ c: RealCaseTests.Case) throws {
        let root = Paths.realData + "/"
        let classicFolder =
            c.seriesDescription.map { d in
                [root + c.study + "/" + d, root + c.study + "/DICOM/" + d].first {
                    FileManager.default.fileExists(atPath: $0)
                }!
            } ?? root + c.study + "/PATIENT_DICOM"
        let enhanced = try Self.enhanced(classicFolder, name: "real\(c.lesionCount)\(c.study.count)")
        Self.expectSameVolume(try Self.load(classicFolder), try Self.load(enhanced))
        let masks =
            c.liver.flatMap { ["--liver-mask", root + $0] } + c.lesions.flatMap { ["--lesion-mask", root + $0] }
        try Self.expectSameAnalysis(classicFolder, enhanced, masks + ["--single-phase"])
    }

    @Test(
        "automatic segmentation of a real Enhanced CT equals the classic series'",
        .enabled(if: Paths.hasSharedData, Comment(rawValue: Paths.skipMessage)))
    func realAutomatic() throws {
        let classic = Paths.realData + "/HCC-TACE-Seg/0697/31_EQP_Ax5.00mm"
        let enhanced = try Self.enhanced(classic)
        try Self.expectSameAnalysis(classic, enhanced, ["--single-phase"])
    }
}
