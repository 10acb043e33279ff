import Filters
import Foundation
import VolumeModel
import Volumetry

/// Structures that leave the liver downwards: the IVC, bowel, a kidney's pole.
///
/// The liver's main body is followed slice by slice from its largest slice downwards (in each
/// slice, the in-plane region that overlaps most the main body of the slice above; it ends
/// where no region overlaps). What lies beside the main body in those slices and below them
/// forms 3D parts; a part that reaches more than 15 mm below the main body's lowest slice is a
/// structure leaving the liver, not liver (nothing of the liver hangs below its own lowest point
/// apart from it), and is removed whole. In the delayed phase the IVC has the liver's density,
/// runs through its bare area and down beside the spine: this is where it is cut. Below the main
/// body the part must look like a tube (no slice of it wider than 15 cm²), so a lobe's tip that
/// the main body's path did not follow is never cut.
enum InferiorTail {
    static let minimumExtentMM = 15.0
    static let maximumTubeAreaMM2 = 1500.0

    /// The liver without such parts, and the volume removed (mL).
    static func remove(_ liver: Mask) -> (liver: Mask, removedML: Double) {
        let g = liver.geometry, d = g.dims
        // Which way is down: the slice axis' head-foot component (LPS +z is the head).
        let up = g.axes.2.z
        guard abs(up) > 0.5, d.z > 1 else { return (liver, 0) }
        // Slices from head to foot.
        let order = up > 0 ? Array((0..<d.z).reversed()) : Array(0..<d.z)
        var areas = [Int](repeating: 0, count: d.z)
        for v in 0..<liver.voxels.count where liver.voxels[v] != 0 { areas[v / d.sliceCount] += 1 }
        guard let topPosition = order.indices.max(by: { areas[order[$0]] < areas[order[$1]] }),
            areas[order[topPosition]] > 0
        else { return (liver, 0) }
        var main = Mask(repeating: 0, geometry: g)
        var previous: [Bool] = []
        var endPosition = topPosition
        for position in topPosition..<order.count {
            let k = order[position], base = k * d.sliceCount
            let (labels, count) = Filters.sliceRegions(liver, slice: k)
            guard count > 0 else { break }
            var score = [Int](repeating: 0, count: count + 1)
            for p in 0..<d.sliceCount where labels[p] != 0 {
                score[Int(labels[p])] += position == topPosition ? 1 : (previous[p] ? 1 : 0)
            }
            guard let best = (1...count).max(by: { score[$0] < score[$1] }), score[best] > 0 else { break }
            previous = labels.map { $0 == Int32(best) }
            for p in 0..<d.sliceCount where previous[p] { main.voxels[base + p] = 1 }
            endPosition = position
        }
        // Beside the main body, from its largest slice down.
        var beside = Mask(repeating: 0, geometry: g)
        for position in topPosition..<order.count {
            let base = order[position] * d.sliceCount
            for p in 0..<d.sliceCount where liver.voxels[base + p] != 0 && main.voxels[base + p] == 0 {
                beside.voxels[base + p] = 1
            }
        }
        var positionOf = [Int](repeating: 0, count: d.z)
        for (position, k) in order.enumerated() { positionOf[k] = position }
        let stepMM = g.spacingMM.z
        // A pixel's area (its parallelogram: rows and columns need not be square to each other).
        let pixelMM2 = g.spacingMM.x * g.spacingMM.y * g.axes.0.cross(g.axes.1).length
        var out = liver
        var removed = 0
        for part in components(of: beside, connectivity: .faces6).voxels {
            let lowest = part.reduce(0) { max($0, positionOf[$1 / d.sliceCount]) }
            guard Double(lowest - endPosition) * stepMM > minimumExtentMM else { continue }
            // Below the main body it must be tube-like: no slice wider than 15 cm² (a lobe's tip
            // that the main body's path missed is broader where it leaves the body).
            var below = [Int](repeating: 0, count: d.z)
            for v in part where positionOf[v / d.sliceCount] > endPosition { below[v / d.sliceCount] += 1 }
            guard below.allSatisfy({ Double($0) * pixelMM2 <= maximumTubeAreaMM2 }) else { continue }
            for v in part { out.voxels[v] = 0 }
            removed += part.count
        }
        return (out, Double(removed) * g.voxelVolumeMM3 / 1000)
    }
}
