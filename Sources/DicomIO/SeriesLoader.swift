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
    /// The largest series read: 2^30 voxels (2 GB as 16-bit HU; an analysis needs about 16 bytes
    /// a voxel), e.g. 1024 x 1024 x 1024 or 512 x 512 x 4096.
    public static let maxVoxels = 1 << 30

    /// Orders `entry`'s slices and derives the grid from Image Position (Patient) alone (never
    /// Slice Thickness). Throws where the volume would be wrong; warns where it is only unusual.
    public init(entry: SeriesEntry) throws {
        let name = entry.label
        var slices = entry.slices
        var warnings: [LoadWarning] = []
        guard let first = slices.first else { throw DicomError.oneSlice(series: name) }
        if let other = entry.sameOrientationOtherMatrix.first {
            throw DicomError.mixedMatrix(
                series: name, file: other.path, matrix: "\(other.columns)x\(other.rows)",
                expected: "\(first.columns)x\(first.rows)")
        }
        if let multi = slices.first(where: { $0.frameIndex == nil && $0.numberOfFrames > 1 }) {
            throw DicomError.unsupported(
                file: multi.path,
                what:
                    "multi-frame image (\(multi.numberOfFrames) frames in one file) without (5200,9230) Per-frame Functional Groups to place its frames; Enhanced and Legacy Converted Enhanced CT are read"
            )
        }
        for (code, tag, meta) in [
            (
                SliceHeader.sopInstanceFromMeta, "(0008,0018) SOP Instance UID",
                "(0002,0003) Media Storage SOP Instance UID"
            ),
            (SliceHeader.sopClassFromMeta, "(0008,0016) SOP Class UID", "(0002,0002) Media Storage SOP Class UID"),
        ] {
            let n = slices.filter { $0.repairs.contains(code) }.count
            if n > 0 {
                warnings.append(
                    LoadWarning(
                        code,
                        "\(n) of \(slices.count) files have an empty \(tag); the file meta header's \(meta) was used"))
            }
        }
        // Two copies of one instance (same SOP Instance UID, and frame) are one slice.
        var seen = Set<String>()
        let before = slices.count
        slices = slices.filter { seen.insert($0.imageKey).inserted }
        if slices.count < before {
            warnings.append(
                LoadWarning(
                    "duplicate_instances",
                    "\(before - slices.count) file(s) repeat an instance already read (same SOP Instance UID) and were ignored"
                ))
        }
        guard slices.count >= 2 else { throw DicomError.oneSlice(series: name) }
        for s in slices {
            guard s.imagePositionMM != nil else { throw DicomError.missingTag(.imagePositionPatient, file: s.location) }
            guard s.orientation != nil else { throw DicomError.missingTag(.imageOrientationPatient, file: s.location) }
            guard s.pixelSpacingMM != nil else { throw DicomError.missingTag(.pixelSpacing, file: s.location) }
            guard s.rows > 0 else { throw DicomError.missingTag(.rows, file: s.location) }
            guard s.columns > 0 else { throw DicomError.missingTag(.columns, file: s.location) }
            guard s.pixelFormat != nil else { throw DicomError.missingTag(.bitsAllocated, file: s.location) }
            if s.rows != first.rows || s.columns != first.columns {
                throw DicomError.mixedMatrix(
                    series: name, file: s.location, matrix: "\(s.columns)x\(s.rows)",
                    expected: "\(first.columns)x\(first.rows)")
            }
            let a = s.pixelSpacingMM!, b = first.pixelSpacingMM!
            if abs(a.rowMM - b.rowMM) > 1e-4 || abs(a.columnMM - b.columnMM) > 1e-4 {
                throw DicomError.mixedPixelSpacing(
                    series: name, file: s.location, spacingMM: [a.rowMM, a.columnMM], expectedMM: [b.rowMM, b.columnMM])
            }
        }
        slices.sort { $0.normalPositionMM! < $1.normalPositionMM! }
        let z = slices.map { $0.normalPositionMM! }
        let steps = zip(z.dropFirst(), z).map { $0 - $1 }
        for (k, s) in steps.enumerated() where s < Self.duplicateToleranceMM {
            throw DicomError.duplicatePositions(
                series: name, positionMM: z[k], files: [slices[k].location, slices[k + 1].location])
        }
        let median = steps.sorted()[steps.count / 2]
        var worst = 0.0
        for (k, s) in steps.enumerated() {
            if s >= 1.5 * median {
                throw DicomError.missingSlices(series: name, afterSlice: k, gapMM: s, stepMM: median)
            }
            let off = abs(s - median) / median
            if off > Self.unevenStepFraction {
                throw DicomError.unevenSliceSpacing(series: name, slice: k, stepMM: s, medianStepMM: median)
            }
            worst = max(worst, off)
        }
        if worst > Self.regularStepFraction {
            warnings.append(
                LoadWarning(
                    "uneven_spacing",
                    String(
                        format: "slice steps vary by up to %.2f %% around %.3f mm; the mean step is used", worst * 100,
                        median)))
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
        let geometry = Geometry(
            dims: Dims(first.columns, first.rows, slices.count), originMM: p0,
            spacingMM: Vector3(ps.columnMM, ps.rowMM, stepVector.length),
            axes: (o.row, o.column, stepVector))
        let tilt = geometry.shearDegrees
        if tilt > 0.01 {
            warnings.append(
                LoadWarning(
                    "gantry_tilt",
                    String(
                        format:
                            "slices are sheared by %.2f degrees (gantry tilt); volumes use the true slice separation, the NIfTI qform cannot hold the shear (sform does)",
                        tilt)))
        } else if let t = first.gantryTiltDegrees, abs(t) > 0.01 {
            warnings.append(
                LoadWarning(
                    "gantry_tilt_tag",
                    String(
                        format:
                            "(0018,1120) Gantry/Detector Tilt is %.2f degrees but the slice positions show no shear (already resampled)",
                        t)))
        }
        if geometry.axes.2.dot(geometry.sliceNormal) < 0 {
            // Sorting by position along the normal makes this impossible; kept as a guard.
            throw DicomError.slicesOffLine(series: name, slice: 0, deviationMM: 0)
        }
        // A header may claim any matrix: refuse what no CT holds before anything is allocated.
        guard geometry.dims.count <= Self.maxVoxels, geometry.dims.count > 0 else {
            throw DicomError.unsupported(
                file: first.path,
                what:
                    "a series of \(geometry.dims.x) x \(geometry.dims.y) x \(geometry.dims.z) voxels; htb reads at most 2^30 (1024 x 1024 x 1024) and at least one"
            )
        }
        let rescales = Set(slices.map { "\($0.rescaleSlope)/\($0.rescaleIntercept)" })
        if rescales.count > 1 {
            warnings.append(
                LoadWarning(
                    "rescale_varies",
                    "Rescale Slope/Intercept differ between slices (\(rescales.sorted().joined(separator: ", "))); each slice is rescaled with its own"
                ))
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
    /// Headers in volume order: `slices[k]` is slice k.
    public var slices: [SliceHeader]
}

public enum SeriesLoader {
    /// Loads a CT series in HU: HU = stored x Rescale Slope (0028,1053) + Rescale Intercept (0028,1052),
    /// PS3.3 C.11.1.1.2, per slice, rounded to whole HU and kept within Int16 (a count of clamped
    /// voxels is reported). Slices are decoded in parallel.
    public static func loadCT(_ entry: SeriesEntry, requireCT: Bool = true) throws -> LoadedSeries {
        if requireCT && entry.modality != "CT" {
            throw DicomError.notCT(series: entry.label, modality: entry.modality.isEmpty ? "(none)" : entry.modality)
        }
        let layout = try SeriesLayout(entry: entry)
        let clamped = Counter()
        // 16-bit native slices are read straight into the volume and converted in place;
        // anything else is decoded to bytes first.
        let volume: CTVolume = try decodeSlices(layout) { header, slice, scratch in
            let raw = UnsafeMutableRawBufferPointer(slice)
            let n: Int
            if header.pixelFormat?.bitsAllocated == 16, try NativePixelReader.read(header, into: raw) {
                n = HounsfieldConverter.convertInPlace(slice, header: header)
            } else {
                try pixelBytes(of: header, into: &scratch)
                n = try HounsfieldConverter.convert(scratch.bytes, header: header, into: slice)
            }
            if n > 0 { clamped.add(n) }
        }
        var warnings = layout.warnings
        if clamped.value > 0 {
            warnings.append(
                LoadWarning("hu_clamped", "\(clamped.value) voxels fell outside -32768..32767 HU and were clamped"))
        }
        if entry.slices.contains(where: { !$0.hasRescale }) {
            warnings.append(
                LoadWarning(
                    "no_rescale",
                    "some slices have no (0028,1052) Rescale Intercept / (0028,1053) Rescale Slope; stored values taken as HU"
                ))
        }
        return LoadedSeries(entry: entry, volume: volume, warnings: warnings, slices: layout.slices)
    }

    /// Loads a DICOM mask series (one image per slice, non-zero = inside) on its own grid.
    public static func loadMaskSeries(_ entry: SeriesEntry, label: Int? = nil) throws -> (
        mask: Mask, warnings: [LoadWarning]
    ) {
        let layout = try SeriesLayout(entry: entry)
        let mask: Mask = try decodeSlices(layout) { header, out, scratch in
            try pixelBytes(of: header, into: &scratch)
            let stored = try PixelUnpacker.unpack(
                scratch.bytes, format: header.pixelFormat!, count: out.count, file: header.location)
            if let label {
                let l = Int32(label)
                for i in 0..<stored.count { out[i] = stored[i] == l ? 1 : 0 }
            } else {
                for i in 0..<stored.count { out[i] = stored[i] != 0 ? 1 : 0 }
            }
        }
        return (mask, layout.warnings)
    }

    /// Fills a volume slice by slice in parallel: `fill(header, slice, scratch)` writes slice k.
    /// One worker per core takes every W-th slice and keeps one scratch buffer; the output is
    /// allocated uninitialised so each page is touched once, by the worker that fills it.
    static func decodeSlices<V: Sendable & Numeric>(
        _ layout: SeriesLayout,
        fill: @escaping @Sendable (SliceHeader, UnsafeMutableBufferPointer<V>, inout PixelScratch) throws -> Void
    ) throws -> Volume<V> {
        let dims = layout.geometry.dims
        let perSlice = dims.sliceCount
        let slices = layout.slices
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, slices.count))
        var failure: (any Error)?
        let voxels = [V](unsafeUninitializedCapacity: dims.count) { buffer, initialized in
            let out = UncheckedSendable(buffer)
            let results = parallelMap(workers) { w in
                var scratch = PixelScratch()
                for k in stride(from: w, to: slices.count, by: workers) {
                    let header = slices[k]
                    try checkGreyscale(header)
                    let slice = UnsafeMutableBufferPointer(rebasing: out.value[(k * perSlice)..<((k + 1) * perSlice)])
                    try fill(header, slice, &scratch)
                }
            }
            for r in results {
                if case .failure(let e) = r {
                    failure = e
                    break
                }
            }
            if failure != nil { buffer.initialize(repeating: 0) }  // never hand out uninitialised memory
            initialized = dims.count
        }
        if let failure { throw failure }
        return Volume(voxels: voxels, geometry: layout.geometry)
    }

    static func checkGreyscale(_ header: SliceHeader) throws {
        guard let format = header.pixelFormat else { throw DicomError.missingTag(.bitsAllocated, file: header.path) }
        try format.validate(file: header.path)
        guard format.samplesPerPixel == 1 else {
            throw DicomError.invalidTag(
                .samplesPerPixel, file: header.path, value: "\(format.samplesPerPixel)", expected: "1 (greyscale)")
        }
    }

    /// The file's Pixel Data as native little-endian bytes: read straight from the file for the
    /// native little-endian transfer syntaxes (see `NativePixelReader`), decoded by DCMTK otherwise.
    /// For a frame of a multi-frame image, that frame's bytes alone.
    public static func pixelBytes(of header: SliceHeader) throws -> [UInt8] {
        var scratch = PixelScratch()
        try pixelBytes(of: header, into: &scratch)
        return scratch.bytes
    }

    /// As `pixelBytes(of:)`, reusing the scratch's storage, and its open file for the next frame
    /// of the same multi-frame image.
    static func pixelBytes(of header: SliceHeader, into scratch: inout PixelScratch) throws {
        if try NativePixelReader.read(header, into: &scratch.bytes) { return }
        guard let frame = header.frameIndex else {
            scratch.bytes = try DicomFile(path: header.path, headersOnly: false).decodedPixelBytes()
            return
        }
        if scratch.file?.path != header.path { scratch.file = try DicomFile(path: header.path, headersOnly: false) }
        scratch.bytes = try scratch.file!.decodedFrameBytes(frame)
    }

    /// Decodes `frames` frames of stored values (any pixel format htb reads).
    public static func storedValues(of header: SliceHeader, frames: Int) throws -> [Int32] {
        try checkGreyscale(header)
        let bytes = try pixelBytes(of: header)
        return try PixelUnpacker.unpack(
            bytes, format: header.pixelFormat!, count: header.rows * header.columns * frames, file: header.path)
    }
}

/// One decoding worker's state: a byte buffer used again for every image, and the multi-frame
/// file last opened, kept open while the worker reads its frames one by one.
struct PixelScratch {
    var bytes: [UInt8] = []
    var file: DicomFile?
}

/// Reads uncompressed Pixel Data without a second parse of the file. For Implicit and Explicit
/// VR Little Endian the Pixel Data element of a single-frame image normally ends the file; its
/// header is then found at a computable offset from the end. The tag (7FE0,0010), the VR and the
/// value length are all checked there; when anything differs (trailing padding, odd lengths,
/// multi-frame, other syntaxes) nil is returned and DCMTK parses the file instead.
enum NativePixelReader {
    static let implicitLE = "1.2.840.10008.1.2", explicitLE = "1.2.840.10008.1.2.1"

    /// Fills `bytes` with the Pixel Data value and returns true, or returns false (DCMTK's turn).
    static func read(_ h: SliceHeader, into bytes: inout [UInt8]) throws -> Bool {
        guard let (fd, offset, length) = try locate(h) else { return false }
        defer { close(fd) }
        if bytes.count != length { bytes = [UInt8](repeating: 0, count: length) }
        return bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) } == length
    }

    /// Reads the Pixel Data value straight into `destination` when it has exactly its size.
    static func read(_ h: SliceHeader, into destination: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard let (fd, offset, length) = try locate(h) else { return false }
        defer { close(fd) }
        guard length == destination.count else { return false }
        return pread(fd, destination.baseAddress, length, off_t(offset)) == length
    }

    /// An open descriptor, the value's offset and its length (of the header's frame, for a frame
    /// of a multi-frame image: frames follow each other in the value); nil when the layout is not
    /// the simple one.
    private static func locate(_ h: SliceHeader) throws -> (Int32, Int, Int)? {
        guard h.transferSyntaxUID == implicitLE || h.transferSyntaxUID == explicitLE,
            h.numberOfFrames == 1 || h.frameIndex != nil,
            let f = h.pixelFormat, f.bitsAllocated == 8 || f.bitsAllocated == 16
        else { return nil }
        let frameLength = h.rows * h.columns * f.bitsAllocated / 8
        let frames = h.frameIndex == nil ? 1 : h.numberOfFrames
        let length = frameLength * frames
        let frame = h.frameIndex ?? 0
        guard frameLength > 0, length % 2 == 0, frame < frames, let expected = UInt32(exactly: length) else {
            return nil
        }
        let fd = open(h.path, O_RDONLY)
        guard fd >= 0 else { throw DicomError.unreadable(file: h.path, reason: String(cString: strerror(errno))) }
        var keep = false
        defer { if !keep { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let size = Int(st.st_size)
        let headerLength = h.transferSyntaxUID == explicitLE ? 12 : 8
        let start = size - length - headerLength
        guard start > 132 else { return nil }
        var head = [UInt8](repeating: 0, count: headerLength)
        guard pread(fd, &head, headerLength, off_t(start)) == headerLength else { return nil }
        guard head[0] == 0xE0, head[1] == 0x7F, head[2] == 0x10, head[3] == 0x00 else { return nil }
        let lengthField: UInt32
        if headerLength == 12 {
            let vr = String(decoding: head[4..<6], as: UTF8.self)
            guard vr == "OW" || vr == "OB", head[6] == 0, head[7] == 0 else { return nil }
            lengthField = UInt32(head[8]) | UInt32(head[9]) << 8 | UInt32(head[10]) << 16 | UInt32(head[11]) << 24
        } else {
            lengthField = UInt32(head[4]) | UInt32(head[5]) << 8 | UInt32(head[6]) << 16 | UInt32(head[7]) << 24
        }
        guard lengthField == expected else { return nil }
        keep = true
        return (fd, start + headerLength + frame * frameLength, frameLength)
    }
}

/// Stored values to HU into an Int16 slice. The common CT layout (16 bits allocated, High Bit =
/// Bits Stored - 1, slope 1, whole-number intercept) takes an integer path; everything else goes
/// through `PixelUnpacker` and floating point. Returns the number of clamped voxels.
enum HounsfieldConverter {
    /// Rounded HU kept within Int16; the flag says whether it had to be clamped.
    @inline(__always) static func clampedHU(_ v: Double) -> (Int16, Bool) {
        let r = v.rounded()
        if r < -32768 { return (.min, true) }
        if r > 32767 { return (.max, true) }
        return (Int16(r), false)
    }

    /// `slice` holds the raw 16-bit stored values (little endian); converts them to HU in place.
    static func convertInPlace(_ slice: UnsafeMutableBufferPointer<Int16>, header: SliceHeader) -> Int {
        let f = header.pixelFormat!
        let slope = header.rescaleSlope, intercept = header.rescaleIntercept
        var clamped = 0
        if f.highBit == f.bitsStored - 1, slope == 1, intercept == intercept.rounded(), abs(intercept) < 65536 {
            let b = Int32(intercept), shift = Int32(32 - f.bitsStored)
            if f.pixelRepresentation == 1 && f.bitsStored == 16 && b == 0 { return 0 }  // stored values are HU already
            let signed = f.pixelRepresentation == 1
            for i in 0..<slice.count {
                let u = Int32(UInt16(littleEndian: UInt16(bitPattern: slice[i])))
                // Keep Bits Stored bits: sign-extend them (signed) or mask them (unsigned).
                let s =
                    signed ? (u << shift) >> shift : Int32(bitPattern: UInt32(bitPattern: u << shift) >> UInt32(shift))
                let v = s &+ b
                let c = min(max(v, -32768), 32767)
                clamped &+= c == v ? 0 : 1
                slice[i] = Int16(truncatingIfNeeded: c)
            }
            return clamped
        }
        for i in 0..<slice.count {
            let stored = PixelUnpacker.value(UInt32(UInt16(littleEndian: UInt16(bitPattern: slice[i]))), format: f)
            let (hu, c) = clampedHU(Double(stored) * slope + intercept)
            slice[i] = hu
            if c { clamped += 1 }
        }
        return clamped
    }

    /// Decoded Pixel Data bytes to HU: 16-bit cells are copied into the slice and converted in
    /// place (one code path with the direct read); other widths go through `PixelUnpacker`.
    static func convert(_ bytes: [UInt8], header: SliceHeader, into out: UnsafeMutableBufferPointer<Int16>) throws
        -> Int
    {
        let f = header.pixelFormat!
        let count = out.count
        if f.bitsAllocated == 16 {
            guard bytes.count >= 2 * count else {
                throw DicomError.pixelDataSize(file: header.path, expectedBytes: 2 * count, actualBytes: bytes.count)
            }
            bytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(out).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: $0[0..<(2 * count)]))
            }
            return convertInPlace(out, header: header)
        }
        let stored = try PixelUnpacker.unpack(bytes, format: f, count: count, file: header.path)
        var clamped = 0
        for i in 0..<count {
            let (hu, c) = clampedHU(Double(stored[i]) * header.rescaleSlope + header.rescaleIntercept)
            out[i] = hu
            if c { clamped += 1 }
        }
        return clamped
    }
}

/// A thread-safe counter for the parallel loops.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add(_ v: Int) {
        lock.lock()
        n += v
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return n
    }
}

/// Stored values from decoded Pixel Data bytes (PS3.5 8.1.1 and Annex D: bits packed from the
/// least significant end; High Bit (0028,0102) locates Bits Stored (0028,0101) in each cell).
public enum PixelUnpacker {
    /// One stored value from its cell: shift by High Bit, keep Bits Stored bits, sign-extend if signed.
    @inline(__always) static func value(_ raw: UInt32, format f: PixelFormat) -> Int32 {
        let shift = UInt32(f.highBit + 1 - f.bitsStored), bits = UInt32(f.bitsStored)
        let mask: UInt32 = bits == 32 ? .max : (1 << bits) - 1
        let v = (raw >> shift) & mask
        if f.pixelRepresentation == 1 && bits < 32 && (v >> (bits - 1)) & 1 == 1 { return Int32(bitPattern: v | ~mask) }
        return Int32(bitPattern: v)
    }

    public static func unpack(_ bytes: [UInt8], format: PixelFormat, count: Int, file: String) throws -> [Int32] {
        let ba = format.bitsAllocated
        try format.validate(file: file)
        let needed = ba == 1 ? (count + 7) / 8 : count * ba / 8
        guard bytes.count >= needed else {
            throw DicomError.pixelDataSize(file: file, expectedBytes: needed, actualBytes: bytes.count)
        }
        if ba == 1 { return bits(bytes, count: count).map { Int32($0) } }
        var out = [Int32](repeating: 0, count: count)
        let fullWidth16 = ba == 16 && format.highBit == 15 && format.bitsStored == 16
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { o in
                switch ba {
                case 8:
                    let p = raw.bindMemory(to: UInt8.self)
                    for i in 0..<count { o[i] = value(UInt32(p[i]), format: format) }
                case 16 where fullWidth16:
                    // The common full-width case, without the bit fiddling.
                    let p = raw.bindMemory(to: UInt16.self)
                    if format.pixelRepresentation == 1 {
                        for i in 0..<count { o[i] = Int32(Int16(bitPattern: UInt16(littleEndian: p[i]))) }
                    } else {
                        for i in 0..<count { o[i] = Int32(UInt16(littleEndian: p[i])) }
                    }
                case 16:
                    let p = raw.bindMemory(to: UInt16.self)
                    for i in 0..<count { o[i] = value(UInt32(UInt16(littleEndian: p[i])), format: format) }
                default:
                    let p = raw.bindMemory(to: UInt32.self)
                    for i in 0..<count { o[i] = value(UInt32(littleEndian: p[i]), format: format) }
                }
            }
        }
        return out
    }

    /// 1-bit pixels (PS3.5 8.1.1: packed from the least significant bit, frames not byte-aligned).
    public static func bits(_ bytes: [UInt8], count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<count { out[i] = (b[i >> 3] >> UInt8(i & 7)) & 1 }
        }
        return out
    }
}
