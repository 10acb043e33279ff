import Evaluation
import Foundation
import VolumeModel
import Volumetry

/// One-click veto: `--exclude-lesion X,Y,Z` removes the automatic lesion that holds the point,
/// or else the nearest one within 10 mm; a point with none is reported, not ignored.
public enum LesionExclusion {
    public static let reachMM = 10.0

    public struct Result: Sendable {
        public var lesions: Mask
        public var outcomes: [SeedOutcome]
    }

    /// `points` must lie on the grid (a usage error otherwise, as for seeds); air is allowed (a
    /// false lesion may sit at the liver's edge against the lung).
    public static func exclude(_ points: [LesionSeed], from lesions: Mask, connectivity: Connectivity) throws -> Result
    {
        let g = lesions.geometry, d = g.dims
        var out = lesions
        var outcomes: [SeedOutcome] = []
        let parts = components(of: lesions, connectivity: connectivity)
        var owner = [Int32](repeating: -1, count: d.count)
        for (n, c) in parts.voxels.enumerated() { for v in c { owner[v] = Int32(n) } }
        for point in points {
            let c = g.index(of: point.positionMM)
            let i = Int(c.x.rounded()), j = Int(c.y.rounded()), k = Int(c.z.rounded())
            guard (0..<d.x).contains(i), (0..<d.y).contains(j), (0..<d.z).contains(k) else {
                throw SeedError.misplaced(
                    source: point.source, reason: "\(point.positionMM) mm (LPS) lies outside the series' grid \(d)")
            }
            let at = i + d.x * (j + d.y * k)
            var hit = owner[at] >= 0 ? Int(owner[at]) : nil, distanceMM = 0.0
            if hit == nil {
                // The nearest lesion voxel within reach.
                let ball = SeededGrowth.ball(around: at, radiusMM: reachMM, in: g)
                if let v = ball.first(where: { owner[$0] >= 0 }) {
                    hit = Int(owner[v])
                    let vi = v % d.x, vj = (v / d.x) % d.y, vk = v / d.sliceCount
                    distanceMM = (g.positionMM(Double(vi), Double(vj), Double(vk)) - point.positionMM).length
                }
            }
            guard let n = hit else {
                outcomes.append(
                    SeedOutcome(
                        seed: point, status: .notFound,
                        message:
                            "no automatic lesion holds the point or lies within \(Int(reachMM)) mm of it: nothing excluded"
                    ))
                continue
            }
            let removed = parts.voxels[n].filter { out.voxels[$0] != 0 }
            for v in parts.voxels[n] { out.voxels[v] = 0 }
            let ml = Double(parts.voxels[n].count) * g.voxelVolumeMM3 / 1000
            outcomes.append(
                SeedOutcome(
                    seed: point, status: removed.isEmpty ? .notFound : .excluded,
                    message: removed.isEmpty
                        ? "the lesion at the point was already excluded by an earlier point"
                        : String(
                            format: "automatic lesion of %.2f mL excluded%@", ml,
                            distanceMM > 0 ? String(format: " (%.1f mm from the point)", distanceMM) : ""),
                    volumeML: removed.isEmpty ? nil : (ml * 10000).rounded() / 10000))
        }
        return Result(lesions: out, outcomes: outcomes)
    }
}

/// One seed per lesion at its deepest interior point (the voxel farthest from the lesion's edge;
/// the first in storage order on ties): where a reader would click, used by `qa --seeds-from-truth`.
public enum DeepestPoints {
    public static func seeds(of lesions: Mask, connectivity: Connectivity = .full26) -> [LesionSeed] {
        let g = lesions.geometry, d = g.dims
        return components(of: lesions, connectivity: connectivity).voxels.enumerated().map { n, voxels in
            let box = VoxelBox.enclosing(voxels, in: d)!.expanded(byMM: 0, in: g)
            let b = VoxelBox(
                lo: (max(0, box.lo.x - 1), max(0, box.lo.y - 1), max(0, box.lo.z - 1)),
                dims: Dims(
                    min(d.x, box.lo.x + box.dims.x + 1) - max(0, box.lo.x - 1),
                    min(d.y, box.lo.y + box.dims.y + 1) - max(0, box.lo.y - 1),
                    min(d.z, box.lo.z + box.dims.z + 1) - max(0, box.lo.z - 1)))
            var outside = Mask(repeating: 1, geometry: g.cropped(to: b))
            for v in voxels { outside.voxels[b.local(v, in: d)] = 0 }
            let d2 = squaredDistancesMM2(to: outside, capMM2: 1e8).voxels
            let best = voxels.max { d2[b.local($0, in: d)] < d2[b.local($1, in: d)] || false }!
            // `max` returns the last of equal maxima: take the first in storage order instead.
            let top = d2[b.local(best, in: d)]
            let first = voxels.first { d2[b.local($0, in: d)] == top }!
            let i = first % d.x, j = (first / d.x) % d.y, k = first / d.sliceCount
            return LesionSeed(
                positionMM: g.positionMM(Double(i), Double(j), Double(k)), label: "lesion \(n + 1)",
                source: "deepest point of truth lesion \(n + 1)")
        }
    }
}
