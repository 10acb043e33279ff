/// An 8-bit RGB picture with the few drawing operations the overlays need.
public struct RGB: Sendable, Equatable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    // Okabe-Ito colours, distinguishable with the common colour-vision deficiencies: the liver is
    // blue, lesions orange with a yellow outline (never red against green), text white on black.
    public static let liver = RGB(86, 180, 233)
    public static let lesionFill = RGB(230, 159, 0)
    public static let lesionOutline = RGB(240, 228, 66)
    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
    public static let band = RGB(24, 24, 24)
    public static let flag = RGB(240, 228, 66)
    /// Seeds (a white cross) and excluded points (a vermillion X), outlined in black.
    public static let seed = RGB(255, 255, 255)
    public static let excluded = RGB(213, 94, 0)
}

public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .black) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if background != .black { fill(x: 0, y: 0, w: width, h: height, background) }
    }

    @inline(__always) public func pixel(_ x: Int, _ y: Int) -> RGB {
        let o = 3 * (x + width * y)
        return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    @inline(__always) public mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (x + width * y)
        pixels[o] = c.r
        pixels[o + 1] = c.g
        pixels[o + 2] = c.b
    }

    /// Alpha-blends `c` over the pixel (alpha in 0...1).
    @inline(__always) public mutating func blend(_ x: Int, _ y: Int, _ c: RGB, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (x + width * y)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - alpha) + Double(b) * alpha).rounded()) }
        pixels[o] = mix(pixels[o], c.r)
        pixels[o + 1] = mix(pixels[o + 1], c.g)
        pixels[o + 2] = mix(pixels[o + 2], c.b)
    }

    /// Fills the rectangle's part inside the canvas (none when it lies wholly outside).
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 { for xx in x0..<x1 { set(xx, yy, c) } }
    }

    /// Text in the built-in font at an integer `scale`, with a one-pixel black shadow so it reads
    /// on any background. Returns the rectangle it covers (shadow included).
    @discardableResult
    public mutating func text(_ s: String, x: Int, y: Int, scale: Int = 2, color: RGB = .white) -> (
        x: Int, y: Int, w: Int, h: Int
    ) {
        let w = Self.textWidth(s, scale: scale), h = BitmapFont.height * scale
        for (dx, dy, c) in [(1, 1, RGB.black), (0, 0, color)] {
            var cx = x + dx * scale / 2 + dx
            for ch in s {
                let rows = BitmapFont.glyph(ch)
                for (ry, bits) in rows.enumerated() {
                    for rx in 0..<BitmapFont.width where bits & (1 << UInt8(BitmapFont.width - 1 - rx)) != 0 {
                        fill(x: cx + rx * scale, y: y + dy * scale / 2 + dy + ry * scale, w: scale, h: scale, c)
                    }
                }
                cx += BitmapFont.advance * scale
            }
        }
        return (x, y, w + 2, h + 2)
    }

    public static func textWidth(_ s: String, scale: Int) -> Int {
        max(0, s.count * BitmapFont.advance * scale - scale)
    }

    /// Copies `other` to (x, y).
    public mutating func draw(_ other: Canvas, x: Int, y: Int) {
        for yy in 0..<other.height where y + yy >= 0 && y + yy < height {
            for xx in 0..<other.width { set(x + xx, y + yy, other.pixel(xx, yy)) }
        }
    }
}
