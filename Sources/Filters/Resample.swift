import Foundation
import VolumeModel

extension Filters {
    /// `image` sampled at the voxel centres of `grid`, by trilinear interpolation in patient
    /// coordinates: both grids must be in one Frame of Reference (another phase of the same scan
    /// session; no registration is done). A point outside `image`'s voxel centres (beyond half a
    /// voxel of its edge, where there is nothing to interpolate between) takes `outside`, and
    /// `covered` says which did not. HU are rounded to whole units as the loader does. With
    /// `offsetMM`, the grid's point p takes `image`'s value at p + offset (what moved by that
    /// much between the two acquisitions comes back into place).
    public static func resample(
        _ image: CTVolume, onto grid: Geometry, offsetMM: Vector3 = Vector3(0, 0, 0), outside: Int16 = -1024
    ) -> (
        image: CTVolume, covered: Mask
    ) {
        let src = image.geometry, d = src.dims, t = grid.dims
        // The source index is affine in the target index: base + i*di + j*dj + k*dk.
        func at(_ i: Double, _ j: Double, _ k: Double) -> Vector3 { src.index(of: grid.positionMM(i, j, k) + offsetMM) }
        let base = at(0, 0, 0), di = at(1, 0, 0) - base, dj = at(0, 1, 0) - base, dk = at(0, 0, 1) - base
        var out = [Int16](repeating: outside, count: t.count)
        var inside = [UInt8](repeating: 0, count: t.count)
        let voxels = image.voxels
        let sx = d.x, sxy = d.x * d.y
        // A half-voxel tolerance at the edges: the edge voxel's own value (nearest) there.
        let hi = (Double(d.x - 1), Double(d.y - 1), Double(d.z - 1))
        out.withUnsafeMutableBufferPointer { o in
            inside.withUnsafeMutableBufferPointer { c in
                let ob = UncheckedSendable(o), cb = UncheckedSendable(c)
                voxels.withUnsafeBufferPointer { v in
                    let vb = UncheckedSendable(v)
                    concurrentChunks(t.z * t.y) { rows in
                        for row in rows {
                            let j = row % t.y, k = row / t.y
                            let start = base + dj * Double(j) + dk * Double(k)
                            for i in 0..<t.x {
                                let p = start + di * Double(i)
                                guard p.x > -0.5, p.y > -0.5, p.z > -0.5, p.x < hi.0 + 0.5, p.y < hi.1 + 0.5,
                                    p.z < hi.2 + 0.5
                                else { continue }
                                let x = min(max(p.x, 0), hi.0), y = min(max(p.y, 0), hi.1), z = min(max(p.z, 0), hi.2)
                                let x0 = min(Int(x), max(d.x - 2, 0)), y0 = min(Int(y), max(d.y - 2, 0))
                                let z0 = min(Int(z), max(d.z - 2, 0))
                                let fx = x - Double(x0), fy = y - Double(y0), fz = z - Double(z0)
                                let x1 = min(x0 + 1, d.x - 1), y1 = min(y0 + 1, d.y - 1), z1 = min(z0 + 1, d.z - 1)
                                func value(_ a: Int, _ b: Int, _ e: Int) -> Double {
                                    Double(vb.value[a + sx * b + sxy * e])
                                }
                                let c00 = value(x0, y0, z0) * (1 - fx) + value(x1, y0, z0) * fx
                                let c10 = value(x0, y1, z0) * (1 - fx) + value(x1, y1, z0) * fx
                                let c01 = value(x0, y0, z1) * (1 - fx) + value(x1, y0, z1) * fx
                                let c11 = value(x0, y1, z1) * (1 - fx) + value(x1, y1, z1) * fx
                                let c0 = c00 * (1 - fy) + c10 * fy, c1 = c01 * (1 - fy) + c11 * fy
                                let n = i + t.x * row
                                ob.value[n] = Int16(clamping: Int((c0 * (1 - fz) + c1 * fz).rounded()))
                                cb.value[n] = 1
                            }
                        }
                    }
                }
            }
        }
        return (CTVolume(voxels: out, geometry: grid), Mask(voxels: inside, geometry: grid))
    }
}
