import Foundation
import VolumeModel

public enum Plane: String, Sendable { case axial, coronal, sagittal }

/// A point a reader gave: a lesion seed (drawn as a cross) or an excluded point (an X).
public struct OverlayMarker: Sendable {
    public enum Kind: Sendable { case seed, excluded }
    /// Continuous voxel index (i, j, k) on the CT's grid.
    public var index: Vector3
    public var kind: Kind
    public init(index: Vector3, kind: Kind) {
        self.index = index
        self.kind = kind
    }
}

/// What the overlays show: the CT, the whole-liver mask, the lesion labels (ids as in the report)
/// and the text of the header band.
public struct OverlayScene: Sendable {
    public var ct: CTVolume
    /// The liver mask; the liver drawn is this mask united with the lesions.
    public var liver: Mask
    /// 0 outside lesions, otherwise the lesion id of report.json.
    public var lesionLabels: Volume<UInt16>
    /// Slice (k) through the largest lesion, always among the axial tiles.
    public var largestLesionSlice: Int?
    public var headerLines: [String]
    /// Figures carried in PNG tEXt chunks (keyword, text).
    public var textChunks: [(String, String)]
    /// Caption of axial slice k (e.g. "IM 12" from Instance Number); nil: "SLICE k+1".
    public var sliceCaptions: [String]?
    /// Seeds and excluded points: on the axial tiles of their slices (those slices are shown),
    /// and on a reformat when within 5 mm of its plane.
    public var markers: [OverlayMarker] = []
    /// The liver's bounding box and centre, computed once for all pictures.
    let liverExtent: (lo: [Int], hi: [Int], centre: [Double])?

    public init(
        ct: CTVolume, liver: Mask, lesionLabels: Volume<UInt16>, largestLesionSlice: Int?,
        headerLines: [String], textChunks: [(String, String)], sliceCaptions: [String]? = nil
    ) {
        self.ct = ct
        self.liver = liver
        self.lesionLabels = lesionLabels
        self.largestLesionSlice = largestLesionSlice
        self.headerLines = headerLines
        self.textChunks = textChunks
        self.sliceCaptions = sliceCaptions
        liverExtent = OverlayRenderer.extent(liver)
    }
}

public struct OverlayOptions: Sendable {
    /// Abdominal window by default: W 400 / L 50 HU.
    public var windowWidthHU: Double = 400
    public var windowLevelHU: Double = 50
    /// Longest side of an axial tile, in pixels.
    public var tilePixels: Int = 320
    /// Axial tiles in the montage (the largest lesion's slice included).
    public var axialTiles: Int = 9
    public init() {}
}

/// One grid axis as shown on screen: display index t runs along the screen direction.
public struct AxisMap: Sendable {
    public var axis: Int
    public var reversed: Bool
    public var count: Int
    public var spacingMM: Double
    @inline(__always) func grid(_ t: Int) -> Int { reversed ? count - 1 - t : t }
}

/// Where a tile sits in the picture and which voxel each of its pixels shows (nearest neighbour).
public struct RenderedTile: Sendable {
    public var plane: Plane
    /// Index along the axis the tile cuts (k for axial, the row or column for reformats).
    public var index: Int
    public var x: Int, y: Int, width: Int, height: Int
    public var u: AxisMap, v: AxisMap
    public var fixedAxis: Int
    /// Display-index ranges shown along u and v.
    public var uStart: Int, uCount: Int, vStart: Int, vCount: Int
    public var mmPerPixel: Double
    /// Rectangles (picture coordinates) covered by text: ids, captions, letters, the scale bar.
    public var annotations: [(x: Int, y: Int, w: Int, h: Int)]

    /// Voxel (i, j, k) shown at tile pixel (px, py).
    public func voxel(atPixel px: Int, _ py: Int) -> (Int, Int, Int) {
        let gu = u.grid(uStart + min(uCount - 1, Int(Double(px) * mmPerPixel / u.spacingMM)))
        let gv = v.grid(vStart + min(vCount - 1, Int(Double(py) * mmPerPixel / v.spacingMM)))
        @inline(__always) func along(_ axis: Int) -> Int { axis == fixedAxis ? index : (axis == u.axis ? gu : gv) }
        return (along(0), along(1), along(2))
    }
}

public struct RenderedImage: Sendable {
    public var canvas: Canvas
    public var tiles: [RenderedTile]
    public var textChunks: [(String, String)]
}

public enum OverlayRenderer {
    /// The grid axis closest to patient axis `p` (0 x, 1 y, 2 z), shown so that the screen runs
    /// towards +p (or -p when `negative`).
    static func axisMap(_ g: Geometry, patientAxis p: Int, negative: Bool = false) -> AxisMap {
        let axes = [g.axes.0, g.axes.1, g.axes.2]
        let a = (0..<3).max { abs(axes[$0][p]) < abs(axes[$1][p]) }!
        let counts = [g.dims.x, g.dims.y, g.dims.z], sp = [g.spacingMM.x, g.spacingMM.y, g.spacingMM.z]
        return AxisMap(axis: a, reversed: (axes[a][p] < 0) != negative, count: counts[a], spacingMM: sp[a])
    }

    /// Bounding box (grid indices, inclusive) and centre of mass of a mask; nil when empty.
    static func extent(_ m: Mask) -> (lo: [Int], hi: [Int], centre: [Double])? {
        let d = m.dims
        var lo = [Int.max, Int.max, Int.max], hi = [Int.min, Int.min, Int.min], sum = [0.0, 0.0, 0.0], n = 0.0
        m.voxels.withUnsafeBufferPointer { p in
            var o = 0
            for k in 0..<d.z {
                for j in 0..<d.y {
                    for i in 0..<d.x {
                        if p[o] != 0 {
                            lo[0] = min(lo[0], i)
                            hi[0] = max(hi[0], i)
                            lo[1] = min(lo[1], j)
                            hi[1] = max(hi[1], j)
                            lo[2] = min(lo[2], k)
                            hi[2] = max(hi[2], k)
                            sum[0] += Double(i)
                            sum[1] += Double(j)
                            sum[2] += Double(k)
                            n += 1
                        }
                        o += 1
                    }
                }
            }
        }
        return n > 0 ? (lo, hi, sum.map { $0 / n }) : nil
    }

    /// Display-index range (start, count) of the extent along `m`, widened by `marginMM`, clamped.
    static func displayRange(_ e: (lo: [Int], hi: [Int], centre: [Double])?, _ m: AxisMap, marginMM: Double) -> (
        Int, Int
    ) {
        guard let e else { return (0, m.count) }
        let a = m.grid(e.lo[m.axis]), b = m.grid(e.hi[m.axis])
        let margin = Int((marginMM / m.spacingMM).rounded(.up))
        let lo = max(0, min(a, b) - margin), hi = min(m.count - 1, max(a, b) + margin)
        return (lo, hi - lo + 1)
    }

    /// Draws one plane of the scene into a new canvas.
    static func renderTile(
        _ scene: OverlayScene, plane: Plane, fixedAxis: Int, index: Int, u: AxisMap, v: AxisMap,
        uRange: (Int, Int), vRange: (Int, Int), mmPerPixel: Double, options: OverlayOptions
    ) -> (Canvas, RenderedTile) {
        let w = max(1, Int((Double(uRange.1) * u.spacingMM / mmPerPixel).rounded()))
        let h = max(1, Int((Double(vRange.1) * v.spacingMM / mmPerPixel).rounded()))
        var tile = RenderedTile(
            plane: plane, index: index, x: 0, y: 0, width: w, height: h, u: u, v: v, fixedAxis: fixedAxis,
            uStart: uRange.0, uCount: uRange.1, vStart: vRange.0, vCount: vRange.1, mmPerPixel: mmPerPixel,
            annotations: [])
        var c = Canvas(width: w, height: h)
        // Voxel offset of every pixel, computed once.
        var offsets = [Int](repeating: 0, count: w * h)
        for py in 0..<h {
            for px in 0..<w {
                let (i, j, k) = tile.voxel(atPixel: px, py)
                offsets[px + w * py] = scene.ct.offset(i, j, k)
            }
        }
        let lo = options.windowLevelHU - options.windowWidthHU / 2
        let liver = scene.liver.voxels, labels = scene.lesionLabels.voxels, hu = scene.ct.voxels
        for p in 0..<(w * h) {
            let g = UInt8(max(0, min(255, ((Double(hu[offsets[p]]) - lo) / options.windowWidthHU * 255).rounded())))
            c.pixels[3 * p] = g
            c.pixels[3 * p + 1] = g
            c.pixels[3 * p + 2] = g
        }
        var lesionPixels: [UInt16: (sx: Int, sy: Int, n: Int)] = [:]
        for py in 0..<h {
            for px in 0..<w {
                let p = px + w * py, o = offsets[p]
                let id = labels[o]
                // Outlines are two pixels wide, inside the structure: a pixel is on the outline when a
                // pixel one or two steps left, right, up or down shows something else.
                func neighbourDiffers(_ f: (Int) -> Bool) -> Bool {
                    for d in 1...2 {
                        if (px >= d && f(offsets[p - d])) || (px + d < w && f(offsets[p + d]))
                            || (py >= d && f(offsets[p - d * w])) || (py + d < h && f(offsets[p + d * w]))
                        {
                            return true
                        }
                    }
                    return false
                }
                if id != 0 {
                    if neighbourDiffers({ labels[$0] != id }) {
                        c.set(px, py, .lesionOutline)
                    } else {
                        c.blend(px, py, .lesionFill, alpha: 0.45)
                    }
                    let e = lesionPixels[id] ?? (0, 0, 0)
                    lesionPixels[id] = (e.sx + px, e.sy + py, e.n + 1)
                } else if liver[o] != 0 && neighbourDiffers({ liver[$0] == 0 && labels[$0] == 0 }) {
                    c.set(px, py, .liver)
                }
            }
        }
        // Lesion ids at the centre of their pixels in this tile.
        for (id, e) in lesionPixels.sorted(by: { $0.key < $1.key }) where e.n >= 30 {
            let label = "\(id)"
            let tx = e.sx / e.n - Canvas.textWidth(label, scale: 2) / 2, ty = e.sy / e.n - 7
            let r = c.text(label, x: tx, y: ty, scale: 2)
            tile.annotations.append(r)
        }
        // Orientation letters and a scale bar.
        let letters: (String, String, String, String)
        switch plane {
        case .axial: letters = ("R", "L", "A", "P")
        case .coronal: letters = ("R", "L", "S", "I")
        case .sagittal: letters = ("A", "P", "S", "I")
        }
        drawMarkers(scene, on: &c, tile: tile)
        tile.annotations.append(c.text(letters.0, x: 3, y: h / 2 - 7, scale: 2))
        tile.annotations.append(c.text(letters.1, x: w - 13, y: h / 2 - 7, scale: 2))
        tile.annotations.append(c.text(letters.2, x: w / 2 - 5, y: 3, scale: 2))
        tile.annotations.append(c.text(letters.3, x: w / 2 - 5, y: h - 17, scale: 2))
        let barCM = [10, 5, 2, 1].first { Double($0) * 10 / mmPerPixel <= 0.4 * Double(w) } ?? 1
        let barPx = Int((Double(barCM) * 10 / mmPerPixel).rounded())
        let bx = 6, by = h - 10
        c.fill(x: bx - 1, y: by - 1, w: barPx + 2, h: 5, .black)
        c.fill(x: bx, y: by, w: barPx, h: 3, .white)
        let lr = c.text("\(barCM) CM", x: bx, y: by - 18, scale: 2)
        tile.annotations.append((bx - 1, lr.y, max(barPx + 2, lr.w), by + 5 - lr.y))
        return (c, tile)
    }

    /// Markers within half a slice (axial) or 5 mm (reformats) of the tile's plane: a cross for
    /// a seed, an X for an excluded point, 7 pixels each way, outlined in black.
    static func drawMarkers(_ scene: OverlayScene, on c: inout Canvas, tile: RenderedTile) {
        let g = scene.ct.geometry
        let sp = [g.spacingMM.x, g.spacingMM.y, g.spacingMM.z]
        let reach = tile.plane == .axial ? 0.5 : 5.0 / sp[tile.fixedAxis]
        for m in scene.markers where abs(m.index[tile.fixedAxis] - Double(tile.index)) <= reach {
            // Display position of the marker along u and v, then pixels.
            func pixel(_ a: AxisMap, start: Int) -> Double {
                let t = a.reversed ? Double(a.count - 1) - m.index[a.axis] : m.index[a.axis]
                return (t - Double(start) + 0.5) * a.spacingMM / tile.mmPerPixel
            }
            let px = Int(pixel(tile.u, start: tile.uStart)), py = Int(pixel(tile.v, start: tile.vStart))
            let arms: [(Int, Int)] =
                m.kind == .seed ? [(1, 0), (-1, 0), (0, 1), (0, -1)] : [(1, 1), (-1, -1), (1, -1), (-1, 1)]
            for (pass, colour) in [(0, RGB.black), (1, m.kind == .seed ? RGB.seed : RGB.excluded)] {
                for (dx, dy) in arms {
                    for t in 0...7 {
                        let x = px + dx * t, y = py + dy * t
                        for (ox, oy) in pass == 0 ? [(-1, 0), (1, 0), (0, -1), (0, 1)] : [(0, 0)]
                        where x + ox >= 0 && x + ox < c.width && y + oy >= 0 && y + oy < c.height {
                            c.set(x + ox, y + oy, colour)
                        }
                    }
                }
            }
        }
    }

    /// Axial montage of key slices across the liver (and the slice through the largest lesion),
    /// head first, cropped to the liver with a 15 mm margin, under a header band.
    public static func axialMontage(_ scene: OverlayScene, options: OverlayOptions = OverlayOptions()) -> RenderedImage
    {
        let g = scene.ct.geometry
        let u = axisMap(g, patientAxis: 0), v = axisMap(g, patientAxis: 1),
            s = axisMap(g, patientAxis: 2, negative: true)
        let e = scene.liverExtent
        let uRange = displayRange(e, u, marginMM: 15), vRange = displayRange(e, v, marginMM: 15)
        let sRange = displayRange(e, s, marginMM: 0)
        // Key slices: evenly across the liver (display order = head first), plus the largest lesion's.
        let n = max(1, min(options.axialTiles, sRange.1))
        var displaySlices = Set((0..<n).map { sRange.0 + Int((Double($0) + 0.5) * Double(sRange.1) / Double(n)) })
        // The largest lesion's slice, then the markers' slices, replace the nearest others.
        var kept = Set<Int>()
        for k in [scene.largestLesionSlice].compactMap({ $0 })
            + scene.markers.map({ Int($0.index[s.axis].rounded()) }).filter({ (0..<s.count).contains($0) })
        {
            let t = s.reversed ? s.count - 1 - k : k
            if !displaySlices.contains(t),
                let nearest = displaySlices.subtracting(kept).min(by: {
                    abs($0 - t) < abs($1 - t)
                })
            {
                displaySlices.remove(nearest)
                displaySlices.insert(t)
            }
            kept.insert(t)
        }
        let mm = max(Double(uRange.1) * u.spacingMM, Double(vRange.1) * v.spacingMM) / Double(options.tilePixels)
        let cols = Int(Double(displaySlices.count).squareRoot().rounded(.up))
        let rows = (displaySlices.count + cols - 1) / cols
        var rendered: [(Canvas, RenderedTile)] = []
        for t in displaySlices.sorted() {
            let k = s.grid(t)
            var (c, tile) = renderTile(
                scene, plane: .axial, fixedAxis: s.axis, index: k, u: u, v: v, uRange: uRange, vRange: vRange,
                mmPerPixel: mm, options: options)
            let z = g.positionMM(0, 0, Double(k)).z
            var caption = (scene.sliceCaptions?[k] ?? "SLICE \(k + 1)") + "  Z \(String(format: "%.1f", z))"
            if k == scene.largestLesionSlice { caption += "  LESION 1" }
            tile.annotations.append(c.text(caption, x: 4, y: 22, scale: 1, color: .white))
            rendered.append((c, tile))
        }
        let gap = 4
        let tw = rendered[0].0.width, th = rendered[0].0.height
        let width = max(cols * tw + (cols + 1) * gap, 480)
        return compose(
            scene, rendered: rendered, width: width,
            layout: { n in
                (gap + (n % cols) * (tw + gap), gap + (n / cols) * (th + gap))
            }, bodyHeight: rows * th + (rows + 1) * gap, options: options, plane: "axial")
    }

    /// A coronal or sagittal reformat through the liver's centre, with square pixels in mm (so
    /// the aspect ratio follows the spacing), under a header band.
    public static func reformat(_ scene: OverlayScene, plane: Plane, options: OverlayOptions = OverlayOptions())
        -> RenderedImage
    {
        precondition(plane != .axial)
        let g = scene.ct.geometry
        let u = plane == .coronal ? axisMap(g, patientAxis: 0) : axisMap(g, patientAxis: 1)
        let fixed = plane == .coronal ? axisMap(g, patientAxis: 1) : axisMap(g, patientAxis: 0)
        let v = axisMap(g, patientAxis: 2, negative: true)
        // Through the liver's centre of mass.
        let e = scene.liverExtent
        let index = e.map { Int($0.centre[fixed.axis].rounded()) } ?? fixed.count / 2
        let uRange = displayRange(e, u, marginMM: 30), vRange = displayRange(e, v, marginMM: 30)
        // Square display pixels in mm: the picture's aspect ratio is the anatomy's.
        let mm = max(Double(uRange.1) * u.spacingMM, Double(vRange.1) * v.spacingMM) / Double(options.tilePixels + 160)
        var (c, tile) = renderTile(
            scene, plane: plane, fixedAxis: fixed.axis, index: index, u: u, v: v, uRange: uRange, vRange: vRange,
            mmPerPixel: mm, options: options)
        tile.annotations.append(c.text("\(plane.rawValue.uppercased()) \(index + 1)", x: 4, y: 22, scale: 1))
        let gap = 4
        return compose(
            scene, rendered: [(c, tile)], width: max(c.width + 2 * gap, 480), layout: { _ in (gap, gap) },
            bodyHeight: c.height + 2 * gap, options: options, plane: plane.rawValue)
    }

    /// Header band above the tiles.
    static func compose(
        _ scene: OverlayScene, rendered: [(Canvas, RenderedTile)], width: Int, layout: (Int) -> (Int, Int),
        bodyHeight: Int, options: OverlayOptions, plane: String
    ) -> RenderedImage {
        let lineHeight = 18
        let maxChars = max(10, (width - 12) / (BitmapFont.advance * 2))
        // Header lines are fields separated by two spaces; a line too wide for the picture is
        // wrapped between fields (and a single field too wide is cut with '~').
        var lines: [String] = []
        func clipped(_ s: String) -> String { s.count > maxChars ? String(s.prefix(maxChars - 1)) + "~" : s }
        for line in scene.headerLines + [
            "W \(Int(options.windowWidthHU)) / L \(Int(options.windowLevelHU))  \(plane.uppercased())"
        ] {
            var current = ""
            for field in line.components(separatedBy: "  ") {
                let next = current.isEmpty ? field : current + "  " + field
                if next.count <= maxChars || current.isEmpty {
                    current = next
                } else {
                    lines.append(clipped(current))
                    current = field
                }
            }
            lines.append(clipped(current))
        }
        let band = 8 + lines.count * lineHeight
        var canvas = Canvas(width: width, height: band + bodyHeight)
        canvas.fill(x: 0, y: 0, w: width, h: band, .band)
        for (n, line) in lines.enumerated() {
            canvas.text(
                line, x: 6, y: 6 + n * lineHeight, scale: 2, color: line.hasPrefix("HTB ") && n == 0 ? .flag : .white)
        }
        var tiles: [RenderedTile] = []
        for (n, (c, t)) in rendered.enumerated() {
            let (x, y) = layout(n)
            canvas.draw(c, x: x, y: band + y)
            var placed = t
            placed.x = x
            placed.y = band + y
            placed.annotations = t.annotations.map { ($0.x + x, $0.y + band + y, $0.w, $0.h) }
            tiles.append(placed)
        }
        return RenderedImage(canvas: canvas, tiles: tiles, textChunks: scene.textChunks + [("htb:plane", plane)])
    }
}
