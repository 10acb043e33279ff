import Foundation
import VolumeModel
import Volumetry

/// How far a segmentation is from the truth, on one grid.
public struct OverlapMetrics: Codable, Sendable, Equatable {
    public var dice: Double
    public var jaccard: Double
    /// (predicted - truth) / truth volume; nil when the truth is empty.
    public var relativeVolumeDifference: Double?
    /// Average symmetric surface distance (mm): the mean of the two directed mean distances
    /// between the surfaces (as medpy's `assd`); nil when one mask is empty.
    public var averageSymmetricSurfaceDistanceMM: Double?
    /// 95th-percentile Hausdorff distance (mm): the larger of the two directed 95th percentiles
    /// (as medpy's `hd95`); nil when one mask is empty.
    public var hausdorff95MM: Double?
    public var predictedVolumeML: Double
    public var truthVolumeML: Double

    enum CodingKeys: String, CodingKey {
        case dice, jaccard, relativeVolumeDifference = "relative_volume_difference"
        case averageSymmetricSurfaceDistanceMM = "assd_mm", hausdorff95MM = "hd95_mm"
        case predictedVolumeML = "predicted_volume_ml", truthVolumeML = "truth_volume_ml"
    }
}

public enum EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    case gridMismatch(String)
    public var description: String {
        switch self {
        case .gridMismatch(let d): return "prediction and truth are on different grids: \(d)"
        }
    }
}

public enum Metrics {
    /// Surface voxels: inside, with a face neighbour outside the mask or outside the grid.
    public static func surface(_ m: Mask) -> Mask {
        let d = m.dims
        var s = Mask(repeating: 0, geometry: m.geometry)
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x where m[i, j, k] != 0 {
                    let border = i == 0 || j == 0 || k == 0 || i == d.x - 1 || j == d.y - 1 || k == d.z - 1
                    if border || m[i - 1, j, k] == 0 || m[i + 1, j, k] == 0 || m[i, j - 1, k] == 0
                        || m[i, j + 1, k] == 0
                        || m[i, j, k - 1] == 0 || m[i, j, k + 1] == 0
                    {
                        s[i, j, k] = 1
                    }
                }
            }
        }
        return s
    }

    /// Distances (mm) from each surface voxel of `a` to the surface of `b`.
    static func directedSurfaceDistances(_ a: Mask, to b: Mask) -> [Double] {
        let sa = surface(a), dt = squaredDistanceToFeatures(surface(b))
        var out: [Double] = []
        for v in 0..<sa.voxels.count where sa.voxels[v] != 0 { out.append(dt.voxels[v].squareRoot()) }
        return out
    }

    static func percentile(_ xs: [Double], _ p: Double) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return 0 }
        // Linear interpolation between closest ranks (numpy's default).
        let r = p / 100 * Double(s.count - 1)
        let lo = Int(r.rounded(.down)), hi = Int(r.rounded(.up))
        return s[lo] + (s[hi] - s[lo]) * (r - Double(lo))
    }

    public static func overlap(predicted p: Mask, truth t: Mask) throws -> OverlapMetrics {
        guard p.geometry.matches(t.geometry, toleranceMM: maskGridToleranceMM) else {
            throw EvaluationError.gridMismatch("\(p.dims) vs \(t.dims)")
        }
        var inter = 0, np = 0, nt = 0
        for v in 0..<p.voxels.count {
            let a = p.voxels[v] != 0, b = t.voxels[v] != 0
            if a { np += 1 }
            if b { nt += 1 }
            if a && b { inter += 1 }
        }
        let vox = p.geometry.voxelVolumeMM3 / 1000
        let union = np + nt - inter
        var m = OverlapMetrics(
            dice: np + nt == 0 ? 1 : 2 * Double(inter) / Double(np + nt),
            jaccard: union == 0 ? 1 : Double(inter) / Double(union),
            relativeVolumeDifference: nt == 0 ? nil : Double(np - nt) / Double(nt),
            averageSymmetricSurfaceDistanceMM: nil, hausdorff95MM: nil,
            predictedVolumeML: Double(np) * vox, truthVolumeML: Double(nt) * vox)
        if np == 0 && nt == 0 {
            m.averageSymmetricSurfaceDistanceMM = 0
            m.hausdorff95MM = 0
        } else if np > 0 && nt > 0 {
            let pt = directedSurfaceDistances(p, to: t), tp = directedSurfaceDistances(t, to: p)
            m.averageSymmetricSurfaceDistanceMM =
                (pt.reduce(0, +) / Double(pt.count) + tp.reduce(0, +) / Double(tp.count)) / 2
            m.hausdorff95MM = max(percentile(pt, 95), percentile(tp, 95))
        }
        return m
    }
}

/// Lesion detection by overlap: a truth lesion is found when a predicted lesion shares a voxel
/// with it; a predicted lesion is right when it shares a voxel with a truth lesion.
public struct DetectionMetrics: Codable, Sendable, Equatable {
    public var truthLesions: Int
    public var predictedLesions: Int
    public var detected: Int
    public var truePositives: Int
    public var recall: Double?
    public var precision: Double?
    public var f1: Double?

    enum CodingKeys: String, CodingKey {
        case truthLesions = "truth_lesions", predictedLesions = "predicted_lesions", detected
        case truePositives = "true_positives", recall, precision, f1
    }

    /// `minimumDiameterMM`: recall over the truth lesions whose longest axial diameter reaches it,
    /// precision over the predicted lesions that reach it; either is matched against every
    /// lesion on the other side, whatever its size.
    public static func compute(
        predicted: Components, truth: Components, geometry g: Geometry,
        minimumDiameterMM: Double = 0
    ) -> DetectionMetrics {
        func big(_ voxels: [Int]) -> Bool {
            minimumDiameterMM <= 0 || axialDiameters(voxels: voxels, geometry: g).longestMM >= minimumDiameterMM
        }
        let p = predicted.voxels.filter(big), t = truth.voxels.filter(big)
        var truthOwner = [Int: Int](), anyTruth = Set<Int>(), anyPredicted = Set<Int>()
        for (n, voxels) in t.enumerated() { for v in voxels { truthOwner[v] = n } }
        for voxels in truth.voxels { anyTruth.formUnion(voxels) }
        for voxels in predicted.voxels { anyPredicted.formUnion(voxels) }
        var found = Set<Int>()
        for v in anyPredicted { if let n = truthOwner[v] { found.insert(n) } }
        let tp = p.filter { $0.contains(where: anyTruth.contains) }.count
        let recall = t.isEmpty ? nil : Double(found.count) / Double(t.count)
        let precision = p.isEmpty ? nil : Double(tp) / Double(p.count)
        var f1: Double?
        if let r = recall, let pr = precision { f1 = r + pr > 0 ? 2 * r * pr / (r + pr) : 0 }
        return DetectionMetrics(
            truthLesions: t.count, predictedLesions: p.count, detected: found.count, truePositives: tp,
            recall: recall, precision: precision, f1: f1)
    }
}
