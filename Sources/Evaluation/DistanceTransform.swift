import Foundation
import VolumeModel

/// Exact squared Euclidean distance transform in mm² (Felzenszwalb & Huttenlocher 2012,
/// "Distance transforms of sampled functions"): for every voxel, the squared distance to the
/// nearest voxel where `feature` is non-zero, with the grid's spacing on each axis. Separable:
/// one lower-envelope pass per axis. Voxels with no feature anywhere get `.infinity`.
public func squaredDistanceToFeatures(_ feature: Mask) -> Volume<Double> {
    squaredDistances(to: feature, cap: Double.infinity)
}

/// The same transform in Float, exact below `capMM2` (values at or above it mean "at least the
/// cap"): precise enough for thresholded morphology, in half the memory. A small cap (the
/// morphology's few millimetres) takes the second and third axes by brute-force minimum over the
/// few offsets below the cap (`nearRows`), whole rows at a time; a large one by the envelope.
public func squaredDistancesMM2(to feature: Mask, capMM2: Float) -> Volume<Float> {
    squaredDistances(to: feature, cap: capMM2, nearRows: true)
}

/// Both, in any floating-point type (specialised here for the two above: a generic call from
/// another module would run unspecialised, several times slower). Points at the cap are left
/// out of the envelope (their parabolas never come below it), and the parabolas' intersections
/// are computed from differences (of values and of integer squares), which keeps Float well
/// under a voxel. `nearRows` (Float only) lets a small cap take the row path.
func squaredDistances<T: BinaryFloatingPoint & Sendable>(to feature: Mask, cap: T, nearRows: Bool = false) -> Volume<T>
{
    let d = feature.dims
    let sp = [T(feature.geometry.spacingMM.x), T(feature.geometry.spacingMM.y), T(feature.geometry.spacingMM.z)]
    var f = [T](repeating: cap, count: d.count)
    let strides = [1, d.x, d.x * d.y], counts = [d.x, d.y, d.z]
    f.withUnsafeMutableBufferPointer { buffer in
        let shared = UncheckedSendable(buffer)
        // The first axis sees a binary input: the distance along a row to its nearest feature
        // voxel, from one scan each way, is already the exact 1-D transform.
        feature.voxels.withUnsafeBufferPointer { fv in
            let src = UncheckedSendable(fv)
            let n = d.x, w = sp[0], rows = d.y * d.z
            concurrentChunks(rows) { range in
                let f = shared.value, m = src.value
                for r in range {
                    let base = r * n
                    var last = -1
                    for i in 0..<n {
                        if m[base + i] != 0 {
                            last = i
                            f[base + i] = 0
                        } else if last >= 0 {
                            let t = T(i - last) * w
                            f[base + i] = min(cap, t * t)
                        }
                    }
                    guard last >= 0 else { continue }
                    last = -1
                    for i in stride(from: n - 1, through: 0, by: -1) {
                        if m[base + i] != 0 {
                            last = i
                        } else if last >= 0 {
                            let t = T(last - i) * w
                            f[base + i] = min(f[base + i], cap, t * t)
                        }
                    }
                }
            }
        }
        if nearRows, T.self == Float.self, cap.isFinite {
            let rows = NearRows(spacingMM: feature.geometry.spacingMM, dims: d, capMM2: Float(cap))
            if rows.isCheaper {
                rows.run(UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: Float.self))
                return
            }
        }
        for axis in 1..<3 {
            let n = counts[axis], stride = strides[axis], w2 = sp[axis] * sp[axis]
            // Every line along `axis`: its start offset runs over the other two axes. Lines with
            // different `b` never share a voxel, so chunks of `b` run in parallel.
            let others = (0..<3).filter { $0 != axis }
            let countA = counts[others[0]], strideA = strides[others[0]], strideB = strides[others[1]]
            concurrentChunks(counts[others[1]]) { range in
                let f = shared.value
                // Scratch lines, allocated once per chunk; raw buffers keep the inner loops free of
                // bounds and exclusivity checks.
                let line = UnsafeMutableBufferPointer<T>.allocate(capacity: n),
                    out = UnsafeMutableBufferPointer<T>.allocate(capacity: n)
                let v = UnsafeMutableBufferPointer<Int>.allocate(capacity: n),
                    z = UnsafeMutableBufferPointer<T>.allocate(capacity: n + 1)
                defer {
                    line.deallocate()
                    out.deallocate()
                    v.deallocate()
                    z.deallocate()
                }
                for b in range {
                    for a in 0..<countA {
                        let base = a * strideA + b * strideB
                        var anyBelow = false
                        for i in 0..<n {
                            let x = f[base + i * stride]
                            line[i] = x
                            if x < cap { anyBelow = true }
                        }
                        // A line all at the cap stays at the cap.
                        guard anyBelow else { continue }
                        envelope(line, out, v, z, w2, cap)
                        for i in 0..<n { f[base + i * stride] = out[i] }
                    }
                }
            }
        }
    }
    return Volume(voxels: f, geometry: feature.geometry)
}

/// 1-D pass: out[q] = min(cap, min_p (line[p] + w2 (q - p)^2)) by the lower envelope of the
/// parabolas of the points below the cap (at least one). `v` (n) and `z` (n + 1) are scratch.
@inline(__always)
private func envelope<T: BinaryFloatingPoint>(
    _ f: UnsafeMutableBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>,
    _ v: UnsafeMutableBufferPointer<Int>, _ z: UnsafeMutableBufferPointer<T>, _ w2: T, _ cap: T
) {
    let n = f.count
    var first = 0
    while f[first] >= cap { first += 1 }
    var k = 0
    v[0] = first
    z[0] = -.infinity
    z[1] = .infinity
    var q = first + 1
    while q < n {
        // A zero with zeros on both sides is nearest only to itself: left out of the envelope
        // (the nearest zero at either end of its run serves every other point), it reads as
        // zero below. Feature runs are long in morphology, so this skips most of their points.
        if f[q] < cap && !(f[q] == 0 && q + 1 < n && f[q - 1] == 0 && f[q + 1] == 0) {
            var s: T
            repeat {
                let p = v[k]
                // Where the parabolas from p and q meet, from differences only.
                s = ((f[q] - f[p]) / w2 + T(q * q - p * p)) / T(2 * (q - p))
                if s <= z[k] { k -= 1 } else { break }
            } while k >= 0
            k += 1
            v[k] = q
            z[k] = s
            z[k + 1] = .infinity
        }
        q += 1
    }
    k = 0
    for q in 0..<n {
        while z[k + 1] < T(q) { k += 1 }
        let dq = T(q - v[k])
        out[q] = min(cap, f[q], f[v[k]] + w2 * dq * dq)
    }
}

/// The second and third passes for a small cap: along each axis, out(row q) = min over
/// |k| <= reach of in(row q + k) + w2 k², with whole x-rows at a time (contiguous, vectorised).
/// Offsets whose w2 k² reaches the cap cannot bring a value below it, so the result is exact
/// below the cap; it is the true minimum of the same Float sums the envelope forms (the
/// envelope can take a neighbour parabola at a near-tie: the two differ by a few ulps).
/// Cheaper than the envelope while the two reaches sum to under about 80 voxels (whole
/// transform of a 201 x 203 x 119 liver-like box; at 1.49 x 1.49 x 1.6 mm, reaches summing to
/// 17-19 took 0.25-0.45x the envelope's time, 39 0.55x, 57 0.72x, 81 0.99x; at 0.78 x 0.78 x
/// 2.5 mm, 74 0.85x and 106 1.10x); taken up to 48.
private struct NearRows {
    let dims: Dims, w2: (y: Float, z: Float), reach: (y: Int, z: Int)

    init(spacingMM: Vector3, dims: Dims, capMM2: Float) {
        self.dims = dims
        let sy = Float(spacingMM.y), sz = Float(spacingMM.z)
        w2 = (sy * sy, sz * sz)
        /// The largest offset whose w2 k² stays below the cap (at most the axis' length - 1).
        func reach(_ w2: Float, _ n: Int) -> Int {
            var k = 0
            while k + 1 < n && w2 * Float(k + 1) * Float(k + 1) < capMM2 { k += 1 }
            return k
        }
        self.reach = (reach(w2.y, dims.y), reach(w2.z, dims.z))
    }

    var isCheaper: Bool { reach.y + reach.z <= 48 }

    func run(_ f: UnsafeMutablePointer<Float>) {
        let nx = dims.x, slice = dims.x * dims.y
        // y: lines are the slices (rows nx apart); z: lines are the y rows (rows a slice apart).
        pass(f, n: dims.y, w2: w2.y, reach: reach.y, rowStride: nx, lineStride: slice, lines: dims.z)
        pass(f, n: dims.z, w2: w2.z, reach: reach.z, rowStride: slice, lineStride: nx, lines: dims.y)
    }

    private func pass(
        _ f: UnsafeMutablePointer<Float>, n: Int, w2: Float, reach: Int, rowStride: Int, lineStride: Int, lines: Int
    ) {
        guard reach > 0 else { return }
        let nx = dims.x, weights = (0...reach).map { w2 * Float($0) * Float($0) }
        let shared = UncheckedSendable(f)
        concurrentChunks(lines) { range in
            let f = shared.value
            // One line's rows are read around each output row: the result goes to scratch first.
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: n * nx)
            defer { scratch.deallocate() }
            for line in range {
                let base = f + line * lineStride
                for q in 0..<n {
                    let out = scratch + q * nx
                    out.initialize(from: base + q * rowStride, count: nx)  // Float: trivially re-initialised
                    for k in 1...reach {
                        // Both neighbours, or the one inside the axis twice; none: farther offsets
                        // lie outside too.
                        let below = q - k, above = q + k
                        guard below >= 0 || above < n else { break }
                        let lo = below >= 0 ? below : above, hi = above < n ? above : below
                        Self.lower(out, base + lo * rowStride, base + hi * rowStride, weights[k], nx)
                    }
                }
                for q in 0..<n { (base + q * rowStride).update(from: scratch + q * nx, count: nx) }
            }
        }
    }

    /// out[i] = min(out[i], a[i] + w, b[i] + w): written with plain comparisons so that it
    /// vectorises (Swift's variadic `min` and `pointwiseMin` did not).
    @inline(__always)
    private static func lower(
        _ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ w: Float, _ n: Int
    ) {
        for i in 0..<n {
            let x = out[i], y = a[i] + w, z = b[i] + w
            let m = y < z ? y : z
            out[i] = m < x ? m : x
        }
    }
}
