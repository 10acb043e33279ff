import Foundation
import VolumeModel

/// A coded concept (PS3.3 8.8): value, scheme, meaning.
public struct Code: Sendable, Equatable {
    public var value: String
    public var scheme: String
    public var meaning: String
    public init(_ value: String, _ scheme: String, _ meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }

    public static let anatomicalStructure = Code("123037004", "SCT", "Anatomical Structure")
    public static let liver = Code("10200004", "SCT", "Liver")
    public static let morphologicallyAbnormal = Code("49755003", "SCT", "Morphologically Altered Structure")
    public static let neoplasm = Code("108369006", "SCT", "Neoplasm")
}

/// One segment to write: its definition and its mask on the source series' grid.
public struct SegmentToWrite: Sendable {
    public var label: String
    public var category: Code
    public var type: Code
    /// "AUTOMATIC", "SEMIAUTOMATIC" or "MANUAL" (0062,0008).
    public var algorithmType: String
    public var algorithmName: String?
    /// CIELab display colour (0062,000D), DICOM's 0...65535 scaling.
    public var cielab: [Int]
    public var mask: Mask
    public init(
        label: String, category: Code, type: Code, algorithmType: String, algorithmName: String?, cielab: [Int],
        mask: Mask
    ) {
        self.label = label
        self.category = category
        self.type = type
        self.algorithmType = algorithmType
        self.algorithmName = algorithmName
        self.cielab = cielab
        self.mask = mask
    }
}

/// Writes a binary DICOM Segmentation (PS3.3 A.51) over a CT series: one frame per slice that
/// holds a segment, placed by Plane Position (Patient) and referencing its source slice, with the
/// patient and study copied from the source so viewers file it with the CT.
public enum SegmentationWriter {
    /// `source` is the CT as loaded (its layout gives the slice order of the masks' k axis).
    public static func write(
        _ segments: [SegmentToWrite], source: SeriesLayout, to path: String,
        seriesNumber: Int = 300, seriesDescription: String, contentLabel: String,
        seriesUID: String = UIDFactory.random(), instanceUID: String = UIDFactory.random(),
        date now: Date = Date()
    ) throws {
        let g = source.geometry
        guard let firstSlice = source.slices.first else { throw DicomError.oneSlice(series: "(none)") }
        for s in segments where !s.mask.geometry.matches(g, toleranceMM: maskGridToleranceMM) {
            throw DicomError.cannotWrite(file: path, reason: "segment '\(s.label)' is not on the source series' grid")
        }
        let src = try DicomFile(path: firstSlice.path, headersOnly: true)
        let f = DicomFile.create()
        // Patient and study, as the source has them (empty when absent: Type 2).
        let copied: [Tag] = [
            Tag(0x0008, 0x0005), Tag(0x0010, 0x0010), .patientID, Tag(0x0010, 0x0030), Tag(0x0010, 0x0040),
            .studyInstanceUID, Tag(0x0008, 0x0020), Tag(0x0008, 0x0030), Tag(0x0008, 0x0090), Tag(0x0020, 0x0010),
            Tag(0x0008, 0x0050), .studyDescription, .frameOfReferenceUID,
        ]
        for t in copied { try f.set(t, src.string(t) ?? "") }
        let date = DateFormatter.dicom("yyyyMMdd").string(from: now),
            time = DateFormatter.dicom("HHmmss").string(from: now)
        let attributes: [(Tag, String)] = [
            (.sopClassUID, SliceHeader.segmentationStorage), (.sopInstanceUID, instanceUID), (.modality, "SEG"),
            (.seriesInstanceUID, seriesUID), (.seriesNumber, "\(seriesNumber)"),
            (.seriesDescription, seriesDescription),
            (Tag(0x0020, 0x1040), ""), (Tag(0x0008, 0x0070), "htb"), (Tag(0x0008, 0x1090), "htb"),
            (Tag(0x0018, 0x1000), "1"), (Tag(0x0018, 0x1020), "htb"),
            (.instanceNumber, "1"), (Tag(0x0008, 0x0023), date), (Tag(0x0008, 0x0033), time),
            (.imageType, "DERIVED\\PRIMARY"), (Tag(0x0070, 0x0080), contentLabel),
            (Tag(0x0070, 0x0081), seriesDescription),
            (Tag(0x0070, 0x0084), ""), (.segmentationType, "BINARY"), (Tag(0x0028, 0x2110), "00"),
            (.samplesPerPixel, "1"), (.photometricInterpretation, "MONOCHROME2"), (.rows, "\(g.dims.y)"),
            (.columns, "\(g.dims.x)"),
            (.bitsAllocated, "1"), (.bitsStored, "1"), (.highBit, "0"), (.pixelRepresentation, "0"),
        ]
        for (t, v) in attributes { try f.set(t, v) }
        for (n, s) in segments.enumerated() {
            let item = TagPathStep(.segmentSequence, item: n)
            try f.set([item, TagPathStep(.segmentNumber)], "\(n + 1)")
            try f.set([item, TagPathStep(.segmentLabel)], s.label)
            try f.set([item, TagPathStep(Tag(0x0062, 0x0008))], s.algorithmType)
            if let name = s.algorithmName { try f.set([item, TagPathStep(Tag(0x0062, 0x0009))], name) }
            try f.set([item, TagPathStep(Tag(0x0062, 0x000D))], s.cielab.map(String.init).joined(separator: "\\"))
            try setCode(f, [item, TagPathStep(Tag(0x0062, 0x0003), item: 0)], s.category)
            try setCode(f, [item, TagPathStep(Tag(0x0062, 0x000F), item: 0)], s.type)
        }
        // Dimensions: segment number, then position.
        let dimensionUID = UIDFactory.deterministic("dimensions", instanceUID)
        try f.set([TagPathStep(Tag(0x0020, 0x9221), item: 0), TagPathStep(Tag(0x0020, 0x9164))], dimensionUID)
        for (i, (pointer, group, label)) in [
            ("(0062,000b)", "(0062,000a)", "Segment Number"), ("(0020,0032)", "(0020,9113)", "Image Position Patient"),
        ].enumerated() {
            let item = TagPathStep(Tag(0x0020, 0x9222), item: i)
            try f.set([item, TagPathStep(Tag(0x0020, 0x9164))], dimensionUID)
            try f.set([item, TagPathStep(Tag(0x0020, 0x9165))], pointer)
            try f.set([item, TagPathStep(Tag(0x0020, 0x9167))], group)
            try f.set([item, TagPathStep(Tag(0x0020, 0x9421))], label)
        }
        let shared = TagPathStep(.sharedFunctionalGroupsSequence, item: 0)
        try f.set(
            [shared, TagPathStep(.pixelMeasuresSequence, item: 0), TagPathStep(.pixelSpacing)],
            "\(decimalString(g.spacingMM.y))\\\(decimalString(g.spacingMM.x))")
        try f.set(
            [shared, TagPathStep(.pixelMeasuresSequence, item: 0), TagPathStep(.sliceThickness)],
            decimalString(g.spacingMM.z))
        try f.set(
            [shared, TagPathStep(.planeOrientationSequence, item: 0), TagPathStep(.imageOrientationPatient)],
            (g.axes.0.array + g.axes.1.array).map(decimalString).joined(separator: "\\"))
        // Frames: for each segment, each slice that holds it.
        let perSlice = g.dims.sliceCount
        var bits: [UInt8] = []
        var frame = 0
        for (n, s) in segments.enumerated() {
            for k in 0..<g.dims.z {
                let slice = s.mask.voxels[(k * perSlice)..<((k + 1) * perSlice)]
                guard slice.contains(where: { $0 != 0 }) else { continue }
                let item = TagPathStep(.perFrameFunctionalGroupsSequence, item: frame)
                let derivation = [item, TagPathStep(Tag(0x0008, 0x9124), item: 0)]
                let sourceImage = derivation + [TagPathStep(Tag(0x0008, 0x2112), item: 0)]
                try f.set(sourceImage + [TagPathStep(Tag(0x0008, 0x1150))], source.slices[k].sopClassUID)
                try f.set(sourceImage + [TagPathStep(Tag(0x0008, 0x1155))], source.slices[k].sopInstanceUID)
                try setCode(
                    f, sourceImage + [TagPathStep(Tag(0x0040, 0xA170), item: 0)],
                    Code("121322", "DCM", "Source image for image processing operation"))
                try f.set(sourceImage + [TagPathStep(Tag(0x0028, 0x135A))], "YES")
                try setCode(
                    f, derivation + [TagPathStep(Tag(0x0008, 0x9215), item: 0)], Code("113076", "DCM", "Segmentation"))
                try f.set(
                    [item, TagPathStep(Tag(0x0020, 0x9111), item: 0), TagPathStep(Tag(0x0020, 0x9157))],
                    "\(n + 1)\\\(k + 1)")
                let p = g.positionMM(0, 0, Double(k))
                try f.set(
                    [item, TagPathStep(.planePositionSequence, item: 0), TagPathStep(.imagePositionPatient)],
                    [p.x, p.y, p.z].map(decimalString).joined(separator: "\\"))
                try f.set(
                    [
                        item, TagPathStep(.segmentIdentificationSequence, item: 0),
                        TagPathStep(.referencedSegmentNumber),
                    ], "\(n + 1)")
                bits.append(contentsOf: slice.map { $0 != 0 ? 1 : 0 })
                frame += 1
            }
        }
        guard frame > 0 else {
            throw DicomError.cannotWrite(file: path, reason: "every segment is empty; a SEG needs at least one frame")
        }
        try f.set(.numberOfFrames, "\(frame)")
        // Common Instance Reference: the source series and all its instances.
        let refSeries = TagPathStep(.referencedSeriesSequence, item: 0)
        try f.set([refSeries, TagPathStep(.seriesInstanceUID)], firstSlice.seriesUID)
        for (i, s) in source.slices.enumerated() {
            let inst = [refSeries, TagPathStep(Tag(0x0008, 0x114A), item: i)]
            try f.set(inst + [TagPathStep(Tag(0x0008, 0x1150))], s.sopClassUID)
            try f.set(inst + [TagPathStep(Tag(0x0008, 0x1155))], s.sopInstanceUID)
        }
        var packed = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (i, b) in bits.enumerated() where b != 0 { packed[i >> 3] |= 1 << UInt8(i & 7) }
        try packed.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 1) }
        try f.save(to: path)
    }

    static func setCode(_ f: DicomFile, _ item: [TagPathStep], _ code: Code) throws {
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0100))], code.value)
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0102))], code.scheme)
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0104))], code.meaning)
    }
}

extension DateFormatter {
    static func dicom(_ format: String) -> DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = format
        return f
    }
}
