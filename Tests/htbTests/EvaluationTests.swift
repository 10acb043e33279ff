import Foundation
import Phantom
import Testing
import VolumeModel
import Volumetry

@testable import Evaluation

/// Segmentation metrics against simple reference implementations on random small volumes.
@Suite("Evaluation metrics")
struct EvaluationTests {
    static func grid(_ x: Int, _ y: Int, _ z: Int, _ s: Vector3) -> Geometry {
        Geometry(
            dims: Dims(x, y, z), originMM: .zero, spacingMM: s,
            axes: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)))
    }

    static func random(_ g: Geometry, density: Double, seed: UInt64) -> Mask {
        var rng = SeededGenerator(seed: seed)
        var m = Mask(repeating: 0, geometry: g)
        for v in 0..<m.voxels.count where rng.uniform() < density { m.voxels[v] = 1 }
        return m
    }

    /// Brute force: squared mm distance from every voxel to the nearest feature voxel.
    static func bruteForce(_ f: Mask) -> [Double] {
        let d = f.dims, s = f.geometry.spacingMM
        var features: [(Int, Int, Int)] = []
        for k in 0..<d.z { for j in 0..<d.y { for i in 0..<d.x where f[i, j, k] != 0 { features.append((i, j, k)) } } }
        var out: [Double] = []
        for k in 0..<d.z {
            for j in 0..<d.y {
                for i in 0..<d.x {
                    var best = Double.infinity
                    for (a, b, c) in features {
                        let dx = Double(i - a) * s.x, dy = Double(j - b) * s.y, dz = Double(k - c) * s.z
                        best = min(best, dx * dx + dy * dy + dz * dz)
                    }
                    out.append(best)
                }
            }
        }
        return out
    }

    @Test("distance transform equals brute force (anisotropic spacing)", arguments: [0.02, 0.1, 0.4, 0.8])
    func distanceTransform(density: Double) {
        let g = Self.grid(9, 7, 6, Vector3(0.7, 1.1, 2.5))
        for seed in 1...4 {
            let f = Self.random(g, density: density, seed: UInt64(seed) * 31 + UInt64(density * 100))
            let fast = squaredDistanceToFeatures(f).voxels, slow = Self.bruteForce(f)
            #expect(zip(fast, slow).allSatisfy { $0 == $1 || abs($0 - $1) < 1e-9 })
        }
        #expect(squaredDistanceToFeatures(Mask(repeating: 0, geometry: g)).voxels.allSatisfy { $0 == .infinity })
    }

    /// The capped Float transform morphology uses takes one of two paths for its second and
    /// third axes: rows of near offsets for a small cap, the envelope for a large one. Both must
    /// equal brute force below the cap and reach the cap beyond it.
    @Test("capped Float distances equal brute force below the cap, on both paths", arguments: [20.0, 1e6])
    func cappedDistances(cap: Double) {
        // The second grid's short axes are shorter than the small cap's reach: offsets on both
        // sides of a row can fall outside them.
        for (n, (g, density)) in [
            (Self.grid(30, 28, 26, Vector3(0.7, 1.1, 2.5)), 0.01), (Self.grid(30, 28, 26, Vector3(0.7, 1.1, 2.5)), 0.3),
            (Self.grid(30, 28, 26, Vector3(0.7, 1.1, 2.5)), 0.9), (Self.grid(17, 5, 3, Vector3(0.7, 1.1, 1.5)), 0.1),
        ].enumerated() {
            let f = Self.random(g, density: density, seed: UInt64(n) + 7)
            let fast = squaredDistancesMM2(to: f, capMM2: Float(cap)).voxels, slow = Self.bruteForce(f)
            let wrong = zip(fast, slow).filter { fast, slow in
                slow < cap ? abs(Double(fast) - slow) > 1e-4 * max(1, slow) : Double(fast) < cap * (1 - 1e-6)
            }
            #expect(
                wrong.isEmpty, "density \(density): \(wrong.count) voxels, first \(wrong.first.map { "\($0)" } ?? "")")
        }
    }

    @Test("overlap metrics on known shapes; surface distances against brute force")
    func overlap() throws {
        let g = Self.grid(12, 12, 8, Vector3(1, 1, 2.5))
        var a = Mask(repeating: 0, geometry: g), b = a
        for k in 2..<6 { for j in 2..<8 { for i in 2..<8 { a[i, j, k] = 1 } } }  // 144 voxels
        for k in 3..<7 { for j in 2..<8 { for i in 2..<8 { b[i, j, k] = 1 } } }  // shifted one slice (2.5 mm)
        let m = try Metrics.overlap(predicted: b, truth: a)
        #expect(abs(m.dice - 2 * 108.0 / 288) < 1e-12)
        #expect(abs(m.jaccard - 108.0 / 180) < 1e-12)
        #expect(m.relativeVolumeDifference == 0)
        #expect(abs(m.predictedVolumeML - 144 * 2.5 / 1000) < 1e-12)
        // Reference: brute-force surface distances, medpy's definitions.
        func reference(_ p: Mask, _ t: Mask) -> (assd: Double, hd95: Double) {
            let sp = Metrics.surface(p), st = Metrics.surface(t)
            let dpt = Self.bruteForce(st).enumerated().filter { sp.voxels[$0.offset] != 0 }.map {
                $0.element.squareRoot()
            }
            let dtp = Self.bruteForce(sp).enumerated().filter { st.voxels[$0.offset] != 0 }.map {
                $0.element.squareRoot()
            }
            return (
                (dpt.reduce(0, +) / Double(dpt.count) + dtp.reduce(0, +) / Double(dtp.count)) / 2,
                max(Metrics.percentile(dpt, 95), Metrics.percentile(dtp, 95))
            )
        }
        let r = reference(b, a)
        #expect(abs(m.averageSymmetricSurfaceDistanceMM! - r.assd) < 1e-9)
        #expect(abs(m.hausdorff95MM! - r.hd95) < 1e-9)
        for seed in 1...3 {
            let p = Self.random(g, density: 0.3, seed: UInt64(seed)),
                t = Self.random(g, density: 0.3, seed: UInt64(seed) + 100)
            let mm = try Metrics.overlap(predicted: p, truth: t), rr = reference(p, t)
            #expect(
                abs(mm.averageSymmetricSurfaceDistanceMM! - rr.assd) < 1e-9 && abs(mm.hausdorff95MM! - rr.hd95) < 1e-9)
        }
        // Identical masks: perfect; empty prediction: Dice 0, no distances.
        let same = try Metrics.overlap(predicted: a, truth: a)
        #expect(same.dice == 1 && same.hausdorff95MM == 0 && same.averageSymmetricSurfaceDistanceMM == 0)
        let empty = try Metrics.overlap(predicted: Mask(repeating: 0, geometry: g), truth: a)
        #expect(empty.dice == 0 && empty.hausdorff95MM == nil && empty.relativeVolumeDifference == -1)
    }

    @Test("lesion detection by overlap, all lesions and those of 10 mm and more")
    func detection() {
        let g = Self.grid(40, 40, 4, Vector3(1, 1, 3))
        var truth = Mask(repeating: 0, geometry: g), pred = truth
        func box(_ m: inout Mask, _ i0: Int, _ j0: Int, _ n: Int) {
            for k in 1..<3 { for j in j0..<(j0 + n) { for i in i0..<(i0 + n) { m[i, j, k] = 1 } } }
        }
        box(&truth, 2, 2, 12)  // 12 mm: found
        box(&truth, 20, 2, 12)  // 12 mm: missed
        box(&truth, 2, 25, 4)  // 4 mm: found
        box(&pred, 5, 5, 6)  // hits the first
        box(&pred, 3, 26, 2)  // hits the small one
        box(&pred, 25, 25, 12)  // false positive, 12 mm
        let t = components(of: truth), p = components(of: pred)
        let all = DetectionMetrics.compute(predicted: p, truth: t, geometry: g)
        #expect(all.truthLesions == 3 && all.detected == 2 && all.truePositives == 2 && all.predictedLesions == 3)
        #expect(abs(all.recall! - 2.0 / 3) < 1e-12 && abs(all.precision! - 2.0 / 3) < 1e-12)
        let big = DetectionMetrics.compute(predicted: p, truth: t, geometry: g, minimumDiameterMM: 10)
        #expect(big.truthLesions == 2 && big.detected == 1 && big.predictedLesions == 1 && big.truePositives == 0)
        #expect(big.recall == 0.5 && big.precision == 0 && big.f1 == 0)
    }
}
