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
    public var voxels: Voxels
    /// Tracking ID and UID (0062,0020/0021), as an SR's measurement group names the same region.
    public var tracking: (id: String, uid: String)?

    /// Where the segment's voxels are: a mask on the source grid, the union of masks (without
    /// building it), or the storage-order indices of its voxels on the source grid, ascending (a
    /// connected component as `Volumetry.components` gives it: many small segments, no mask each).
    public enum Voxels: Sendable {
        case mask(Mask)
        case anyOf([Mask])
        case indices([Int])
    }

    public init(
        label: String, category: Code, type: Code, algorithmType: String, algorithmName: String?, cielab: [Int],
        mask: Mask, tracking: (id: String, uid: String)? = nil
    ) {
        self.init(
            label: label, category: category, type: type, algorithmType: algorithmType, algorithmName: algorithmName,
            cielab: cielab, voxels: .mask(mask), tracking: tracking)
    }

    public init(
        label: String, category: Code, type: Code, algorithmType: String, algorithmName: String?, cielab: [Int],
        voxels: Voxels, tracking: (id: String, uid: String)? = nil
    ) {
        self.label = label
        self.category = category
        self.type = type
        self.algorithmType = algorithmType
        self.algorithmName = algorithmName
        self.cielab = cielab
        self.voxels = voxels
        self.tracking = tracking
    }
}

/// Writes a binary DICOM Segmentation (PS3.3 A.51) over a CT series: one frame per slice that
/// holds a segment, placed by Plane Position (Patient) and referencing its source slice, with the
/// patient and study copied from the source so viewers file it with the CT.
public enum SegmentationWriter {
    /// `source` is the CT as loaded (its layout gives the slice order of the masks' k axis).
    public static func write(
        _ segments: [SegmentToWrite], source: SeriesLayout, to path: String,
        seriesNumber: Int = 300, seriesDescription: String, contentLabel: String, softwareVersion: String = "htb",
        seriesUID: String = UIDFactory.random(), instanceUID: String = UIDFactory.random(),
        patient given: PatientStudy? = nil, date now: Date = Date()
    ) throws {
        let g = source.geometry
        guard let firstSlice = source.slices.first else { throw DicomError.oneSlice(series: "(none)") }
        for s in segments {
            switch s.voxels {
            case .mask(let m) where !m.geometry.matches(g, toleranceMM: maskGridToleranceMM):
                throw DicomError.cannotWrite(
                    file: path, reason: "segment '\(s.label)' is not on the source series' grid")
            case .anyOf(let ms)
            where ms.isEmpty || ms.contains { !$0.geometry.matches(g, toleranceMM: maskGridToleranceMM) }:
                throw DicomError.cannotWrite(
                    file: path, reason: "segment '\(s.label)' is not on the source series' grid")
            case .indices(let v) where v.first.map { $0 < 0 } ?? false || v.last.map { $0 >= g.dims.count } ?? false:
                throw DicomError.cannotWrite(
                    file: path, reason: "segment '\(s.label)' has voxels outside the source grid")
            default: break
            }
        }
        let perSlice = g.dims.sliceCount
        let src = try DicomFile(path: firstSlice.path, headersOnly: true)
        let f = DicomFile.create()
        // Patient and study as the source has them (in UTF-8), or as the caller gives them.
        try (given ?? PatientStudy.read(from: firstSlice.path)).apply(to: f)
        // Frame of Reference (Type 1 in a SEG): the source's; a source without one (some exports
        // drop it) gets one derived from its series, the same for every SEG htb writes over it.
        let sourceFrame = src.string(.frameOfReferenceUID) ?? ""
        try f.set(
            .frameOfReferenceUID,
            sourceFrame.isEmpty ? UIDFactory.deterministic("htb frame of reference", firstSlice.seriesUID) : sourceFrame
        )
        let (date, time) = dicomDateTime(now)
        let attributes: [(Tag, String)] = [
            (.sopClassUID, SliceHeader.segmentationStorage), (.sopInstanceUID, instanceUID), (.modality, "SEG"),
            (.seriesInstanceUID, seriesUID), (.seriesNumber, "\(seriesNumber)"),
            (.seriesDescription, seriesDescription),
            (Tag(0x0020, 0x1040), ""), (Tag(0x0008, 0x0070), "htb"), (Tag(0x0008, 0x1090), "htb"),
            (Tag(0x0018, 0x1000), "1"), (Tag(0x0018, 0x1020), softwareVersion),
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
            if let t = s.tracking {
                try f.set([item, TagPathStep(Tag(0x0062, 0x0020))], t.id)
                try f.set([item, TagPathStep(Tag(0x0062, 0x0021))], t.uid)
            }
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
        var packed: [UInt8] = [], bitCount = 0
        var frame = 0
        for (n, s) in segments.enumerated() {
            let slices: [Int]
            switch s.voxels {
            case .mask(let m): slices = occupiedSlices([m], perSlice: perSlice, slices: g.dims.z)
            case .anyOf(let ms): slices = occupiedSlices(ms, perSlice: perSlice, slices: g.dims.z)
            case .indices(let v):
                var ks: [Int] = []
                for i in v where ks.last != i / perSlice { ks.append(i / perSlice) }
                slices = ks
            }
            for k in slices {
                let item = TagPathStep(.perFrameFunctionalGroupsSequence, item: frame)
                let derivation = [item, TagPathStep(Tag(0x0008, 0x9124), item: 0)]
                let sourceImage = derivation + [TagPathStep(Tag(0x0008, 0x2112), item: 0)]
                try f.set(sourceImage + [TagPathStep(Tag(0x0008, 0x1150))], source.slices[k].sopClassUID)
                try f.set(sourceImage + [TagPathStep(Tag(0x0008, 0x1155))], source.slices[k].sopInstanceUID)
                if let frameIndex = source.slices[k].frameIndex {  // a frame of an Enhanced CT
                    try f.set(sourceImage + [TagPathStep(.referencedFrameNumber)], "\(frameIndex + 1)")
                }
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
                let range = (k * perSlice)..<((k + 1) * perSlice)
                switch s.voxels {
                case .mask(let m): appendMaskBits([m.voxels[range]], to: &packed, count: &bitCount)
                case .anyOf(let ms): appendMaskBits(ms.map { $0.voxels[range] }, to: &packed, count: &bitCount)
                case .indices(let v): appendIndexBits(v, in: range, to: &packed, count: &bitCount)
                }
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
        var seen = Set<String>()  // a multi-frame source is one instance
        for (i, s) in source.slices.filter({ seen.insert($0.sopInstanceUID).inserted }).enumerated() {
            let inst = [refSeries, TagPathStep(Tag(0x0008, 0x114A), item: i)]
            try f.set(inst + [TagPathStep(Tag(0x0008, 0x1150))], s.sopClassUID)
            try f.set(inst + [TagPathStep(Tag(0x0008, 0x1155))], s.sopInstanceUID)
        }
        try packed.withUnsafeBytes { try f.setPixels($0, bitsAllocated: 1) }
        try f.save(to: path)
    }

    /// The slices (k) where any of `masks` has a voxel (eight voxels per load).
    static func occupiedSlices(_ masks: [Mask], perSlice: Int, slices: Int) -> [Int] {
        (0..<slices).filter { k in
            masks.contains { m in
                m.voxels.withUnsafeBytes { raw in
                    let lo = k * perSlice, hi = lo + perSlice
                    var i = lo
                    while i + 8 <= hi {
                        if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return true }
                        i += 8
                    }
                    while i < hi {
                        if raw[i] != 0 { return true }
                        i += 1
                    }
                    return false
                }
            }
        }
    }

    /// Appends one bit per voxel, 1 where any of `sources` (equal-length mask slices) is non-zero,
    /// to `packed`, which holds `count` bits. Eight voxels per load when the frame starts on a byte:
    /// each byte folded to its lowest bit, the eight bits gathered by one multiplication.
    static func appendMaskBits(_ sources: [ArraySlice<UInt8>], to packed: inout [UInt8], count: inout Int) {
        let n = sources[0].count
        let start = count
        packed.append(contentsOf: repeatElement(0, count: (start + n + 7) / 8 - packed.count))
        packed.withUnsafeMutableBufferPointer { outBuffer in
            let out = outBuffer.baseAddress! + (start >> 3)
            for source in sources {
                source.withUnsafeBytes { raw in
                    guard let v = raw.baseAddress else { return }
                    let shift = start & 7
                    var i = 0
                    while shift == 0 && i + 8 <= n {
                        var t = UInt64(littleEndian: (v + i).loadUnaligned(as: UInt64.self))
                        t |= t >> 4
                        t |= t >> 2
                        t |= t >> 1
                        t &= 0x0101_0101_0101_0101
                        out[i >> 3] |= UInt8(truncatingIfNeeded: (t &* 0x0102_0408_1020_4080) >> 56)
                        i += 8
                    }
                    while i < n {
                        if raw[i] != 0 { out[(shift + i) >> 3] |= UInt8(1) << UInt8((shift + i) & 7) }
                        i += 1
                    }
                }
            }
        }
        count = start + n
    }

    /// Appends one frame of bits for the voxels in `range` (a slice), 1 at each of `indices`
    /// (ascending) that falls in it.
    static func appendIndexBits(_ indices: [Int], in range: Range<Int>, to packed: inout [UInt8], count: inout Int) {
        let start = count
        packed.append(contentsOf: repeatElement(0, count: (start + range.count + 7) / 8 - packed.count))
        var lo = 0, hi = indices.count
        while lo < hi {  // first index >= range.lowerBound
            let mid = (lo + hi) / 2
            if indices[mid] < range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        while lo < indices.count && indices[lo] < range.upperBound {
            let bit = start + indices[lo] - range.lowerBound
            packed[bit >> 3] |= UInt8(1) << UInt8(bit & 7)
            lo += 1
        }
        count = start + range.count
    }

    static func setCode(_ f: DicomFile, _ item: [TagPathStep], _ code: Code) throws {
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0100))], code.value)
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0102))], code.scheme)
        try f.set(item + [TagPathStep(Tag(0x0008, 0x0104))], code.meaning)
    }
}

/// DICOM DA and TM (yyyyMMdd, HHmmss) of `date` in UTC, without a formatter (a DateFormatter
/// costs about a millisecond to make).
public func dicomDateTime(_ date: Date) -> (date: String, time: String) {
    var t = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return (
        "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))",
        "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    )
}
