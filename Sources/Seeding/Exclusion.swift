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
        var removed = Set<Int>()
        for point in points {
            let c = g.index(of: point.positionMM)
            let i = Int(c.x.rounded()), j = Int(c.y.rounded()), k = Int(c.z.rounded())
            guard (0..<d.x).contains(i), (0..<d.y).contains(j), (0..<d.z).contains(k) else {
                throw SeedError.misplaced(
                    source: point.source, reason: "\(point.positionMM) mm (LPS) lies outside the series' grid \(d)")
            }
            // The lesion holding the point, else the one of the nearest lesion voxel within reach.
            let at = i + d.x * (j + d.y * k)
            let nearestVoxel =
                lesions.voxels[at] != 0
                ? at : SeededGrowth.ball(around: at, radiusMM: reachMM, in: g).first { lesions.voxels[$0] != 0 }
            guard let v = nearestVoxel, let n = parts.index(holding: v) else {
                outcomes.append(
                    SeedOutcome(
                        seed: point, status: .notFound,
                        message:
                            "no automatic lesion holds the point or lies within \(Int(reachMM)) mm of it: nothing excluded"
                    ))
                continue
            }
            guard removed.insert(n).inserted else {
                outcomes.append(
                    SeedOutcome(
                        seed: point, status: .notFound,
                        message: "the lesion at the point was already excluded by an earlier point"))
                continue
            }
            for v in parts.voxels[n] { out.voxels[v] = 0 }
            let ml = Double(parts.voxels[n].count) * g.voxelVolumeMM3 / 1000
            let vi = v % d.x, vj = (v / d.x) % d.y, vk = v / d.sliceCount
            let distanceMM = v == at ? 0 : (g.positionMM(Double(vi), Double(vj), Double(vk)) - point.positionMM).length
            outcomes.append(
                SeedOutcome(
                    seed: point, status: .excluded,
                    message: String(
                        format: "automatic lesion of %.2f mL excluded%@", ml,
                        distanceMM > 0 ? String(format: " (%.1f mm from the point)", distanceMM) : ""),
                    volumeML: (ml * 10000).rounded() / 10000))
        }
        return Result(lesions: out, outcomes: outcomes)
    }
}

/// One seed per lesion at its deepest interior point (the voxel farthest from the lesion's edge;
/// the first in storage order on ties): where a reader would click, used by `qa --seeds-from-truth`.
public enum DeepestPoints {
    /// `lesions`: the lesion mask's components (as `Volumetry.measure` gives them).
    public static func seeds(of lesions: Components) -> [LesionSeed] {
        let g = lesions.geometry, d = g.dims
        return lesions.voxels.enumerated().map { n, voxels in
            // The lesion's box grown by a voxel: its edge's outside lies within.
            let box = VoxelBox.enclosing(voxels, in: d)!.expanded(byMM: 0, in: g)
            var outside = Mask(repeating: 1, geometry: g.cropped(to: box))
            for v in voxels { outside.voxels[box.local(v, in: d)] = 0 }
            let d2 = squaredDistancesMM2(to: outside, capMM2: 1e8).voxels
            let top = voxels.map { d2[box.local($0, in: d)] }.max()!
            let first = voxels.first { d2[box.local($0, in: d)] == top }!
            let i = first % d.x, j = (first / d.x) % d.y, k = first / d.sliceCount
            return LesionSeed(
                positionMM: g.positionMM(Double(i), Double(j), Double(k)), label: "lesion \(n + 1)",
                source: "deepest point of truth lesion \(n + 1)")
        }
    }
}
