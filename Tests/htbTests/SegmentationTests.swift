import Analysis
import DicomIO
import Foundation
import NIfTI
import Phantom
import Testing
import VolumeModel

/// DICOM Segmentation input, binary and fractional, written by the test on a phantom's grid:
/// frames placed by Plane Position (Patient) even when every frame references the same image,
/// partial coverage, segments chosen by label, number or prefix.
@Suite("DICOM SEG masks")
struct SegmentationTests {
    /// Writes a SEG with segment 1 "Liver" (labels >= 1) and 2 "Lesion" (label 2), only on slices
    /// that hold the structure. Fractional frames carry 255 inside and 100 (< half) on a ring of
    /// outside voxels that must not count.
    static func writeSEG(study dir: String, fractional: Bool) throws -> String {
        let ct = try Inventory.scan(dir + "/ct").imageSeries()[0]
        let layout = try SeriesLayout(entry: ct)
        let labels = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz").mask(label: nil)
        let lesionLabels = try NIfTIImage.read(path: dir + "/truth/labels.nii.gz").mask(label: 2)
        let g = layout.geometry, n = g.dims.sliceCount
        var frames: [(segment: Int, k: Int, pixels: [UInt8])] = []
        for (segment, mask) in [(1, labels), (2, lesionLabels)] {
            for k in 0..<g.dims.z {
                let slice = Array(mask.voxels[(k * n)..<((k + 1) * n)])
                guard slice.contains(1) else { continue }
                var px = slice.map { $0 != 0 ? UInt8(255) : 0 }
                if fractional { for v in 0..<n where px[v] == 0 && (v % 7 == 0) { px[v] = 100 } }
                frames.append((segment, k, px))
            }
        }
        let f = DicomFile.create()
        let first = ct.first
        try f.set(.sopClassUID, SliceHeader.segmentationStorage)
        try f.set(.sopInstanceUID, UIDFactory.random())
        try f.set(.studyInstanceUID, first.studyUID)
        try f.set(.seriesInstanceUID, UIDFactory.random())
        try f.set(.modality, "SEG")
        try f.set(.frameOfReferenceUID, first.frameOfReferenceUID!)
        try f.set(.rows, "\(g.dims.y)")
        try f.set(.columns, "\(g.dims.x)")
        try f.set(.numberOfFrames, "\(frames.count)")
        try f.set(.samplesPerPixel, "1")
        try f.set(.photometricInterpretation, "MONOCHROME2")
        try f.set(.bitsAllocated, fractional ? "8" : "1")
        try f.set(.bitsStored, fractional ? "8" : "1")
        try f.set(.highBit, fractional ? "7" : "0")
        try f.set(.pixelRepresentation, "0")
        try f.set(.segmentationType, fractional ? "FRACTIONAL" : "BINARY")
        if fractional {
            try f.set(.maximumFractionalValue, "255")
            try f.set(Tag(0x0062, 0x0010, "Segmentation Fractional Type"), "PROBABILITY")
        }
        for (i, label) in ["Liver", "Lesion"].enumerated() {
            try f.set([TagPathStep(.segmentSequence, item: i), TagPathStep(.segmentNumber)], "\(i + 1)")
            try f.set([TagPathStep(.segmentSequence, item: i), TagPathStep(.segmentLabel)], label)
        }
        let shared = TagPathStep(.sharedFunctionalGroupsSequence, item: 0)
        try f.set(
            [shared, TagPathStep(.pixelMeasuresSequence, item: 0), TagPathStep(.pixelSpacing)],
            "\(decimalString(g.spacingMM.y))\\\(decimalString(g.spacingMM.x))")
        try f.set(
            [shared, TagPathStep(.planeOrientationSequence, item: 0), TagPathStep(.imageOrientationPatient)],
            (g.axes.0.array + g.axes.1.array).map(decimalString).joined(separator: "\\"))
        for (i, fr) in frames.enumerated() {
            let item = TagPathStep(.perFrameFunctionalGroupsSequence, item: i)
            let p = g.positionMM(0, 0, Double(fr.k))
            try f.set(
                [item, TagPathStep(.planePositionSequence, item: 0), TagPathStep(.imagePositionPatient)],
                [p.x, p.y, p.z].map(decimalString).joined(separator: "\\"))
            try f.set(
                [item, TagPathStep(.segmentIdentificationSequence, item: 0), TagPathStep(.referencedSegmentNumber)],
                "\(fr.segment)")
            // Wrong on purpose, as in real files: every frame names the first CT image.
            try f.set(
                [
                    item, TagPathStep(Tag(0x0008, 0x9124), item: 0), TagPathStep(Tag(0x0008, 0x2112), item: 0),
                    TagPathStep(Tag(0x0008, 0x1155, "Referenced SOP Instance UID")),
                ], first.sopInstanceUID)
        }
        try f.set([TagPathStep(.referencedSeriesSequence, item: 0), TagPathStep(.seriesInstanceUID)], first.seriesUID)
        var bytes: [UInt8]
        if fractional {
            bytes = frames.flatMap(\.pixels)
        } else {
            let bits = frames.flatMap(\.pixels)
            bytes = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
            for (i, b) in bits.enumerated() where b != 0 { bytes[i >> 3] |= 1 << UInt8(i & 7) }
        }
        try bytes.withUnsafeBytes { try f.setPixels($0, bitsAllocated: fractional ? 8 : 1) }
        let path = dir + (fractional ? "/seg-fractional.dcm" : "/seg-binary.dcm")
        try f.save(to: path)
        return path
    }

    @Test("a SEG gives the same masks as the label map it was made from", arguments: [false, true])
    func sameAsLabels(fractional: Bool) throws {
        let dir = try BadInputTests.study("seg\(fractional)")
        let seg = try Self.writeSEG(study: dir, fractional: fractional)
        let viaSEG = try Analysis.run(
            .init(studyPath: dir, liverMasks: [MaskSpec(seg + ":Liver")], lesionMasks: [MaskSpec(seg + ":2")]))
        let viaNIfTI = try Analysis.run(
            .init(
                studyPath: dir + "/ct", liverMasks: [MaskSpec(dir + "/truth/labels.nii.gz:1")],
                lesionMasks: [MaskSpec(dir + "/truth/labels.nii.gz:2")]))
        #expect(viaSEG.lesions.voxels == viaNIfTI.lesions.voxels)
        #expect(viaSEG.report.liver.voxelCount == viaNIfTI.report.liver.voxelCount)
        #expect(viaSEG.report.htb.percent == viaNIfTI.report.htb.percent)
        #expect(viaSEG.report.inputs.seriesReason.contains("references"))
        #expect(viaSEG.report.inputs.lesionMasks[0].segments == ["2 'Lesion'"])
        // Prefix and number selectors.
        let byPrefix = try Analysis.run(
            .init(studyPath: dir, liverMasks: [MaskSpec(seg + ":liv*")], lesionMasks: [MaskSpec(seg + ":Lesion")]))
        #expect(byPrefix.report.liver.volumeML == viaSEG.report.liver.volumeML)
    }

    @Test("a SEG with several segments needs a choice; an unknown segment is named (exit 68)")
    func selectors() throws {
        let dir = try BadInputTests.study()
        let seg = try Self.writeSEG(study: dir, fractional: false)
        let r = try runHTB(["analyze", dir, "--liver-mask", seg, "--lesion-mask", seg + ":2", "--out", dir + "/o"])
        #expect(r.status == 68)
        #expect(r.stderr.contains("holds several segments") && r.stderr.contains("1 'Liver', 2 'Lesion'"))
        let r2 = try runHTB([
            "analyze", dir, "--liver-mask", seg + ":Spleen", "--lesion-mask", seg + ":2", "--out", dir + "/o",
        ])
        #expect(r2.status == 68)
        #expect(r2.stderr.contains("no segment 'Spleen'"))
    }
}

extension SegmentationTests {
    @Test(
        "--save-masks writes a SEG over the source series and a label map that give the same volumes back (expert and automatic masks)",
        arguments: [false, true])
    func saveMasks(automatic: Bool) throws {
        let sample = Paths.packageRoot + "/SampleStudies/phantom-htb-mid"
        let out = Paths.temporaryDirectory()
        let masks =
            automatic
            ? []
            : ["--liver-mask", sample + "/truth/seg.dcm:Liver", "--lesion-mask", sample + "/truth/seg.dcm:Lesion*"]
        let r = try runHTB(["analyze", sample] + masks + ["--out", out, "--no-png", "--save-masks"])
        #expect(r.status == 0, "\(r.stderr)")
        let first = try Report.decode(Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        #expect(first.masks == ["masks.seg.dcm", "labels.nii.gz"])
        let seg = try Segmentation.read(path: out + "/masks.seg.dcm")
        #expect(seg.referencedSeriesUIDs == [first.study.seriesUID])
        for (liver, lesion) in [
            (out + "/masks.seg.dcm:Liver", out + "/masks.seg.dcm:Lesions"),
            (out + "/labels.nii.gz:1", out + "/labels.nii.gz:2"),
        ] {
            let again = try Analysis.run(
                .init(studyPath: sample, liverMasks: [MaskSpec(liver)], lesionMasks: [MaskSpec(lesion)]))
            #expect(
                again.report.liver.volumeML == first.liver.volumeML
                    && again.report.lesions.totalVolumeML == first.lesions.totalVolumeML)
        }
        if let dciodvfy = PhantomTests.tool("dciodvfy") {
            let v = try PhantomTests.run(dciodvfy, [out + "/masks.seg.dcm"])
            #expect(!v.output.split(separator: "\n").contains { $0.hasPrefix("Error") }, "\(v.output)")
        }
    }
}
