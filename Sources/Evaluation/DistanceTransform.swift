import Foundation
import VolumeModel

/// Exact squared Euclidean distance transform in mm² (Felzenszwalb & Huttenlocher 2012,
/// "Distance transforms of sampled functions"): for every voxel, the squared distance to the
/// nearest voxel where `feature` is non-zero, with the grid's spacing on each axis. Separable:
/// one lower-envelope pass per axis. Voxels with no feature anywhere get `.infinity`.
public func squaredDistanceToFeatures(_ feature: Mask) -> Volume<Double> {
    let d = feature.dims
    let sp = [feature.geometry.spacingMM.x, feature.geometry.spacingMM.y, feature.geometry.spacingMM.z]
    var f = feature.voxels.map { $0 != 0 ? 0.0 : Double.infinity }
    let strides = [1, d.x, d.x * d.y], counts = [d.x, d.y, d.z]
    f.withUnsafeMutableBufferPointer { buffer in
        let shared = UncheckedSendable(buffer)
        for axis in 0..<3 {
            let n = counts[axis], stride = strides[axis], w2 = sp[axis] * sp[axis]
            // Every line along `axis`: its start offset runs over the other two axes. Lines with
            // different `b` never share a voxel, so chunks of `b` run in parallel.
            let others = (0..<3).filter { $0 != axis }
            let countA = counts[others[0]], strideA = strides[others[0]], strideB = strides[others[1]]
            concurrentChunks(counts[others[1]]) { range in
                let f = shared.value
                // Scratch lines, allocated once per chunk; raw buffers keep the inner loops free of
                // bounds and exclusivity checks.
                let line = UnsafeMutableBufferPointer<Double>.allocate(capacity: n), out = UnsafeMutableBufferPointer<Double>.allocate(capacity: n)
                let v = UnsafeMutableBufferPointer<Int>.allocate(capacity: n), z = UnsafeMutableBufferPointer<Double>.allocate(capacity: n + 1)
                defer { line.deallocate(); out.deallocate(); v.deallocate(); z.deallocate() }
                for b in range { for a in 0..<countA {
                    let base = a * strideA + b * strideB
                    for i in 0..<n { line[i] = f[base + i * stride] }
                    envelope(line, out, v, z, w2)
                    for i in 0..<n { f[base + i * stride] = out[i] }
                } }
            }
        }
    }
    return Volume(voxels: f, geometry: feature.geometry)
}

/// 1-D pass: out[q] = min_p (line[p] + w2 (q - p)^2), by the lower envelope of parabolas.
/// `v` (n) and `z` (n + 1) are scratch.
@inline(__always)
private func envelope(_ f: UnsafeMutableBufferPointer<Double>, _ out: UnsafeMutableBufferPointer<Double>,
                      _ v: UnsafeMutableBufferPointer<Int>, _ z: UnsafeMutableBufferPointer<Double>, _ w2: Double) {
    let n = f.count
    var first = 0
    while first < n && !f[first].isFinite { first += 1 }
    guard first < n else {
        for q in 0..<n { out[q] = .infinity }
        return
    }
    var k = 0
    v[0] = first
    z[0] = -.infinity; z[1] = .infinity
    var q = first + 1
    while q < n {
        if f[q].isFinite {
            let fq = f[q] + w2 * Double(q * q)
            var s: Double
            repeat {
                let p = v[k]
                s = (fq - (f[p] + w2 * Double(p * p))) / (2 * w2 * Double(q - p))
                if s <= z[k] { k -= 1 } else { break }
            } while k >= 0
            k += 1
            v[k] = q; z[k] = s; z[k + 1] = .infinity
        }
        q += 1
    }
    k = 0
    for q in 0..<n {
        while z[k + 1] < Double(q) { k += 1 }
        let dq = Double(q - v[k])
        out[q] = f[v[k]] + w2 * dq * dq
    }
}
