import Foundation
import VolumeModel

extension Filters {
    /// Squared Euclidean distance in mm² from every voxel to the nearest inside voxel of `m`,
    /// in Float and exact below `capMM2` (values at or above the cap mean "at least the cap"):
    /// what thresholded morphology needs, in half the memory of the exact Double transform
    /// (`squaredDistanceToFeatures`, kept for the metrics). Same separable lower-envelope method
    /// (Felzenszwalb & Huttenlocher); the parabolas' intersection is computed from differences
    /// of capped values and of integer squares, so Float keeps it to well under a voxel.
    public static func squaredDistanceMM2(to m: Mask, capMM2: Float) -> Volume<Float> {
        let d = m.dims
        let sp = [Float(m.geometry.spacingMM.x), Float(m.geometry.spacingMM.y), Float(m.geometry.spacingMM.z)]
        var f = [Float](repeating: capMM2, count: d.count)
        for v in 0..<f.count where m.voxels[v] != 0 { f[v] = 0 }
        let strides = [1, d.x, d.x * d.y], counts = [d.x, d.y, d.z]
        f.withUnsafeMutableBufferPointer { buffer in
            let shared = UncheckedSendable(buffer)
            for axis in 0..<3 {
                let n = counts[axis], stride = strides[axis], w2 = sp[axis] * sp[axis]
                let others = (0..<3).filter { $0 != axis }
                let countA = counts[others[0]], strideA = strides[others[0]], strideB = strides[others[1]]
                concurrentChunks(counts[others[1]]) { range in
                    let f = shared.value
                    let line = UnsafeMutableBufferPointer<Float>.allocate(capacity: n), out = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
                    let v = UnsafeMutableBufferPointer<Int>.allocate(capacity: n), z = UnsafeMutableBufferPointer<Float>.allocate(capacity: n + 1)
                    defer { line.deallocate(); out.deallocate(); v.deallocate(); z.deallocate() }
                    for b in range { for a in 0..<countA {
                        let base = a * strideA + b * strideB
                        var anyBelow = false
                        for i in 0..<n { let x = f[base + i * stride]; line[i] = x; if x < capMM2 { anyBelow = true } }
                        // A line all at the cap stays at the cap.
                        guard anyBelow else { continue }
                        cappedEnvelope(line, out, v, z, w2, capMM2)
                        for i in 0..<n { f[base + i * stride] = out[i] }
                    } }
                }
            }
        }
        return Volume(voxels: f, geometry: m.geometry)
    }
}

/// out[q] = min(cap, min_p (f[p] + w2 (q - p)^2)), with every f[p] <= cap.
@inline(__always)
private func cappedEnvelope(_ f: UnsafeMutableBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>,
                            _ v: UnsafeMutableBufferPointer<Int>, _ z: UnsafeMutableBufferPointer<Float>, _ w2: Float, _ cap: Float) {
    let n = f.count
    var k = 0
    v[0] = 0
    z[0] = -.infinity; z[1] = .infinity
    for q in 1..<max(1, n) {
        var s: Float
        repeat {
            let p = v[k]
            // Where the parabolas from p and q meet, from differences only.
            s = ((f[q] - f[p]) / w2 + Float(q * q - p * p)) / Float(2 * (q - p))
            if s <= z[k] { k -= 1 } else { break }
        } while k >= 0
        k += 1
        v[k] = q; z[k] = s; z[k + 1] = .infinity
    }
    k = 0
    for q in 0..<n {
        while z[k + 1] < Float(q) { k += 1 }
        let dq = Float(q - v[k])
        out[q] = min(cap, f[v[k]] + w2 * dq * dq)
    }
}
