import Evaluation
import Foundation
import VolumeModel
import Volumetry

/// Pure image functions for segmentation: each takes volumes that carry their geometry and
/// returns new ones on the same grid (or, for resampling, on the grid it documents). Radii and
/// widths are in mm and honour anisotropic spacing.
public enum Filters {
    /// Separable Gaussian smoothing; `sigmaMM` per axis is converted to voxels by the spacing;
    /// the kernel is truncated at 3 sigma and renormalised; edges replicate the border voxel.
    public static func gaussian(_ v: CTVolume, sigmaMM: Double) -> Volume<Float> {
        gaussian(Volume(voxels: v.voxels.map(Float.init), geometry: v.geometry), sigmaMM: sigmaMM)
    }

    /// Normalised convolution (Knutsson and Westin): the Gaussian mean of `v` over the voxels
    /// inside `mask` only, gaussian(v x mask) / gaussian(mask), so that what lies outside (fat
    /// beside the liver) does not blur in; 0 outside the mask.
    public static func gaussian(_ v: CTVolume, sigmaMM: Double, within mask: Mask) -> Volume<Float> {
        gaussian(Volume(voxels: v.voxels.map(Float.init), geometry: v.geometry), sigmaMM: sigmaMM, within: mask)
    }

    /// The same on a Float volume.
    public static func gaussian(_ v: Volume<Float>, sigmaMM: Double, within mask: Mask) -> Volume<Float> {
        normalisedGaussian(v, sigmaMM: sigmaMM, within: mask).mean
    }

    /// The normalised convolution and its weight, gaussian(mask): 1 where the kernel (cut at 3
    /// sigma) lies wholly in the mask, less near its edge.
    public static func normalisedGaussian(_ v: Volume<Float>, sigmaMM: Double, within mask: Mask) -> (
        mean: Volume<Float>, weight: Volume<Float>
    ) {
        var weighted = v, weights = v
        for i in 0..<v.voxels.count {
            let inside = mask.voxels[i] != 0
            weighted.voxels[i] = inside ? v.voxels[i] : 0
            weights.voxels[i] = inside ? 1 : 0
        }
        var out = gaussian(weighted, sigmaMM: sigmaMM)
        let w = gaussian(weights, sigmaMM: sigmaMM)
        for i in 0..<out.voxels.count {
            out.voxels[i] = mask.voxels[i] != 0 && w.voxels[i] > 0 ? out.voxels[i] / w.voxels[i] : 0
        }
        return (out, w)
    }

    /// The same on a Float volume. Each pass adds weighted shifted copies of whole rows (x) or
    /// whole rows and slices (y, z) into a second buffer: contiguous loops the compiler
    /// vectorises, whatever the axis.
    public static func gaussian(_ v: Volume<Float>, sigmaMM: Double) -> Volume<Float> {
        var src = v.voxels
        var dst = [Float](repeating: 0, count: src.count)
        let d = v.dims, sp = [v.geometry.spacingMM.x, v.geometry.spacingMM.y, v.geometry.spacingMM.z]
        let counts = [d.x, d.y, d.z]
        for axis in 0..<3 {
            let s = sigmaMM / sp[axis]
            guard s > 0.2, counts[axis] > 1 else { continue }
            let r = Int((3 * s).rounded(.up))
            var kernel = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * s * s))) }
            let sum = kernel.reduce(0, +)
            kernel = kernel.map { $0 / sum }
            let taps = kernel, n = counts[axis], row = d.x, slice = d.x * d.y
            src.withUnsafeBufferPointer { input in
                dst.withUnsafeMutableBufferPointer { output in
                    let from = UncheckedSendable(input), to = UncheckedSendable(output)
                    switch axis {
                    case 0:
                        // Rows padded by r replicated border values.
                        concurrentChunks(d.y * d.z) { range in
                            let input = from.value.baseAddress!, output = to.value.baseAddress!
                            var padded = [Float](repeating: 0, count: n + 2 * r)
                            padded.withUnsafeMutableBufferPointer { p in
                                let pad = p.baseAddress!
                                for line in range {
                                    let base = line * row
                                    for i in 0..<n { pad[i + r] = input[base + i] }
                                    for i in 0..<r {
                                        pad[i] = pad[r]
                                        pad[n + r + i] = pad[n + r - 1]
                                    }
                                    accumulate(output + base, n, taps) { t in UnsafePointer(pad + t) }
                                }
                            }
                        }
                    case 1:
                        concurrentChunks(d.z) { range in
                            let input = from.value.baseAddress!, output = to.value.baseAddress!
                            for k in range {
                                for j in 0..<n {
                                    accumulate(output + k * slice + j * row, row, taps) { t in
                                        input + k * slice + min(max(j + t - r, 0), n - 1) * row
                                    }
                                }
                            }
                        }
                    default:
                        concurrentChunks(d.z) { range in
                            let input = from.value.baseAddress!, output = to.value.baseAddress!
                            for k in range {
                                accumulate(output + k * slice, slice, taps) { t in
                                    input + min(max(k + t - r, 0), n - 1) * slice
                                }
                            }
                        }
                    }
                }
            }
            swap(&src, &dst)
        }
        return Volume(voxels: src, geometry: v.geometry)
    }

    /// out[0..<count] = the sum over taps t of w_t x line(t)[0..<count] (line(t): the source
    /// line shifted by tap t, borders replicated by the caller).
    @inline(__always) private static func accumulate(
        _ out: UnsafeMutablePointer<Float>, _ count: Int, _ taps: [Float], _ line: (Int) -> UnsafePointer<Float>
    ) {
        for i in 0..<count { out[i] = 0 }
        for t in 0..<taps.count {
            let w = taps[t], src = line(t)
            for i in 0..<count { out[i] += w * src[i] }
        }
    }

    /// Voxels with lo < value < hi.
    public static func band(_ v: Volume<Float>, lo: Float, hi: Float, within: Mask? = nil) -> Mask {
        var m = Mask(repeating: 0, geometry: v.geometry)
        for i in 0..<v.voxels.count where v.voxels[i] > lo && v.voxels[i] < hi && (within?.voxels[i] ?? 1) != 0 {
            m.voxels[i] = 1
        }
        return m
    }

    /// Erosion by a ball of `radiusMM`: voxels farther than the radius from every outside voxel
    /// (outside the grid counts as outside). Exact, through the distance transform; computed
    /// within the mask's bounding box (one voxel more), where all of the answer lies.
    public static func erode(_ m: Mask, radiusMM: Double) -> Mask { erode(m, radiiMM: [radiusMM])[0] }

    /// Erosions by several radii from one distance map (as many masks as radii, in their order).
    public static func erode(_ m: Mask, radiiMM: [Double]) -> [Mask] {
        guard let box = m.boundingBox?.expanded(byMM: 0, in: m.geometry) else { return radiiMM.map { _ in m } }
        if box.dims != m.dims {
            let empty = Mask(repeating: 0, geometry: m.geometry)
            return erodeWhole(m.cropped(to: box), radiiMM: radiiMM, grid: m.geometry, box: box).map {
                empty.pasting($0, at: box)
            }
        }
        return erodeWhole(m, radiiMM: radiiMM, grid: m.geometry, box: box)
    }

    private static func erodeWhole(_ m: Mask, radiiMM: [Double], grid: Geometry, box: VoxelBox) -> [Mask] {
        let outside = m.inverted()
        let largest = radiiMM.max() ?? 0
        let d2 = squaredDistanceMM2(to: outside, capMM2: Self.cap(above: largest * largest)).voxels
        let d = m.dims, full = grid.dims, sp = m.geometry.spacingMM
        return radiiMM.map { radiusMM in
            let r2 = radiusMM * radiusMM
            // The world beyond the full grid starts one voxel past its border: along each axis,
            // the box's indices farther than the radius from it (the nearest edge is the
            // smallest of the three distances, so all three must clear the radius).
            func clear(_ n: Int, _ lo: Int, _ fullN: Int, _ s: Double) -> [Bool] {
                (0..<n).map {
                    let e = Double(min($0 + lo + 1, fullN - $0 - lo)) * s
                    return e * e > r2
                }
            }
            let cx = clear(d.x, box.lo.x, full.x, sp.x), cy = clear(d.y, box.lo.y, full.y, sp.y)
            let cz = clear(d.z, box.lo.z, full.z, sp.z), above = Float(greatestBelowOrAt: r2)
            var out = Mask(repeating: 0, geometry: m.geometry)
            out.voxels.withUnsafeMutableBufferPointer { o in
                m.voxels.withUnsafeBufferPointer { mv in
                    for k in 0..<d.z where cz[k] {
                        for j in 0..<d.y where cy[j] {
                            let row = (k * d.y + j) * d.x
                            for i in 0..<d.x where cx[i] && mv[row + i] != 0 && d2[row + i] > above { o[row + i] = 1 }
                        }
                    }
                }
            }
            return out
        }
    }

    /// Dilation by a ball of `radiusMM`: voxels within the radius of an inside voxel (computed
    /// within the mask's bounding box grown by the radius).
    public static func dilate(_ m: Mask, radiusMM: Double) -> Mask {
        guard let box = m.boundingBox?.expanded(byMM: radiusMM, in: m.geometry) else { return m }
        let part = box.dims == m.dims ? m : m.cropped(to: box)
        let r2 = radiusMM * radiusMM
        let d2 = squaredDistanceMM2(to: part, capMM2: Self.cap(above: r2)).voxels
        var out = Mask(repeating: 0, geometry: part.geometry)
        let atMost = Float(greatestBelowOrAt: r2)
        out.voxels.withUnsafeMutableBufferPointer { o in
            d2.withUnsafeBufferPointer { d in for i in 0..<o.count { o[i] = d[i] <= atMost ? 1 : 0 } }
        }
        return box.dims == m.dims ? out : Mask(repeating: 0, geometry: m.geometry).pasting(out, at: box)
    }

    /// Opening: erosion then dilation by the same ball (removes what is thinner than 2 x radius).
    public static func open(_ m: Mask, radiusMM: Double) -> Mask {
        dilate(erode(m, radiusMM: radiusMM), radiusMM: radiusMM)
    }

    /// Closing: dilation then erosion by the same ball (bridges gaps narrower than 2 x radius).
    public static func close(_ m: Mask, radiusMM: Double) -> Mask {
        erode(dilate(m, radiusMM: radiusMM), radiusMM: radiusMM)
    }

    /// A cap safely above a squared radius: thresholds at r2 are exact.
    static func cap(above r2: Double) -> Float { Float(r2 * 1.5 + 100) }

    /// The largest connected component (nil-safe: an empty mask stays empty).
    public static func largestComponent(_ m: Mask, connectivity: Connectivity = .faces6) -> Mask {
        var out = Mask(repeating: 0, geometry: m.geometry)
        for v in largestComponentVoxels(of: m, connectivity: connectivity) { out.voxels[v] = 1 }
        return out
    }

    /// Fills, slice by slice, the background regions that do not reach the slice's border
    /// (4-connected in plane): vessels and lesions enclosed by the liver become liver.
    public static func fillHolesPerSlice(_ m: Mask) -> Mask {
        guard let box = m.boundingBox else { return m }
        let d = m.dims
        // Only the mask's box, one voxel wider, needs a flood: that ring is background (or the
        // grid's border) and connected, so what it does not reach is what the slice's border does not.
        let x0 = max(0, box.lo.x - 1), x1 = min(d.x - 1, box.lo.x + box.dims.x), y0 = max(0, box.lo.y - 1),
            y1 = min(d.y - 1, box.lo.y + box.dims.y)
        let w = x1 - x0 + 1, h = y1 - y0 + 1
        var out = m
        out.voxels.withUnsafeMutableBufferPointer { o in
            let shared = UncheckedSendable(o)
            m.voxels.withUnsafeBufferPointer { src in
                let input = UncheckedSendable(src)
                // Slices are independent: chunks of them run in parallel, each with its own scratch.
                concurrentChunks(box.dims.z) { range in
                    let o = shared.value, mv = input.value
                    var reached = [Bool](repeating: false, count: w * h)
                    var stack: [Int] = []
                    for k in range.lowerBound + box.lo.z..<range.upperBound + box.lo.z {
                        let base = k * d.sliceCount + y0 * d.x + x0
                        for i in 0..<reached.count { reached[i] = false }
                        func push(_ p: Int) {
                            if !reached[p] && mv[base + (p / w) * d.x + p % w] == 0 {
                                reached[p] = true
                                stack.append(p)
                            }
                        }
                        for i in 0..<w {
                            push(i)
                            push(i + w * (h - 1))
                        }
                        for j in 0..<h {
                            push(w * j)
                            push(w - 1 + w * j)
                        }
                        while let p = stack.popLast() {
                            let i = p % w, j = p / w
                            if i > 0 { push(p - 1) }
                            if i + 1 < w { push(p + 1) }
                            if j > 0 { push(p - w) }
                            if j + 1 < h { push(p + w) }
                        }
                        for p in 0..<reached.count where !reached[p] { o[base + (p / w) * d.x + p % w] = 1 }
                    }
                }
            }
        }
        return out
    }

    /// Fills the enclosed holes of `m` no larger than `upToMM3`: background regions (6-connected,
    /// in 3D) that do not reach the grid's border. A threshold's mask of a noisy tissue has
    /// voxel-sized holes where the noise left its range; an opening then takes everything within
    /// its radius of them.
    public static func fillHoles(_ m: Mask, upToMM3 limit: Double) -> Mask {
        let maximumVoxels = Int(limit / m.geometry.voxelVolumeMM3)
        guard maximumVoxels > 0 else { return m }
        let d = m.dims
        var out = m
        for c in components(of: m.inverted(), connectivity: .faces6).voxels where c.count <= maximumVoxels {
            let reachesBorder = c.contains { v in
                let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
                return i == 0 || j == 0 || k == 0 || i == d.x - 1 || j == d.y - 1 || k == d.z - 1
            }
            if !reachesBorder { for v in c { out.voxels[v] = 1 } }
        }
        return out
    }

    /// The most frequent value of `v` inside `mask` between lo and hi (histogram of `binWidth`,
    /// smoothed over `smoothBins`), and a robust spread: 1.4826 x the median absolute deviation
    /// of the values within 50 of the mode (an SD for Gaussian data; the median to 0.01 HU), or
    /// with `peakWidthOnly` the peak's half width at half maximum on its narrower side / 1.1774
    /// (blind to a second tissue's peak beside it).
    public static func mode(
        _ v: Volume<Float>, within mask: Mask, lo: Float, hi: Float, binWidth: Float = 1,
        smoothBins: Int = 3, peakWidthOnly: Bool = false
    ) -> (mode: Float, robustSD: Float)? {
        modes(
            v, within: mask, lo: lo, hi: hi, binWidth: binWidth, smoothBins: smoothBins, peakWidthOnly: peakWidthOnly,
            minimumRelativeHeight: 1, separation: 0
        ).first.map { ($0.mode, $0.robustSD) }
    }

    /// Every peak of that histogram at least `minimumRelativeHeight` x the highest one and the
    /// highest within +-`separation` HU, highest first, each with its spread as in `mode` (the
    /// first is `mode`'s answer) and, whichever that is, its half-width SD.
    public static func modes(
        _ v: Volume<Float>, within mask: Mask, lo: Float, hi: Float, binWidth: Float = 1,
        smoothBins: Int = 3, peakWidthOnly: Bool = false, minimumRelativeHeight: Double,
        separation: Float
    ) -> [(mode: Float, robustSD: Float, halfWidthSD: Float)] {
        let bins = Int(((hi - lo) / binWidth).rounded(.up))
        guard bins > 0 else { return [] }
        var h = [Double](repeating: 0, count: bins)
        for i in 0..<v.voxels.count where mask.voxels[i] != 0 {
            let x = v.voxels[i]
            if x > lo && x < hi { h[min(bins - 1, Int((x - lo) / binWidth))] += 1 }
        }
        guard h.contains(where: { $0 > 0 }) else { return [] }
        var s = h
        for b in 0..<bins {
            var acc = 0.0, n = 0.0
            for k in -smoothBins...smoothBins where b + k >= 0 && b + k < bins {
                acc += h[b + k]
                n += 1
            }
            s[b] = acc / n
        }
        let top = s.indices.max { s[$0] < s[$1] }!
        var peaks = [top]
        let reach = Int((separation / binWidth).rounded())
        if minimumRelativeHeight < 1 {
            for b in (smoothBins + 1)..<max(smoothBins + 1, bins - smoothBins - 1)
            where b != top && s[b] > 0 && s[b] >= minimumRelativeHeight * s[top] {
                let window = max(0, b - reach)...min(bins - 1, b + reach)
                // The highest in its window; ties go to the lowest bin.
                if window.allSatisfy({ s[$0] < s[b] || ($0 >= b && s[$0] <= s[b]) }) { peaks.append(b) }
            }
            peaks = [top] + peaks.dropFirst().sorted { s[$0] > s[$1] }
        }
        return peaks.map { peak in
            let m = lo + (Float(peak) + 0.5) * binWidth
            // The peak's own half width at half maximum, on its narrower side (a neighbouring
            // tissue's peak widens only the side it lies on): an SD for a Gaussian peak.
            var left = peak, right = peak
            while left > 0 && s[left] > s[peak] / 2 { left -= 1 }
            while right < bins - 1 && s[right] > s[peak] / 2 { right += 1 }
            let halfWidthSD = Float(min(peak - left, right - peak)) * binWidth / 1.1774
            return (m, peakWidthOnly ? halfWidthSD : medianAbsoluteDeviationSD(v, within: mask, around: m), halfWidthSD)
        }
    }

    /// The median of `values` (the mean of the middle two for an even count); 0 when empty.
    public static func median(_ values: [Float]) -> Float {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// 1.4826 x the median absolute deviation from `m` of the values within 50 of it, from a
    /// histogram of 0.01 HU bins (no sort of millions of values).
    public static func medianAbsoluteDeviationSD(_ v: Volume<Float>, within mask: Mask, around m: Float) -> Float {
        let devBins = 5000
        var dh = [Int](repeating: 0, count: devBins)
        var n = 0
        for i in 0..<v.voxels.count where mask.voxels[i] != 0 {
            let dv = abs(v.voxels[i] - m)
            if dv < 50 {
                dh[min(devBins - 1, Int(dv * 100))] += 1
                n += 1
            }
        }
        guard n > 0 else { return 0 }
        var seen = 0, median: Float = 0
        for b in 0..<devBins {
            seen += dh[b]
            if seen > n / 2 {
                median = (Float(b) + 0.5) / 100
                break
            }
        }
        return 1.4826 * median
    }
}

extension Filters {
    /// Block-mean downsampling by integer factors along i and j (k unchanged): the grid keeps its
    /// orientation; the new voxel centres are the block centres.
    public static func downsample(_ v: CTVolume, factor f: Int) -> CTVolume {
        guard f > 1 else { return v }
        return blocks(v, factor: f)
    }

    /// Each f x f in-plane block of `v` made one voxel of the block grid (`BlockVoxel`: the mean
    /// of CT values, the majority of mask voxels). Slices are independent: chunks of them run in
    /// parallel. Generic over the voxel type through a protocol, not closures, so each use is
    /// specialised (a closure per voxel cost twice the time).
    private static func blocks<T: BlockVoxel>(_ v: Volume<T>, factor f: Int) -> Volume<T> {
        let d = v.dims, geometry = blockGeometry(v.geometry, factor: f), nx = geometry.dims.x, ny = geometry.dims.y
        var out = [T](repeating: .zero, count: nx * ny * d.z)
        out.withUnsafeMutableBufferPointer { o in
            let shared = UncheckedSendable(o)
            v.voxels.withUnsafeBufferPointer { src in
                let input = UncheckedSendable(src)
                concurrentChunks(d.z) { range in
                    let o = shared.value, s = input.value
                    for k in range {
                        for j in 0..<ny {
                            for i in 0..<nx {
                                var acc = 0
                                for b in 0..<f {
                                    let row = (j * f + b + d.y * k) * d.x + i * f
                                    for a in 0..<f { acc += s[row + a].blockValue }
                                }
                                o[i + nx * (j + ny * k)] = T(blockSum: acc, count: f * f)
                            }
                        }
                    }
                }
            }
        }
        return Volume(voxels: out, geometry: geometry)
    }

    /// The grid of f x f in-plane blocks (slices unchanged): same orientation, voxel centres at
    /// the block centres; a partial block at the end of a row or column is dropped.
    public static func blockGeometry(_ g: Geometry, factor f: Int) -> Geometry {
        Geometry(
            dims: Dims(g.dims.x / f, g.dims.y / f, g.dims.z),
            originMM: g.positionMM(Double(f - 1) / 2, Double(f - 1) / 2, 0),
            spacingMM: Vector3(g.spacingMM.x * Double(f), g.spacingMM.y * Double(f), g.spacingMM.z), axes: g.axes)
    }

    /// A mask made on a `downsample(_:factor:)` grid, back on the full grid (nearest block).
    public static func upsample(_ m: Mask, factor f: Int, onto full: Geometry) -> Mask {
        guard f > 1 else { return Mask(voxels: m.voxels, geometry: full) }
        let d = full.dims, md = m.dims
        var out = Mask(repeating: 0, geometry: full)
        // Row by row: a full-grid row is its small row with each value repeated f times; rows of
        // a slice with the same small row are copies, and empty small rows are skipped.
        out.voxels.withUnsafeMutableBufferPointer { o in
            let shared = UncheckedSendable(o)
            m.voxels.withUnsafeBufferPointer { src in
                let input = UncheckedSendable(src)
                concurrentChunks(d.z) { range in
                    let o = shared.value, s = input.value
                    for k in range {
                        for j in 0..<d.y {
                            let small = (min(md.y - 1, j / f) + md.y * k) * md.x, row = (j + d.y * k) * d.x
                            var any = false
                            for i in 0..<md.x where s[small + i] != 0 {
                                any = true
                                break
                            }
                            guard any else { continue }
                            for i in 0..<d.x { o[row + i] = s[small + min(md.x - 1, i / f)] }
                        }
                    }
                }
            }
        }
        return out
    }
}

extension Filters {
    /// A mask on the `downsample(_:factor:)` grid: a block is inside when at least half of it is.
    public static func downsample(_ m: Mask, factor f: Int) -> Mask {
        guard f > 1 else { return m }
        return blocks(m, factor: f)
    }
}

extension Filters {
    /// Each slice becomes the union of the mask's slices within +-`halfHeightMM` (whole slices
    /// of spacing): a running count per pixel over the window.
    public static func slab(_ m: Mask, halfHeightMM: Double) -> Mask {
        let d = m.dims, per = d.sliceCount, n = Int(halfHeightMM / m.geometry.spacingMM.z)
        guard n > 0 else { return m }
        var out = Mask(repeating: 0, geometry: m.geometry)
        var count = [Int32](repeating: 0, count: per)
        for k2 in 0..<min(d.z, n) { for p in 0..<per where m.voxels[k2 * per + p] != 0 { count[p] += 1 } }
        for k in 0..<d.z {
            if k + n < d.z { for p in 0..<per where m.voxels[(k + n) * per + p] != 0 { count[p] += 1 } }
            if k - n - 1 >= 0 { for p in 0..<per where m.voxels[(k - n - 1) * per + p] != 0 { count[p] -= 1 } }
            for p in 0..<per where count[p] > 0 { out.voxels[k * per + p] = 1 }
        }
        return out
    }

    /// Slice by slice, the convex hull of the inside voxels' centres (in index space: convexity
    /// does not depend on the pixel spacing), filled. Voxels on the hull's edges are inside.
    public static func convexHullPerSlice(_ m: Mask) -> Mask {
        let d = m.dims
        var out = Mask(repeating: 0, geometry: m.geometry)
        for k in 0..<d.z {
            let base = k * d.sliceCount
            // Row extremes are enough: the hull of all inside pixels is the hull of these.
            var points: [(Double, Double)] = []
            for j in 0..<d.y {
                var lo = -1, hi = -1
                for i in 0..<d.x where m.voxels[base + j * d.x + i] != 0 {
                    if lo < 0 { lo = i }
                    hi = i
                }
                if lo >= 0 {
                    points.append((Double(lo), Double(j)))
                    if hi != lo { points.append((Double(hi), Double(j))) }
                }
            }
            guard !points.isEmpty else { continue }
            let hull = convexHull(points)
            let jMin = Int(hull.map(\.1).min()!), jMax = Int(hull.map(\.1).max()!)
            for j in jMin...jMax {
                let y = Double(j)
                // The hull's extent along this row: where its edges cross the row.
                var xMin = Double.infinity, xMax = -Double.infinity
                for e in 0..<hull.count {
                    let p = hull[e], q = hull[(e + 1) % hull.count]
                    if p.1 == y {
                        xMin = min(xMin, p.0)
                        xMax = max(xMax, p.0)
                    }
                    if (p.1 - y) * (q.1 - y) < 0 {
                        let x = p.0 + (q.0 - p.0) * (y - p.1) / (q.1 - p.1)
                        xMin = min(xMin, x)
                        xMax = max(xMax, x)
                    }
                }
                guard xMin <= xMax else { continue }
                let i0 = max(0, Int((xMin - 1e-9).rounded(.up))), i1 = min(d.x - 1, Int((xMax + 1e-9).rounded(.down)))
                if i0 <= i1 { for i in i0...i1 { out.voxels[base + j * d.x + i] = 1 } }
            }
        }
        return out
    }
}

extension Filters {
    /// Connected regions of one slice of `m` (4-connected in plane): a label per pixel of the
    /// slice (0 outside, 1... inside) and the number of regions.
    public static func sliceRegions(_ m: Mask, slice k: Int) -> (labels: [Int32], count: Int) {
        let d = m.dims, base = k * d.sliceCount
        var labels = [Int32](repeating: 0, count: d.sliceCount)
        var count: Int32 = 0
        var stack: [Int] = []
        for start in 0..<d.sliceCount where m.voxels[base + start] != 0 && labels[start] == 0 {
            count += 1
            labels[start] = count
            stack.append(start)
            while let p = stack.popLast() {
                let i = p % d.x, j = p / d.x
                for q in [
                    i > 0 ? p - 1 : -1, i + 1 < d.x ? p + 1 : -1, j > 0 ? p - d.x : -1, j + 1 < d.y ? p + d.x : -1,
                ]
                where q >= 0 && labels[q] == 0 && m.voxels[base + q] != 0 {
                    labels[q] = count
                    stack.append(q)
                }
            }
        }
        return (labels, Int(count))
    }
}

/// How a voxel type enters a block and comes out of it (`Filters.downsample`).
protocol BlockVoxel: Sendable {
    static var zero: Self { get }
    /// The voxel's share of its block's sum.
    var blockValue: Int { get }
    /// The block's voxel from the sum of `count` shares.
    init(blockSum: Int, count: Int)
}

extension Int16: BlockVoxel {
    /// CT: the block's mean HU (stored value), truncated toward zero.
    var blockValue: Int { Int(self) }
    init(blockSum: Int, count: Int) { self = Int16(blockSum / count) }
}

extension UInt8: BlockVoxel {
    /// Masks: inside when at least half of the block is.
    var blockValue: Int { self != 0 ? 1 : 0 }
    init(blockSum: Int, count: Int) { self = 2 * blockSum >= count ? 1 : 0 }
}

extension Float {
    /// The largest Float not above `x`: for any Float f, f <= this exactly when Double(f) <= x
    /// (and f > this exactly when Double(f) > x), so a Float map is thresholded without
    /// widening every voxel.
    init(greatestBelowOrAt x: Double) {
        let f = Float(x)
        self = Double(f) <= x ? f : f.nextDown
    }
}
