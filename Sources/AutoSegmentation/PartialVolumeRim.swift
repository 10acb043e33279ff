import Foundation
import VolumeModel

/// The liver's partial-volume rim: a voxel just outside the liver that is more than half liver.
///
/// A voxel on the surface averages the liver and what lies beyond it; it belongs to the liver
/// (as a voxel-centre truth and an unbiased volume count both have it) when more than half of it
/// is liver, that is when its value lies past the midpoint between the two tissues. The liver
/// steps cut the band on the liver's own statistics, so they stop one voxel short wherever the
/// neighbour is darker (fat, muscle, bowel, the lung at the dome). Here, in the CT's own slices,
/// a voxel outside the liver whose in-plane neighbour on one side is liver and on the other side
/// is not joins when that far neighbour is darker than the local liver by more than 20 HU and the
/// voxel lies at or above their midpoint. The local liver is the mean of the liver's voxels in
/// the 5 x 5 window around the liver neighbour; the voxel and the far neighbour are each averaged
/// with their two neighbours along the surface (against noise, without mixing across it). Only
/// in-plane: across thick slices the surface is too oblique for one voxel's value to say which
/// side of it the centre lies (tried with the slice neighbours too: 1720 0.951 -> 0.936).
/// Decided on the liver as it came, one voxel deep; brighter neighbours (kidney, vessels) never
/// add.
enum PartialVolumeRim {
    static let minimumContrastHU: Float = 20

    /// The liver with its rim, and the lesions with the rim voxels whose liver neighbour is lesion
    /// (a voxel half tumour is tumour's); all on the CT's grid. `added`: the rim's voxels.
    static func add(to liver: Mask, lesions: Mask, ct: CTVolume) -> (liver: Mask, lesions: Mask, added: Int) {
        let d = liver.dims
        precondition(ct.dims == d && lesions.dims == d, "the CT and the masks must share the grid")
        var out = liver, outLesions = lesions
        var perSlice = [Int](repeating: 0, count: d.z)
        guard let box = liver.boundingBox else { return (out, outLesions, 0) }
        let nx = d.x, ny = d.y
        let i0 = max(0, box.lo.x - 1), i1 = min(nx - 1, box.lo.x + box.dims.x), j0 = max(0, box.lo.y - 1),
            j1 = min(ny - 1, box.lo.y + box.dims.y)
        let slices = box.lo.z..<(box.lo.z + box.dims.z)
        liver.voxels.withUnsafeBufferPointer { m in
            lesions.voxels.withUnsafeBufferPointer { les in
                ct.voxels.withUnsafeBufferPointer { c in
                    out.voxels.withUnsafeMutableBufferPointer { o in
                        outLesions.voxels.withUnsafeMutableBufferPointer { ol in
                            perSlice.withUnsafeMutableBufferPointer { counts in
                                let shared = UncheckedSendable((m, les, c, o, ol, counts))
                                // Slices are independent: each worker writes its own.
                                concurrentChunks(slices.count) { chunk in
                                    let (m, les, c, o, ol, counts) = shared.value
                                    for k in chunk.map({ $0 + slices.lowerBound }) {
                                        let base = k * d.sliceCount
                                        func value(_ i: Int, _ j: Int) -> Float { Float(c[base + i + nx * j]) }
                                        for j in j0...j1 {
                                            for i in i0...i1 where m[base + i + nx * j] == 0 {
                                                let v = base + i + nx * j
                                                guard
                                                    (i + 1 < nx && m[v + 1] != 0) || (i > 0 && m[v - 1] != 0)
                                                        || (j + 1 < ny && m[v + nx] != 0) || (j > 0 && m[v - nx] != 0)
                                                else { continue }
                                                // Each in-plane direction towards the liver: (di, dj).
                                                for direction in 0..<4 {
                                                    let di = direction == 0 ? 1 : direction == 1 ? -1 : 0
                                                    let dj = direction == 2 ? 1 : direction == 3 ? -1 : 0
                                                    let li = i + di, lj = j + dj, oi = i - di, oj = j - dj
                                                    guard li >= 0, li < nx, lj >= 0, lj < ny, oi >= 0, oi < nx, oj >= 0,
                                                        oj < ny
                                                    else { continue }
                                                    guard m[base + li + nx * lj] != 0, m[base + oi + nx * oj] == 0
                                                    else { continue }
                                                    // Along the surface: the other in-plane axis.
                                                    let ti = dj != 0 ? 1 : 0, tj = di != 0 ? 1 : 0
                                                    func along(_ a: Int, _ b: Int) -> Float {
                                                        var sum: Float = 0, n: Float = 0
                                                        for s in -1...1 {
                                                            let x = a + s * ti, y = b + s * tj
                                                            guard x >= 0, x < nx, y >= 0, y < ny else { continue }
                                                            sum += value(x, y)
                                                            n += 1
                                                        }
                                                        return sum / n
                                                    }
                                                    var sum: Float = 0, count: Float = 0
                                                    for y in max(0, lj - 2)...min(ny - 1, lj + 2) {
                                                        for x in max(0, li - 2)...min(nx - 1, li + 2)
                                                        where m[base + x + nx * y] != 0 {
                                                            sum += value(x, y)
                                                            count += 1
                                                        }
                                                    }
                                                    let local = sum / count, far = along(oi, oj)
                                                    if far < local - minimumContrastHU
                                                        && along(i, j) >= (local + far) / 2
                                                    {
                                                        o[base + i + nx * j] = 1
                                                        counts[k] += 1
                                                        if les[base + li + nx * lj] != 0 { ol[base + i + nx * j] = 1 }
                                                        break
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, outLesions, perSlice.reduce(0, +))
    }
}
