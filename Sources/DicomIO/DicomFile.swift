import CDCMTK
import Foundation
import VolumeModel

/// An open DICOM file. Owns the DCMTK handle and closes it in `deinit`; callers copy what they
/// need into Swift values and let the file go (see `SliceHeader.read`).
public final class DicomFile {
    public let path: String
    let handle: OpaquePointer

    init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    /// Opens `path`. `headersOnly` stops parsing at (7FE0,0010) Pixel Data.
    public init(path: String, headersOnly: Bool) throws {
        self.path = path
        var status = HTB_DCM_OK
        var err = [CChar](repeating: 0, count: 512)
        guard let h = htb_dcm_open(path, headersOnly ? 1 : 0, &status, &err, err.count) else {
            let reason = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            switch status {
            case HTB_DCM_NOT_DICOM: throw DicomError.notDicom(file: path, reason: reason)
            case HTB_DCM_IO: throw DicomError.unreadable(file: path, reason: reason)
            default: throw DicomError.corrupt(file: path, reason: reason)
            }
        }
        handle = h
    }

    deinit { htb_dcm_close(handle) }

    /// Raw value (all values joined with '\'), or nil when absent. Leading and trailing spaces
    /// and NULs (DICOM's padding, PS3.5 6.2) removed.
    public func string(_ path: [TagPathStep]) -> String? {
        var steps = path.map { htb_dcm_step(group: $0.tag.group, element: $0.tag.element, item: Int32($0.item)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { small -> String? in
            let n = htb_dcm_string(handle, &steps, steps.count, small.baseAddress, small.count)
            if n < 0 { return nil }
            if n < small.count { return Self.trimmed(UnsafeBufferPointer(rebasing: small[0..<n])) }
            var big = [CChar](repeating: 0, count: n + 1)
            let m = htb_dcm_string(handle, &steps, steps.count, &big, big.count)
            return big.withUnsafeBufferPointer {
                Self.trimmed(UnsafeBufferPointer(rebasing: $0[0..<max(0, min(m, n))]))
            }
        }
    }

    static func trimmed(_ chars: UnsafeBufferPointer<CChar>) -> String {
        var lo = 0, hi = chars.count
        while lo < hi && (chars[lo] == 0x20 || chars[lo] == 0) { lo += 1 }
        while hi > lo && (chars[hi - 1] == 0x20 || chars[hi - 1] == 0) { hi -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(chars)[lo..<hi]), as: UTF8.self)
    }

    public func string(_ tag: Tag) -> String? { string([TagPathStep(tag)]) }

    /// Number of items in the sequence at `path`, nil when absent.
    public func itemCount(_ path: [TagPathStep]) -> Int? {
        var steps = path.map { htb_dcm_step(group: $0.tag.group, element: $0.tag.element, item: Int32($0.item)) }
        let n = htb_dcm_item_count(handle, &steps, steps.count)
        return n < 0 ? nil : n
    }

    /// The transfer syntax the data set was read in.
    public var transferSyntaxUID: String {
        var buf = [CChar](repeating: 0, count: 128)
        let n = htb_dcm_transfer_syntax(handle, &buf, buf.count)
        return String(decoding: buf.prefix(max(0, min(n, 127))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Pixel Data decoded to native, uncompressed little-endian bytes.
    public func decodedPixelBytes() throws -> [UInt8] {
        try decoded { htb_dcm_decode_pixels(handle, $0, $1) }
    }

    /// Frame `index` (0-based) of a multi-frame image decoded alone, as native little-endian bytes.
    public func decodedFrameBytes(_ index: Int) throws -> [UInt8] {
        try decoded { htb_dcm_decode_frame(handle, index, $0, $1) }
    }

    private func decoded(_ decode: (UnsafeMutablePointer<CChar>, Int) -> Int64) throws -> [UInt8] {
        var err = [CChar](repeating: 0, count: 512)
        let n = err.withUnsafeMutableBufferPointer { decode($0.baseAddress!, $0.count) }
        if n < 0 {
            let reason = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw DicomError.pixelDecode(file: path, reason: reason)
        }
        var out = [UInt8](repeating: 0, count: Int(n))
        let copied = out.withUnsafeMutableBytes { htb_dcm_copy_pixels(handle, $0.baseAddress, Int(n)) }
        guard copied == n else {
            throw DicomError.pixelDecode(file: path, reason: "copied \(copied) of \(n) decoded bytes")
        }
        return out
    }

    /// Where functional group `group` of frame `frame` (0-based) lies: the frame's item of the
    /// Per-frame Functional Groups Sequence when it holds the group, else the Shared Functional
    /// Groups Sequence's (PS3.3 C.7.6.16); nil when neither does.
    public func functionalGroup(_ group: Tag, frame: Int) -> [TagPathStep]? {
        let perFrame = [TagPathStep(.perFrameFunctionalGroupsSequence, item: frame), TagPathStep(group)]
        if itemCount(perFrame) ?? 0 > 0 { return [perFrame[0], TagPathStep(group, item: 0)] }
        let shared = [TagPathStep(.sharedFunctionalGroupsSequence), TagPathStep(group)]
        if itemCount(shared) ?? 0 > 0 { return [shared[0], TagPathStep(group, item: 0)] }
        return nil
    }

    // MARK: typed access, with errors that name the file and the tag

    /// Integer value (IS, US, UL, SS, SL); nil when absent.
    public func int(_ tag: Tag, path prefix: [TagPathStep] = []) throws -> Int? {
        guard let s = string(prefix + [TagPathStep(tag)]), !s.isEmpty else { return nil }
        let first = s.split(separator: "\\").first.map(String.init) ?? s
        guard let v = Int(first.trimmingCharacters(in: .whitespaces)) else {
            throw DicomError.invalidTag(tag, file: path, value: s, expected: "an integer")
        }
        return v
    }

    /// Decimal values (DS, FD, FL); nil when absent.
    public func doubles(_ tag: Tag, path prefix: [TagPathStep] = [], count: Int? = nil) throws -> [Double]? {
        guard let s = string(prefix + [TagPathStep(tag)]), !s.isEmpty else { return nil }
        var out: [Double] = []
        for part in s.split(separator: "\\", omittingEmptySubsequences: false) {
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw DicomError.invalidTag(
                    tag, file: path, value: s, expected: count.map { "\($0) decimal numbers" } ?? "decimal numbers")
            }
            out.append(v)
        }
        if let count, out.count != count {
            throw DicomError.invalidTag(tag, file: path, value: s, expected: "\(count) decimal numbers")
        }
        return out
    }

    public func vector3(_ tag: Tag, path prefix: [TagPathStep] = []) throws -> Vector3? {
        guard let v = try doubles(tag, path: prefix, count: 3) else { return nil }
        return Vector3(v[0], v[1], v[2])
    }

    /// Image Orientation (Patient): row and column direction cosines, checked to be unit and orthogonal.
    public func orientation(path prefix: [TagPathStep] = []) throws -> (row: Vector3, column: Vector3)? {
        guard let v = try doubles(.imageOrientationPatient, path: prefix, count: 6) else { return nil }
        let r = Vector3(v[0], v[1], v[2]), c = Vector3(v[3], v[4], v[5])
        guard abs(r.length - 1) < 0.01, abs(c.length - 1) < 0.01, abs(r.dot(c)) < 0.01 else {
            throw DicomError.invalidTag(
                .imageOrientationPatient, file: path, value: v.map { String($0) }.joined(separator: "\\"),
                expected: "two orthogonal unit vectors")
        }
        return (r.normalized, c.normalized)
    }

    /// Pixel Spacing: (row spacing = between rows, column spacing = between columns) in mm; PS3.3 10.7.1.3.
    public func pixelSpacing(path prefix: [TagPathStep] = []) throws -> (rowMM: Double, columnMM: Double)? {
        guard let v = try doubles(.pixelSpacing, path: prefix, count: 2) else { return nil }
        guard v[0] > 0, v[1] > 0 else {
            throw DicomError.invalidTag(
                .pixelSpacing, file: path, value: "\(v[0])\\\(v[1])", expected: "two positive spacings in mm")
        }
        return (v[0], v[1])
    }
}

/// DCMTK's version, for the report's `tool` block.
public var dicomToolkitVersion: String { String(cString: htb_dcm_toolkit_version()) }
