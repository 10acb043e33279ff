import CPNG
import CZlib
import Foundation

public enum OverlayError: Error, Sendable, Equatable, CustomStringConvertible {
    case encode(String)
    case decode(file: String, reason: String)
    case cannotWrite(file: String, reason: String)
    public var description: String {
        switch self {
        case .encode(let r): return "cannot encode PNG: \(r)"
        case .decode(let f, let r): return "\(f): cannot decode PNG: \(r)"
        case .cannotWrite(let f, let r): return "\(f): cannot write: \(r)"
        }
    }
}

/// PNG through libpng's simplified API, with tEXt chunks (PNG spec 11.3.4.3) spliced in after
/// IHDR so a pipeline can read the key figures without the JSON.
public enum PNGFile {
    public static func encode(_ canvas: Canvas, text: [(String, String)]) throws -> Data {
        var err = [CChar](repeating: 0, count: 256)
        let w = UInt32(canvas.width), h = UInt32(canvas.height)
        // One pass into a buffer larger than any PNG of this size can be (raw rows plus
        // deflate's worst-case overhead); libpng reports the size it needs if that is wrong.
        var capacity = (canvas.width * 3 + 1) * canvas.height * 101 / 100 + 8192
        var png: [UInt8] = []
        for _ in 0..<2 {
            png = [UInt8](repeating: 0, count: capacity)
            var size = capacity
            let ok = png.withUnsafeMutableBytes { out in
                canvas.pixels.withUnsafeBufferPointer {
                    htb_png_encode_rgb(w, h, $0.baseAddress, out.baseAddress, &size, &err, err.count)
                }
            }
            if ok != 0 {
                png = Array(png.prefix(size))
                break
            }
            guard size > capacity else { throw OverlayError.encode(cMessage(err)) }
            capacity = size
        }
        // Signature (8) + IHDR (4 length + 4 type + 13 data + 4 CRC) = 33 bytes.
        var chunks: [UInt8] = []
        for (keyword, value) in text { chunks += textChunk(keyword, value) }
        return Data(png[0..<33] + chunks + png[33...])
    }

    /// A tEXt chunk: Latin-1 keyword (1-79 bytes), NUL, text; CRC-32 over type and data.
    static func textChunk(_ keyword: String, _ text: String) -> [UInt8] {
        let key = Array(
            keyword.unicodeScalars.filter { $0.value >= 32 && $0.value < 127 }.map { UInt8($0.value) }.prefix(79))
        let value = Array(text.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") })
        let data = Array("tEXt".utf8) + key + [0] + value
        let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        func be(_ v: UInt32) -> [UInt8] {
            [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)]
        }
        return be(UInt32(data.count - 4)) + data + be(crc)
    }

    /// A NUL-terminated C message buffer as a String.
    static func cMessage(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decoded RGB pixels of a PNG file.
    public static func decode(path: String) throws -> Canvas {
        var err = [CChar](repeating: 0, count: 256)
        var w: UInt32 = 0, h: UInt32 = 0
        guard htb_png_decode_rgb(path, &w, &h, nil, &err, err.count) != 0 else {
            throw OverlayError.decode(file: path, reason: cMessage(err))
        }
        var c = Canvas(width: Int(w), height: Int(h))
        let ok = c.pixels.withUnsafeMutableBufferPointer {
            htb_png_decode_rgb(path, &w, &h, $0.baseAddress, &err, err.count)
        }
        guard ok != 0 else { throw OverlayError.decode(file: path, reason: cMessage(err)) }
        return c
    }

    /// The tEXt chunks of a PNG file, in order.
    public static func textChunks(path: String) throws -> [(String, String)] {
        let d = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var out: [(String, String)] = []
        var o = 8
        while o + 8 <= d.count {
            let len = Int(d[o]) << 24 | Int(d[o + 1]) << 16 | Int(d[o + 2]) << 8 | Int(d[o + 3])
            let type = String(decoding: d[(o + 4)..<(o + 8)], as: UTF8.self)
            guard o + 12 + len <= d.count else { break }
            if type == "tEXt" {
                let body = d[(o + 8)..<(o + 8 + len)]
                if let z = body.firstIndex(of: 0) {
                    out.append(
                        (
                            String(decoding: body[body.startIndex..<z], as: UTF8.self),
                            String(body[(z + 1)...].map { Character(Unicode.Scalar($0)) })
                        ))
                }
            }
            o += 12 + len
        }
        return out
    }

    /// Writes atomically (temporary file beside the target, then rename).
    public static func write(_ image: RenderedImage, to path: String) throws {
        let data = try encode(image.canvas, text: image.textChunks)
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw OverlayError.cannotWrite(file: path, reason: error.localizedDescription)
        }
    }
}

extension Canvas {
    /// FNV-1a 64 of the decoded pixels: what golden files compare (never the PNG bytes).
    public var pixelHash: String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in pixels { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(h, radix: 16)
    }
}
