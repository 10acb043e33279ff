import Foundation
import VolumeModel

/// The slices of a series in order along the slice normal, with the grid they form.
public struct SeriesLayout: Sendable {
    /// Slices sorted by position along the normal (k = 0 first).
    public var slices: [SliceHeader]
    public var geometry: Geometry
    public var warnings: [LoadWarning]

    /// Tolerances. Positions are compared along the slice normal; DS values carry ~6 decimals.
    public static let duplicateToleranceMM = 0.01
    /// Steps within this fraction of the median step are regular (no warning).
    public static let regularStepFraction = 0.001
    /// Steps up to this fraction off the median give a warning; beyond, an error (the volume
    /// would be wrong). Steps of 1.5 x the median or more are reported as missing slices.
    public static let unevenStepFraction = 0.05
    /// Slice origins may lie this far off the straight line through all of them.
    public static let offLineToleranceMM = 0.1

    /// Orders `entry`'s slices and derives the grid from Image Position (Patient) alone (never
    /// Slice Thickness). Throws where the volume would be wrong; warns where it is only unusual.
    public init(entry: SeriesEntry) throws {
        let name = entry.label
        var slices = entry.slices
        var warnings: [LoadWarning] = []
        guard let first = slices.first else { throw DicomError.oneSlice(series: name) }
        if first.numberOfFrames > 1 {
            throw DicomError.unsupported(file: first.path, what: "multi-frame image (\(first.numberOfFrames) frames in one file, e.g. Enhanced CT); export the series as single-frame images")
        }
        // Two copies of one instance (same SOP Instance UID) are one slice.
        var seen = Set<String>()
        let before = slices.count
        slices = slices.filter { seen.insert($0.sopInstanceUID).inserted }
        if slices.count < before {
            warnings.append(LoadWarning("duplicate_instances", "\(before - slices.count) file(s) repeat an instance already read (same SOP Instance UID) and were ignored"))
        }
        guard slices.count >= 2 else { throw DicomError.oneSlice(series: name) }
        for s in slices {
            guard s.imagePositionMM != nil else { throw DicomError.missingTag(.imagePositionPatient, file: s.path) }
            guard s.orientation != nil else { throw DicomError.missingTag(.imageOrientationPatient, file: s.path) }
            guard s.pixelSpacingMM != nil else { throw DicomError.missingTag(.pixelSpacing, file: s.path) }
            guard s.rows > 0 else { throw DicomError.missingTag(.rows, file: s.path) }
            guard s.columns > 0 else { throw DicomError.missingTag(.columns, file: s.path) }
            guard s.pixelFormat != nil else { throw DicomError.missingTag(.bitsAllocated, file: s.path) }
            if s.rows != first.rows || s.columns != first.columns {
                throw DicomError.mixedMatrix(series: name, file: s.path, matrix: "\(s.columns)x\(s.rows)", expected: "\(first.columns)x\(first.rows)")
            }
            let a = s.pixelSpacingMM!, b = first.pixelSpacingMM!
            if abs(a.rowMM - b.rowMM) > 1e-4 || abs(a.columnMM - b.columnMM) > 1e-4 {
                throw DicomError.mixedPixelSpacing(series: name, file: s.path, spacingMM: [a.rowMM, a.columnMM], expectedMM: [b.rowMM, b.columnMM])
            }
        }
        slices.sort { $0.normalPositionMM! < $1.normalPositionMM! }
        let z = slices.map { $0.normalPositionMM! }
        let steps = zip(z.dropFirst(), z).map { $0 - $1 }
        for (k, s) in steps.enumerated() where s < Self.duplicateToleranceMM {
            throw DicomError.duplicatePositions(series: name, positionMM: z[k], files: [slices[k].path, slices[k + 1].path])
        }
        let median = steps.sorted()[steps.count / 2]
        var worst = 0.0
        for (k, s) in steps.enumerated() {
            if s >= 1.5 * median { throw DicomError.missingSlices(series: name, afterSlice: k, gapMM: s, stepMM: median) }
            let off = abs(s - median) / median
            if off > Self.unevenStepFraction { throw DicomError.unevenSliceSpacing(series: name, slice: k, stepMM: s, medianStepMM: median) }
            worst = max(worst, off)
        }
        if worst > Self.regularStepFraction {
            warnings.append(LoadWarning("uneven_spacing", String(format: "slice steps vary by up to %.2f %% around %.3f mm; the mean step is used", worst * 100, median)))
        }
        // The k axis runs from the first slice's origin to the last one's; every origin must lie on it.
        let p0 = slices.first!.imagePositionMM!, pn = slices.last!.imagePositionMM!
        let stepVector = (pn - p0) * (1 / Double(slices.count - 1))
        for (k, s) in slices.enumerated() {
            let d = (s.imagePositionMM! - (p0 + stepVector * Double(k))).length
            if d > Self.offLineToleranceMM { throw DicomError.slicesOffLine(series: name, slice: k, deviationMM: d) }
        }
        let o = first.orientation!, ps = first.pixelSpacingMM!
        // Pixel Spacing is (between rows, between columns): i (along a row) steps by the column spacing.
        let geometry = Geometry(dims: Dims(first.columns, first.rows, slices.count), originMM: p0,
                                spacingMM: Vector3(ps.columnMM, ps.rowMM, stepVector.length),
                                axes: (o.row, o.column, stepVector))
        let tilt = geometry.shearDegrees
        if tilt > 0.01 {
            warnings.append(LoadWarning("gantry_tilt", String(format: "slices are sheared by %.2f degrees (gantry tilt); volumes use the true slice separation, the NIfTI qform cannot hold the shear (sform does)", tilt)))
        } else if let t = first.gantryTiltDegrees, abs(t) > 0.01 {
            warnings.append(LoadWarning("gantry_tilt_tag", String(format: "(0018,1120) Gantry/Detector Tilt is %.2f degrees but the slice positions show no shear (already resampled)", t)))
        }
        if geometry.axes.2.dot(geometry.sliceNormal) < 0 {
            // Sorting by position along the normal makes this impossible; kept as a guard.
            throw DicomError.slicesOffLine(series: name, slice: 0, deviationMM: 0)
        }
        let rescales = Set(slices.map { "\($0.rescaleSlope)/\($0.rescaleIntercept)" })
        if rescales.count > 1 {
            warnings.append(LoadWarning("rescale_varies", "Rescale Slope/Intercept differ between slices (\(rescales.sorted().joined(separator: ", "))); each slice is rescaled with its own"))
        }
        self.slices = slices
        self.geometry = geometry
        self.warnings = warnings
    }
}

/// A CT series read into Hounsfield units.
public struct LoadedSeries: Sendable {
    public var entry: SeriesEntry
    public var volume: CTVolume
    public var warnings: [LoadWarning]
}

public enum SeriesLoader {
    /// Loads a CT series in HU: HU = stored x Rescale Slope (0028,1053) + Rescale Intercept (0028,1052),
    /// PS3.3 C.11.1.1.2, per slice, rounded to whole HU and kept within Int16 (a count of clamped
    /// voxels is reported). Slices are decoded in parallel.
    public static func loadCT(_ entry: SeriesEntry, requireCT: Bool = true) throws -> LoadedSeries {
        if requireCT && entry.modality != "CT" { throw DicomError.notCT(series: entry.label, modality: entry.modality.isEmpty ? "(none)" : entry.modality) }
        let layout = try SeriesLayout(entry: entry)
        let clamped = Counter()
        let volume: CTVolume = try decodeSlices(layout) { header, stored, out in
            let slope = header.rescaleSlope, intercept = header.rescaleIntercept
            var n = 0
            if slope == 1, intercept == intercept.rounded(), abs(intercept) < 1e6 {
                let b = Int32(intercept)
                for i in 0..<stored.count {
                    let v = stored[i] &+ b
                    if v < -32768 || v > 32767 { n += 1; out[i] = v < 0 ? .min : .max } else { out[i] = Int16(truncatingIfNeeded: v) }
                }
            } else {
                for i in 0..<stored.count {
                    let v = (Double(stored[i]) * slope + intercept).rounded()
                    if v < -32768 || v > 32767 { n += 1; out[i] = v < 0 ? .min : .max } else { out[i] = Int16(v) }
                }
            }
            if n > 0 { clamped.add(n) }
        }
        var warnings = layout.warnings
        if clamped.value > 0 {
            warnings.append(LoadWarning("hu_clamped", "\(clamped.value) voxels fell outside -32768..32767 HU and were clamped"))
        }
        if entry.slices.contains(where: { !$0.hasRescale }) {
            warnings.append(LoadWarning("no_rescale", "some slices have no (0028,1052) Rescale Intercept / (0028,1053) Rescale Slope; stored values taken as HU"))
        }
        return LoadedSeries(entry: entry, volume: volume, warnings: warnings)
    }

    /// Loads a DICOM mask series (one image per slice, non-zero = inside) on its own grid.
    public static func loadMaskSeries(_ entry: SeriesEntry, label: Int? = nil) throws -> (mask: Mask, warnings: [LoadWarning]) {
        let layout = try SeriesLayout(entry: entry)
        let mask: Mask = try decodeSlices(layout) { _, stored, out in
            if let label {
                let l = Int32(label)
                for i in 0..<stored.count { out[i] = stored[i] == l ? 1 : 0 }
            } else {
                for i in 0..<stored.count { out[i] = stored[i] != 0 ? 1 : 0 }
            }
        }
        return (mask, layout.warnings)
    }

    /// Decodes every slice in parallel into one buffer; `convert` maps a slice's stored values.
    static func decodeSlices<V: Sendable & Numeric>(
        _ layout: SeriesLayout,
        convert: @escaping @Sendable (SliceHeader, UnsafeBufferPointer<Int32>, UnsafeMutableBufferPointer<V>) -> Void
    ) throws -> Volume<V> {
        let dims = layout.geometry.dims
        let perSlice = dims.sliceCount
        var voxels = [V](repeating: 0, count: dims.count)
        let slices = layout.slices
        try voxels.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedSendable(buffer)
            let results = parallelMap(slices.count) { k in
                let header = slices[k]
                let stored = try storedValues(of: header, frames: 1)
                stored.withUnsafeBufferPointer { s in
                    convert(header, s, UnsafeMutableBufferPointer(rebasing: out.value[(k * perSlice)..<((k + 1) * perSlice)]))
                }
            }
            for r in results { if case .failure(let e) = r { throw e } }
        }
        return Volume(voxels: voxels, geometry: layout.geometry)
    }

    /// Opens the file, decodes its Pixel Data and unpacks `frames` frames of stored values.
    public static func storedValues(of header: SliceHeader, frames: Int) throws -> [Int32] {
        guard let format = header.pixelFormat else { throw DicomError.missingTag(.bitsAllocated, file: header.path) }
        guard format.samplesPerPixel == 1 else {
            throw DicomError.invalidTag(.samplesPerPixel, file: header.path, value: "\(format.samplesPerPixel)", expected: "1 (greyscale)")
        }
        let file = try DicomFile(path: header.path, headersOnly: false)
        let bytes = try file.decodedPixelBytes()
        return try PixelUnpacker.unpack(bytes, format: format, count: header.rows * header.columns * frames, file: header.path)
    }
}

/// A thread-safe counter for the parallel loops.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ v: Int) { lock.lock(); n += v; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Stored values from decoded Pixel Data bytes (PS3.5 8.1.1 and Annex D: bits packed from the
/// least significant end; High Bit (0028,0102) locates Bits Stored (0028,0101) in each cell).
public enum PixelUnpacker {
    public static func unpack(_ bytes: [UInt8], format: PixelFormat, count: Int, file: String) throws -> [Int32] {
        let ba = format.bitsAllocated
        guard [1, 8, 16, 32].contains(ba) else {
            throw DicomError.invalidTag(.bitsAllocated, file: file, value: "\(ba)", expected: "1, 8, 16 or 32")
        }
        guard format.bitsStored >= 1, format.bitsStored <= ba, format.highBit < ba, format.highBit >= format.bitsStored - 1 else {
            throw DicomError.invalidTag(.bitsStored, file: file, value: "\(format.bitsStored) (High Bit \(format.highBit))", expected: "1...\(ba) with High Bit in range")
        }
        let needed = ba == 1 ? (count + 7) / 8 : count * ba / 8
        guard bytes.count >= needed else { throw DicomError.pixelDataSize(file: file, expectedBytes: needed, actualBytes: bytes.count) }
        var out = [Int32](repeating: 0, count: count)
        if ba == 1 {
            bytes.withUnsafeBufferPointer { b in
                for i in 0..<count { out[i] = Int32((b[i >> 3] >> UInt8(i & 7)) & 1) }
            }
            return out
        }
        let shift = format.highBit + 1 - format.bitsStored
        let bits = format.bitsStored
        let signed = format.pixelRepresentation == 1
        let mask: UInt32 = bits == 32 ? .max : (UInt32(1) << UInt32(bits)) - 1
        @inline(__always) func value(_ raw: UInt32) -> Int32 {
            let v = (raw >> UInt32(shift)) & mask
            if signed && bits < 32 && (v >> UInt32(bits - 1)) & 1 == 1 { return Int32(bitPattern: v | ~mask) }
            return Int32(bitPattern: v)
        }
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                switch ba {
                case 8:
                    let p = raw.bindMemory(to: UInt8.self)
                    for i in 0..<count { o[i] = value(UInt32(p[i])) }
                case 16:
                    let p = raw.bindMemory(to: UInt16.self)
                    if shift == 0 && bits == 16 {
                        if signed { for i in 0..<count { o[i] = Int32(Int16(bitPattern: UInt16(littleEndian: p[i]))) } }
                        else { for i in 0..<count { o[i] = Int32(UInt16(littleEndian: p[i])) } }
                    } else {
                        for i in 0..<count { o[i] = value(UInt32(UInt16(littleEndian: p[i]))) }
                    }
                default:
                    let p = raw.bindMemory(to: UInt32.self)
                    for i in 0..<count { o[i] = value(UInt32(littleEndian: p[i])) }
                }
            }
        }
        return out
    }
}
