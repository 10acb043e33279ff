import CZlib
import Foundation
import VolumeModel

/// Writes NIfTI-1 single files (.nii, or gzip-compressed .nii.gz), atomically: to a temporary
/// name beside the target, then renamed.
public enum NIfTIWriter {
    /// A CT in HU as int16 (scl_slope 1, scl_inter 0).
    public static func write(_ volume: CTVolume, to path: String, description: String = "htb CT (HU)") throws {
        try write(geometry: volume.geometry, datatype: .int16, description: description, to: path) { sink in
            try volume.voxels.withUnsafeBytes { try sink($0) }
        }
    }

    /// A label map as uint8.
    public static func write(labels: Volume<UInt8>, to path: String, description: String = "htb labels") throws {
        try write(geometry: labels.geometry, datatype: .uint8, description: description, to: path) { sink in
            try labels.voxels.withUnsafeBytes { try sink($0) }
        }
    }

    /// The 348-byte header plus the 4-byte empty extension block. Geometry goes into the sform
    /// (exact, shear included) and the qform (rotation + qfac; for a sheared grid the slice axis
    /// is replaced by the slice normal, which the warning in the report mentions).
    static func header(geometry g: Geometry, datatype: NIfTIImage.Datatype, description: String) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 352)
        func put<T>(_ v: T, _ o: Int) { withUnsafeBytes(of: v) { for (i, b) in $0.enumerated() { h[o + i] = b } } }
        put(Int32(348), 0)
        put(Int16(3), 40)
        put(Int16(g.dims.x), 42)
        put(Int16(g.dims.y), 44)
        put(Int16(g.dims.z), 46)
        for d in 4...7 { put(Int16(1), 40 + 2 * d) }
        put(datatype.rawValue, 70)
        put(Int16(datatype.bytes * 8), 72)
        // RAS = diag(-1,-1,1) LPS.
        func ras(_ v: Vector3) -> Vector3 { Vector3(-v.x, -v.y, v.z) }
        let (a, b, c) = g.stepsMM
        let ci = ras(a), cj = ras(b), ck = ras(c), o = ras(g.originMM)
        // qform: the proper rotation R = [i, j, i x j] and qfac = the sign of k along i x j; for a
        // sheared grid the slice axis is replaced by the normal and pixdim[3] by the plane separation.
        let r0 = ci.normalized, r1 = cj.normalized, r2 = r0.cross(r1).normalized
        let qfac: Float = r2.dot(ck) < 0 ? -1 : 1
        put(qfac, 76)
        put(Float(g.spacingMM.x), 80)
        put(Float(g.spacingMM.y), 84)
        put(Float(abs(ck.dot(r2))), 88)
        put(Float(352), 108)
        put(Float(1), 112)
        put(Float(0), 116)
        put(UInt8(2), 123)  // xyzt_units: mm
        let d = Array(description.utf8.prefix(79))
        for (i, byte) in d.enumerated() { h[148 + i] = byte }
        put(Int16(1), 252)
        put(Int16(1), 254)  // qform_code, sform_code: scanner anatomical
        let q = quaternion(r0, r1, r2)
        put(Float(q.b), 256)
        put(Float(q.c), 260)
        put(Float(q.d), 264)
        put(Float(o.x), 268)
        put(Float(o.y), 272)
        put(Float(o.z), 276)
        let rows = [[ci.x, cj.x, ck.x, o.x], [ci.y, cj.y, ck.y, o.y], [ci.z, cj.z, ck.z, o.z]]
        for (rr, row) in rows.enumerated() { for (cc, v) in row.enumerated() { put(Float(v), 280 + 16 * rr + 4 * cc) } }
        h[344] = UInt8(ascii: "n")
        h[345] = UInt8(ascii: "+")
        h[346] = UInt8(ascii: "1")
        return h
    }

    /// Quaternion (b, c, d) of the proper rotation with columns c0, c1, c2 (nifti1.h, method 2;
    /// the usual trace-based conversion).
    static func quaternion(_ c0: Vector3, _ c1: Vector3, _ c2: Vector3) -> (b: Double, c: Double, d: Double) {
        let r11 = c0.x, r12 = c1.x, r13 = c2.x
        let r21 = c0.y, r22 = c1.y, r23 = c2.y
        let r31 = c0.z, r32 = c1.z, r33 = c2.z
        var a = r11 + r22 + r33 + 1, b: Double, c: Double, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r32 - r23) / a
            c = 0.25 * (r13 - r31) / a
            d = 0.25 * (r21 - r12) / a
        } else {
            let xd = 1 + r11 - (r22 + r33), yd = 1 + r22 - (r11 + r33), zd = 1 + r33 - (r11 + r22)
            if xd > 1 {
                b = 0.5 * xd.squareRoot()
                c = 0.25 * (r12 + r21) / b
                d = 0.25 * (r13 + r31) / b
                a = 0.25 * (r32 - r23) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot()
                b = 0.25 * (r12 + r21) / c
                d = 0.25 * (r23 + r32) / c
                a = 0.25 * (r13 - r31) / c
            } else {
                d = 0.5 * zd.squareRoot()
                b = 0.25 * (r13 + r31) / d
                c = 0.25 * (r23 + r32) / d
                a = 0.25 * (r21 - r12) / d
            }
            if a < 0 {
                b = -b
                c = -c
                d = -d
            }
        }
        return (b, c, d)
    }

    static func write(
        geometry: Geometry, datatype: NIfTIImage.Datatype, description: String, to path: String,
        body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let gzip = path.hasSuffix(".gz")
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        // .nii.gz through zlib; plain .nii through stdio (zlib's transparent mode copies twice).
        let sink: Sink = gzip ? try GzipSink(tmp, path: path) : try PlainSink(tmp, path: path)
        do {
            let h = header(geometry: geometry, datatype: datatype, description: description)
            try h.withUnsafeBytes { try sink.write($0) }
            try body { try sink.write($0) }
            try sink.close()
        } catch {
            try? sink.close()
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw NIfTIError.cannotWrite(file: path, reason: reason)
        }
    }
}

protocol Sink {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func close() throws
}

final class GzipSink: Sink {
    let file: gzFile, path: String
    var closed = false
    init(_ tmp: String, path: String) throws {
        guard let f = gzopen(tmp, "wb6") else {
            throw NIfTIError.cannotWrite(file: path, reason: String(cString: strerror(errno)))
        }
        file = f
        self.path = path
    }
    func write(_ p: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < p.count {
            let n = min(p.count - off, 1 << 30)
            guard gzwrite(file, p.baseAddress! + off, UInt32(n)) == Int32(n) else {
                throw NIfTIError.cannotWrite(file: path, reason: "gzip write failed")
            }
            off += n
        }
    }
    func close() throws {
        guard !closed else { return }
        closed = true
        guard gzclose(file) == Z_OK else { throw NIfTIError.cannotWrite(file: path, reason: "gzip close failed") }
    }
}

final class PlainSink: Sink {
    let file: UnsafeMutablePointer<FILE>, path: String
    var closed = false
    init(_ tmp: String, path: String) throws {
        guard let f = fopen(tmp, "wb") else {
            throw NIfTIError.cannotWrite(file: path, reason: String(cString: strerror(errno)))
        }
        file = f
        self.path = path
    }
    func write(_ p: UnsafeRawBufferPointer) throws {
        guard p.count == 0 || fwrite(p.baseAddress, 1, p.count, file) == p.count else {
            throw NIfTIError.cannotWrite(file: path, reason: String(cString: strerror(errno)))
        }
    }
    func close() throws {
        guard !closed else { return }
        closed = true
        guard fclose(file) == 0 else {
            throw NIfTIError.cannotWrite(file: path, reason: String(cString: strerror(errno)))
        }
    }
}
