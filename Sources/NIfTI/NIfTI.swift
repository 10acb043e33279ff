import CZlib
import Foundation
import VolumeModel

/// Errors reading or writing NIfTI-1 files.
public enum NIfTIError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case invalidHeader(file: String, field: String, value: String, expected: String)
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    case noOrientation(file: String)
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read NIfTI: \(r)"
        case .invalidHeader(let f, let field, let v, let e): return "\(f): NIfTI header \(field) is \(v), expected \(e)"
        case .truncated(let f, let e, let a):
            return "\(f): NIfTI image data holds \(a) bytes, expected \(e) (truncated)"
        case .noOrientation(let f):
            return
                "\(f): NIfTI has qform_code = sform_code = 0: no patient orientation, so it cannot be checked against the CT"
        case .cannotWrite(let f, let r): return "\(f): cannot write: \(r)"
        }
    }
}

/// A NIfTI-1 image (single file, .nii or .nii.gz) with its grid converted to LPS.
/// NIfTI's world frame is RAS+ (x to the Right... increasing to the patient's left is -x):
/// LPS = diag(-1, -1, 1) x RAS. The sform is used when sform_code > 0, else the qform.
public struct NIfTIImage: Sendable {
    public var path: String
    public var geometry: Geometry
    public var datatype: Int
    public var sclSlope: Double
    public var sclInter: Double
    /// Image data in the file's datatype, native little-endian after reading.
    var data: [UInt8]
    /// Label names by value, when the file carries them: TotalSegmentator's multi-label output
    /// (a Caret LabelTable in a NIfTI header extension), a .seg.nrrd's segments.
    public var labelNames: [Int: String] = [:]

    /// Datatype codes (nifti1.h) that htb reads and writes.
    public enum Datatype: Int16, Sendable {
        case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512, uint32 = 768
        var bytes: Int {
            switch self {
            case .uint8, .int8: 1
            case .int16, .uint16: 2
            case .int32, .uint32, .float32: 4
            case .float64: 8
            }
        }
    }

    public static func read(path: String) throws -> NIfTIImage {
        let raw = try readAll(path)
        guard raw.count >= 348 else {
            throw NIfTIError.truncated(file: path, expectedBytes: 348, actualBytes: raw.count)
        }
        var r = Reader(bytes: raw, swap: false)
        if r.i32(0) != 348 {
            r.swap = true
            guard r.i32(0) == 348 else {
                throw NIfTIError.invalidHeader(
                    file: path, field: "sizeof_hdr", value: "\(r.i32(0))", expected: "348 (a NIfTI-1 file)")
            }
        }
        let magic = String(decoding: raw[344..<347], as: UTF8.self)
        guard magic == "n+1" else {
            throw NIfTIError.invalidHeader(
                file: path, field: "magic", value: "'\(magic)'",
                expected: "'n+1' (single-file NIfTI-1; .hdr/.img pairs are not read)")
        }
        let ndim = Int(r.i16(40))
        guard (2...7).contains(ndim) else {
            throw NIfTIError.invalidHeader(file: path, field: "dim[0]", value: "\(ndim)", expected: "2 to 7")
        }
        let dim = (1...7).map { Int(r.i16(40 + 2 * $0)) }
        for d in 3..<7 where d < ndim && dim[d] > 1 {
            throw NIfTIError.invalidHeader(
                file: path, field: "dim[\(d + 1)]", value: "\(dim[d])", expected: "1 (a single 3D volume)")
        }
        let nx = dim[0], ny = dim[1], nz = ndim >= 3 ? dim[2] : 1
        guard nx > 0, ny > 0, nz > 0 else {
            throw NIfTIError.invalidHeader(
                file: path, field: "dim", value: "\(nx)x\(ny)x\(nz)", expected: "positive sizes")
        }
        let code = r.i16(70)
        guard let type = Datatype(rawValue: code) else {
            throw NIfTIError.invalidHeader(
                file: path, field: "datatype", value: "\(code)",
                expected: "an integer or float scalar type (2, 4, 8, 16, 64, 256, 512, 768)")
        }
        // vox_offset is a float: it must be a whole number of bytes past the 348-byte header and
        // within the file (a NaN, an infinity or a negative offset is a damaged header).
        let voxOffsetValue = r.f32(108)
        guard voxOffsetValue.isFinite, voxOffsetValue >= 348, voxOffsetValue <= Float(raw.count),
            voxOffsetValue == voxOffsetValue.rounded()
        else {
            throw NIfTIError.invalidHeader(
                file: path, field: "vox_offset", value: "\(voxOffsetValue)",
                expected: "a whole byte offset from 348 to the file's size (\(raw.count))")
        }
        let voxOffset = Int(voxOffsetValue)
        let count = nx * ny * nz
        let needed = voxOffset + count * type.bytes
        guard raw.count >= needed else {
            throw NIfTIError.truncated(file: path, expectedBytes: needed, actualBytes: raw.count)
        }
        let pixdim = (0...3).map { Double(r.f32(76 + 4 * $0)) }
        var affine: (Vector3, Vector3, Vector3, Vector3)  // columns i, j, k and offset, in RAS
        if r.i16(254) > 0 {
            let row = (0..<3).map { rr in (0..<4).map { Double(r.f32(280 + 16 * rr + 4 * $0)) } }
            affine = (
                Vector3(row[0][0], row[1][0], row[2][0]), Vector3(row[0][1], row[1][1], row[2][1]),
                Vector3(row[0][2], row[1][2], row[2][2]), Vector3(row[0][3], row[1][3], row[2][3])
            )
        } else if r.i16(252) > 0 {
            let b = Double(r.f32(256)), c = Double(r.f32(260)), d = Double(r.f32(264))
            let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
            let qfac = pixdim[0] < 0 ? -1.0 : 1.0
            let c0 = Vector3(a * a + b * b - c * c - d * d, 2 * (b * c + a * d), 2 * (b * d - a * c))
            let c1 = Vector3(2 * (b * c - a * d), a * a + c * c - b * b - d * d, 2 * (c * d + a * b))
            let c2 = Vector3(2 * (b * d + a * c), 2 * (c * d - a * b), a * a + d * d - c * c - b * b)
            affine = (
                c0 * pixdim[1], c1 * pixdim[2], c2 * (pixdim[3] * qfac),
                Vector3(Double(r.f32(268)), Double(r.f32(272)), Double(r.f32(276)))
            )
        } else {
            throw NIfTIError.noOrientation(file: path)
        }
        func lps(_ v: Vector3) -> Vector3 { Vector3(-v.x, -v.y, v.z) }
        let columns = [affine.0, affine.1, affine.2, affine.3]
        guard columns.allSatisfy({ $0.x.isFinite && $0.y.isFinite && $0.z.isFinite }) else {
            throw NIfTIError.invalidHeader(
                file: path, field: r.i16(254) > 0 ? "srow_x/y/z" : "quatern/qoffset/pixdim",
                value: "a NaN or infinite entry", expected: "a finite affine")
        }
        let spacing = Vector3(affine.0.length, affine.1.length, affine.2.length)
        guard spacing.x > 0, spacing.y > 0, spacing.z > 0 else {
            throw NIfTIError.invalidHeader(
                file: path, field: "affine", value: "a zero-length axis", expected: "a non-singular affine")
        }
        let geometry = Geometry(
            dims: Dims(nx, ny, nz), originMM: lps(affine.3), spacingMM: spacing,
            axes: (lps(affine.0), lps(affine.1), lps(affine.2)))
        var data = Array(raw[voxOffset..<needed])
        if r.swap && type.bytes > 1 {
            let w = type.bytes
            for v in 0..<count { data[(v * w)..<(v * w + w)].reverse() }
        }
        var slope = Double(r.f32(112)), inter = Double(r.f32(116))
        if slope == 0 || !slope.isFinite {
            slope = 1
            inter = 0
        }
        var image = NIfTIImage(
            path: path, geometry: geometry, datatype: Int(code), sclSlope: slope, sclInter: inter, data: data)
        image.labelNames = labelTable(extensionsOf: raw, voxOffset: voxOffset, reader: r)
        return image
    }

    /// Label names from the header extensions (between byte 352 and vox_offset, when byte 348
    /// says there are any): each is esize (a multiple of 16), ecode, content. Any extension
    /// holding a Caret `<LabelTable>` (TotalSegmentator writes one with ecode 0) gives
    /// `<Label Key="N" ...>name</Label>` entries (the name may be wrapped in CDATA). A malformed
    /// extension ends the search: the image itself is unaffected.
    static func labelTable(extensionsOf raw: [UInt8], voxOffset: Int, reader r: Reader) -> [Int: String] {
        guard raw.count > 352, raw[348] != 0 else { return [:] }
        var names: [Int: String] = [:]
        var offset = 352
        while offset + 8 <= min(voxOffset, raw.count) {
            let size = Int(r.i32(offset))
            guard size >= 8, offset + size <= min(voxOffset, raw.count) else { break }
            let text = String(decoding: raw[(offset + 8)..<(offset + size)], as: UTF8.self)
            if text.contains("<LabelTable") { names.merge(caretLabels(text)) { a, _ in a } }
            offset += size
        }
        return names
    }

    /// `<Label Key="3" Red=...><![CDATA[liver]]></Label>` entries of a Caret label table.
    static func caretLabels(_ xml: String) -> [Int: String] {
        var out: [Int: String] = [:]
        var rest = Substring(xml)
        while let open = rest.range(of: "<Label ") {
            rest = rest[open.upperBound...]
            guard let keyStart = rest.range(of: "Key=\""), let tagEnd = rest.firstIndex(of: ">"),
                keyStart.upperBound < tagEnd
            else { continue }
            let keyText = rest[keyStart.upperBound...].prefix { $0 != "\"" }
            guard let close = rest.range(of: "</Label>") else { break }
            var name = String(rest[rest.index(after: tagEnd)..<close.lowerBound]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            if name.hasPrefix("<![CDATA["), name.hasSuffix("]]>") { name = String(name.dropFirst(9).dropLast(3)) }
            if let key = Int(keyText), !name.isEmpty { out[key] = name.trimmingCharacters(in: .whitespaces) }
            rest = rest[close.upperBound...]
        }
        return out
    }

    /// The label value named `name` (case-insensitive), or nil.
    public func label(named name: String) -> Int? {
        labelNames.first { $0.value.caseInsensitiveCompare(name) == .orderedSame }?.key
    }

    /// Voxel values after scl_slope / scl_inter, as Double.
    public func value(at v: Int) -> Double {
        let raw: Double = data.withUnsafeBytes { p in
            switch Datatype(rawValue: Int16(datatype))! {
            case .uint8: Double(p.load(fromByteOffset: v, as: UInt8.self))
            case .int8: Double(p.load(fromByteOffset: v, as: Int8.self))
            case .int16: Double(p.loadUnaligned(fromByteOffset: 2 * v, as: Int16.self))
            case .uint16: Double(p.loadUnaligned(fromByteOffset: 2 * v, as: UInt16.self))
            case .int32: Double(p.loadUnaligned(fromByteOffset: 4 * v, as: Int32.self))
            case .uint32: Double(p.loadUnaligned(fromByteOffset: 4 * v, as: UInt32.self))
            case .float32: Double(p.loadUnaligned(fromByteOffset: 4 * v, as: Float.self))
            case .float64: p.loadUnaligned(fromByteOffset: 8 * v, as: Double.self)
            }
        }
        return raw * sclSlope + sclInter
    }

    /// The label map as a mask on its own grid: voxels equal to `label` (rounded), or any non-zero
    /// voxel when `label` is nil.
    public func mask(label: Int?) -> Mask {
        let n = geometry.dims.count
        var out = [UInt8](repeating: 0, count: n)
        if let label {
            let l = Double(label)
            for v in 0..<n where value(at: v).rounded() == l { out[v] = 1 }
        } else {
            for v in 0..<n where value(at: v) != 0 { out[v] = 1 }
        }
        return Mask(voxels: out, geometry: geometry)
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NIfTIError.unreadable(file: path, reason: "no such file")
        }
        guard let gz = gzopen(path, "rb") else {
            throw NIfTIError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        defer { gzclose(gz) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var errnum: Int32 = 0
                let msg = String(cString: gzerror(gz, &errnum))
                throw NIfTIError.unreadable(file: path, reason: "gzip: \(msg)")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }

    struct Reader {
        let bytes: [UInt8]
        var swap: Bool
        func u32(_ o: Int) -> UInt32 {
            let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
            return swap ? v.byteSwapped : v
        }
        func i32(_ o: Int) -> Int32 { Int32(bitPattern: u32(o)) }
        func i16(_ o: Int) -> Int16 {
            let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt16.self) }
            return Int16(bitPattern: swap ? v.byteSwapped : v)
        }
        func f32(_ o: Int) -> Float { Float(bitPattern: u32(o)) }
    }
}
