import CZlib
import Foundation
import VolumeModel

/// NRRD label maps (`.nrrd`, and `.seg.nrrd` as 3D Slicer saves segmentations), read into the
/// same image type as NIfTI: one 3D scalar volume, raw or gzip encoding, attached data, oriented
/// by `space` (RAS or LPS, or their long names), `space directions` and `space origin`. A
/// `.seg.nrrd`'s segments give the label names (`SegmentN_Name:=liver`,
/// `SegmentN_LabelValue:=1`); a multi-layer one (4D: overlapping segments) is refused, as is a
/// detached data file: both say what to do instead.
extension NIfTIImage {
    public static func readNRRD(path: String) throws -> NIfTIImage {
        guard let raw = FileManager.default.contents(atPath: path) else {
            throw NIfTIError.unreadable(
                file: path, reason: FileManager.default.fileExists(atPath: path) ? "not readable" : "no such file")
        }
        let bytes = [UInt8](raw)
        guard bytes.count >= 8, String(decoding: bytes[0..<4], as: UTF8.self) == "NRRD" else {
            throw NIfTIError.invalidHeader(
                file: path, field: "magic", value: "not 'NRRD000n'", expected: "an NRRD file")
        }
        // The header: lines up to the first empty line.
        var fields: [String: String] = [:], pairs: [String: String] = [:]
        var offset = 0, lineStart = 0, first = true
        while offset < bytes.count {
            if bytes[offset] == 0x0A {
                let line = String(decoding: bytes[lineStart..<offset], as: UTF8.self).trimmingCharacters(
                    in: CharacterSet(charactersIn: "\r"))
                lineStart = offset + 1
                if first {
                    first = false
                } else if line.isEmpty {
                    break
                } else if !line.hasPrefix("#") {
                    if let kv = line.range(of: ":=") {
                        pairs[String(line[..<kv.lowerBound])] = String(line[kv.upperBound...])
                    } else if let colon = line.range(of: ": ") {
                        fields[line[..<colon.lowerBound].lowercased()] = String(line[colon.upperBound...])
                            .trimmingCharacters(in: .whitespaces)
                    }
                }
            }
            offset += 1
        }
        let dataStart = lineStart
        func need(_ f: String, _ expected: String) throws -> String {
            guard let v = fields[f] else {
                throw NIfTIError.invalidHeader(file: path, field: f, value: "missing", expected: expected)
            }
            return v
        }
        if let detached = fields["data file"] ?? fields["datafile"] {
            throw NIfTIError.invalidHeader(
                file: path, field: "data file", value: detached,
                expected: "attached data (a detached .nhdr/.raw pair is not read: save as a single .nrrd)")
        }
        let dimension = try need("dimension", "3")
        guard dimension == "3" else {
            throw NIfTIError.invalidHeader(
                file: path, field: "dimension", value: dimension,
                expected: "3 (a multi-layer .seg.nrrd holds overlapping segments: export a label map from 3D Slicer)")
        }
        let sizes = try need("sizes", "three sizes").split(separator: " ").compactMap { Int($0) }
        guard sizes.count == 3, sizes.allSatisfy({ $0 > 0 }) else {
            throw NIfTIError.invalidHeader(
                file: path, field: "sizes", value: fields["sizes"] ?? "", expected: "three positive sizes")
        }
        let typeName = try need("type", "a scalar type").lowercased()
        let types: [String: Datatype] = [
            "uchar": .uint8, "unsigned char": .uint8, "uint8": .uint8, "uint8_t": .uint8,
            "signed char": .int8, "int8": .int8, "int8_t": .int8,
            "short": .int16, "short int": .int16, "signed short": .int16, "signed short int": .int16,
            "int16": .int16, "int16_t": .int16,
            "ushort": .uint16, "unsigned short": .uint16, "unsigned short int": .uint16, "uint16": .uint16,
            "uint16_t": .uint16,
            "int": .int32, "signed int": .int32, "int32": .int32, "int32_t": .int32,
            "uint": .uint32, "unsigned int": .uint32, "uint32": .uint32, "uint32_t": .uint32,
            "float": .float32, "double": .float64,
        ]
        guard let type = types[typeName] else {
            throw NIfTIError.invalidHeader(
                file: path, field: "type", value: typeName,
                expected: "an integer or float scalar type up to 32 bits, or double")
        }
        let encoding = try need("encoding", "raw or gzip").lowercased()
        // Sizes whose product overflows cannot describe a file: refused before any arithmetic traps.
        let (xy, o1) = sizes[0].multipliedReportingOverflow(by: sizes[1])
        let (count, o2) = xy.multipliedReportingOverflow(by: sizes[2])
        let (needed, o3) = count.multipliedReportingOverflow(by: type.bytes)
        guard !o1, !o2, !o3, needed < Int.max / 2 else {
            throw NIfTIError.invalidHeader(
                file: path, field: "sizes", value: fields["sizes"] ?? "", expected: "a volume that fits in memory")
        }
        var data: [UInt8]
        switch encoding {
        case "raw": data = Array(bytes[dataStart..<min(bytes.count, dataStart + needed)])
        case "gzip", "gz": data = try inflate(Array(bytes[dataStart...]), file: path, limit: needed)
        default:
            throw NIfTIError.invalidHeader(file: path, field: "encoding", value: encoding, expected: "raw or gzip")
        }
        guard data.count >= needed else {
            throw NIfTIError.truncated(file: path, expectedBytes: needed, actualBytes: data.count)
        }
        if data.count > needed { data.removeLast(data.count - needed) }
        if type.bytes > 1 {
            let endian = try need("endian", "little or big")
            guard endian == "little" || endian == "big" else {
                throw NIfTIError.invalidHeader(file: path, field: "endian", value: endian, expected: "little or big")
            }
            if endian == "big" {
                let w = type.bytes
                for v in 0..<count { data[(v * w)..<(v * w + w)].reverse() }
            }
        }
        // Orientation: the space's sign per axis turns RAS into LPS.
        let space = try need("space", "RAS or LPS").lowercased()
        let flip: Vector3
        switch space {
        case "left-posterior-superior", "lps": flip = Vector3(1, 1, 1)
        case "right-anterior-superior", "ras": flip = Vector3(-1, -1, 1)
        default:
            throw NIfTIError.invalidHeader(
                file: path, field: "space", value: space, expected: "RAS or LPS (a patient space for a CT's mask)")
        }
        let directions = try vectors(
            try need("space directions", "three vectors"), field: "space directions", file: path)
        let origin = try vectors(try need("space origin", "(x,y,z)"), field: "space origin", file: path)
        guard directions.count == 3, origin.count == 1 else {
            throw NIfTIError.invalidHeader(
                file: path, field: "space directions", value: fields["space directions"] ?? "",
                expected: "three vectors and one origin")
        }
        func lps(_ v: Vector3) -> Vector3 { Vector3(v.x * flip.x, v.y * flip.y, v.z * flip.z) }
        let spacing = Vector3(directions[0].length, directions[1].length, directions[2].length)
        guard spacing.x > 0, spacing.y > 0, spacing.z > 0 else {
            throw NIfTIError.invalidHeader(
                file: path, field: "space directions", value: "a zero-length axis", expected: "non-zero vectors")
        }
        let geometry = Geometry(
            dims: Dims(sizes[0], sizes[1], sizes[2]), originMM: lps(origin[0]), spacingMM: spacing,
            axes: (lps(directions[0]).normalized, lps(directions[1]).normalized, lps(directions[2]).normalized))
        var image = NIfTIImage(
            path: path, geometry: geometry, datatype: Int(type.rawValue), sclSlope: 1, sclInter: 0, data: data)
        // 3D Slicer's segments: SegmentN_Name and SegmentN_LabelValue (1, 2, ... by order when absent).
        var n = 0
        while let name = pairs["Segment\(n)_Name"] {
            let value = pairs["Segment\(n)_LabelValue"].flatMap { Int($0) } ?? (n + 1)
            image.labelNames[value] = name
            n += 1
        }
        return image
    }

    /// `(a,b,c) (d,e,f) ...` as vectors; `none` is refused (a non-spatial axis).
    static func vectors(_ text: String, field: String, file: String) throws -> [Vector3] {
        var out: [Vector3] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "(") {
            guard let close = rest[open...].firstIndex(of: ")") else { break }
            let parts = rest[rest.index(after: open)..<close].split(separator: ",").map {
                Double($0.trimmingCharacters(in: .whitespaces))
            }
            guard parts.count == 3, let x = parts[0], let y = parts[1], let z = parts[2],
                x.isFinite, y.isFinite, z.isFinite
            else {
                throw NIfTIError.invalidHeader(
                    file: file, field: field, value: text, expected: "vectors of three numbers")
            }
            out.append(Vector3(x, y, z))
            rest = rest[rest.index(after: close)...]
        }
        if out.isEmpty || rest.contains("none") {
            throw NIfTIError.invalidHeader(file: file, field: field, value: text, expected: "vectors of three numbers")
        }
        return out
    }

    /// A gzip (or zlib) stream inflated in full, or up to the first chunk past `limit` bytes (the
    /// data the header describes: anything beyond it is not read, so a small file cannot expand
    /// without bound).
    static func inflate(_ input: [UInt8], file: String, limit: Int = .max) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NIfTIError.unreadable(file: file, reason: "gzip: cannot start zlib")
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            while true {
                let r: Int32 = chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    return zlib_inflate(&stream)
                }
                out.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if r == Z_STREAM_END || (r == Z_OK && out.count > limit) { return Z_STREAM_END }
                if r != Z_OK { return r }
                if stream.avail_in == 0 && stream.avail_out != 0 { return Z_BUF_ERROR }
            }
        }
        guard status == Z_STREAM_END else {
            throw NIfTIError.unreadable(
                file: file, reason: "gzip: the data stream is corrupt or truncated (zlib \(status))")
        }
        return out
    }
}

/// zlib's `inflate`, named so it does not clash with the static method above.
@inline(__always) private func zlib_inflate(_ s: UnsafeMutablePointer<z_stream>) -> Int32 {
    CZlib.inflate(s, Z_NO_FLUSH)
}
