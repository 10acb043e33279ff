import CDCMTK
import Foundation

/// Writing through the same handle type: build a data set (or edit one read with
/// `DicomFile(path:headersOnly: false)`) and save it as a Part 10 file, atomically.
extension DicomFile {
    /// A new, empty data set.
    public static func create() -> DicomFile { DicomFile(handle: htb_dcm_create(), path: "(new data set)") }

    /// Sets an attribute from its text form (DS, IS, UI, CS, ... as DICOM writes them; US/UL as decimal).
    public func set(_ path: [TagPathStep], _ value: String) throws {
        var steps = path.map { htb_dcm_step(group: $0.tag.group, element: $0.tag.element, item: Int32($0.item)) }
        var err = [CChar](repeating: 0, count: 256)
        if htb_dcm_put_string(handle, &steps, steps.count, value, &err, err.count) != 0 {
            throw DicomError.invalidTag(
                path.last!.tag, file: self.path, value: value, expected: "a value DCMTK accepts: \(cString(err))")
        }
    }

    public func set(_ tag: Tag, _ value: String) throws { try set([TagPathStep(tag)], value) }

    /// Removes an attribute; false when it was absent.
    @discardableResult
    public func remove(_ tag: Tag) -> Bool {
        var step = htb_dcm_step(group: tag.group, element: tag.element, item: 0)
        return htb_dcm_remove(handle, &step, 1) == 0
    }

    /// Sets Pixel Data from native little-endian bytes (OW for 16 bits, OB for 1 or 8).
    public func setPixels(_ bytes: UnsafeRawBufferPointer, bitsAllocated: Int) throws {
        var err = [CChar](repeating: 0, count: 256)
        if htb_dcm_put_pixels(handle, bytes.baseAddress, bytes.count, Int32(bitsAllocated), &err, err.count) != 0 {
            throw DicomError.cannotWrite(file: path, reason: cString(err))
        }
    }

    /// Saves in Explicit VR Little Endian to a temporary name beside `target`, then renames it.
    public func save(to target: String) throws {
        let url = URL(fileURLWithPath: target)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
            .path
        var err = [CChar](repeating: 0, count: 256)
        if htb_dcm_save(handle, tmp, &err, err.count) != 0 {
            unlink(tmp)
            throw DicomError.cannotWrite(file: target, reason: cString(err))
        }
        guard rename(tmp, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw DicomError.cannotWrite(file: target, reason: reason)
        }
    }
}

func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// DICOM UIDs under the 2.25 root (PS3.5 B.2): "2.25." + a 128-bit number in decimal.
public enum UIDFactory {
    /// A random UID.
    public static func random() -> String {
        var g = SystemRandomNumberGenerator()
        return make(UInt128(g.next() as UInt64) << 64 | UInt128(g.next() as UInt64))
    }

    /// A UID fixed by `parts` (for reproducible phantoms): FNV-1a over the text, widened to 128 bits.
    public static func deterministic(_ parts: String...) -> String {
        let text = parts.joined(separator: "|")
        var h1: UInt64 = 0xcbf29ce484222325, h2: UInt64 = 0x84222325cbf29ce4
        for b in text.utf8 {
            h1 = (h1 ^ UInt64(b)) &* 0x100000001b3
            h2 = (h2 ^ UInt64(b)) &* 0x100000001b3 &+ 0x9e3779b97f4a7c15
        }
        return make(UInt128(h1) << 64 | UInt128(h2))
    }

    // < 2^127: at most 39 digits, UID <= 44 chars
    static func make(_ v: UInt128) -> String { "2.25." + String(v >> 1) }
}
