import Filters
import Foundation
import VolumeModel
import Volumetry

/// Lesions inside a liver mask: regions darker than the parenchyma, compact, at least 5 mm.
///
/// On the block-averaged grid: smoothing (Gaussian, 2 mm); parenchyma statistics (histogram mode
/// and robust SD) from the liver eroded by 3 mm, so the partial-volume rim does not bias them;
/// "dark" = inside the liver and below mode - max(2 SD, 10 HU). Seeds are the dark voxels deeper
/// than 3 mm in the liver and 3 mm in the dark region (an opening that drops rims, fissures and
/// thin vessels); seeds of fewer than 4 voxels and seed components elongated like vessels (principal-axis ratio > 2.5) are
/// rejected. Seeds come first from the voxels darker still, below mode - max(2.5 SD, 10 HU), and
/// only where none of those is kept from the dark region itself (hysteresis, htb-auto/20: see
/// `seedContrastSD`); kept seeds regrow up to 7 mm (from the opened seed) within the dark region, and regions smaller than a
/// 5 mm sphere are dropped. Hyper-enhancing lesions: the same on regions brighter than
/// mode + max(3 SD, 20 HU), with seeds of at least 0.1 mL (the same principal-axis ratio: a
/// lesion on the liver's edge is cut into a cap, and a stricter 2 rejected it) that fill at least a
/// quarter of their principal-axes ellipsoid (branching vessels make a network, htb-auto/37). Finally each lesion takes
/// in its margin: voxels within 5 mm that lie more than max(1.5 SD, 10 HU) from the parenchyma mode, darker
/// or brighter (enhancing rims, capsules, calcifications, partial volume at the edge), and the
/// result is opened by 3 mm (tails grown along fissures and the hilum's fat are cut). Lesions too
/// small for this (under about 8 mm, or 20 mm when hyper-enhancing) come from `SmallLesions`.
public enum LesionSegmenter {
    public struct Result: Sendable {
        public var lesions: Mask
        public var modeHU: Float?
        public var robustSDHU: Float?
        public var thresholdHU: Float?
        public var brightThresholdHU: Float?
        public var rejectedElongated: Int
        /// Lesions found by the small-lesion step (`SmallLesions`).
        public var smallLesions: Int = 0
    }

    public static let smoothingSigmaMM = 2.0
    public static let rimMM = 3.0
    public static let minimumContrastSD: Float = 2
    public static let minimumContrastHU: Float = 10
    public static let seedDepthMM = 3.0
    /// Dark seeds are looked for first below mode - max(2.5 SD, 10 HU), then, where none of those
    /// is kept, in the whole dark region (below 2 SD). A lesion's core lies far below the 2 SD
    /// threshold; a band of parenchyma just under it (partial volume along a fissure or the
    /// stomach) does not. From the 2 SD region alone, noise can join such a band to the lesion's
    /// seed: on IRCADb with 10 HU more noise, one draw in six lost its 79 mL lesion that way (the
    /// joined seed too elongated; lesion Dice 0.265, HTB error 6.07, liver Dice 0.917) and another
    /// took 40 mL of the band (0.541, 1.96). The fallback keeps a lesion whose stricter core is
    /// elongated while its 2 SD seed is not (a sweep phantom's two-lobed 40 mL lesion).
    public static let seedContrastSD: Float = 2.5
    public static let regrowMM = 7.0
    public static let maximumElongation = 2.5
    /// Extra erosions that split a lesion from a vessel or fissure it touches (see `blobs`).
    public static let splitStepsMM = [3.0, 6.0, 9.0]
    public static let minimumDiameterMM = 5.0
    /// Hyper-enhancing lesions: brighter than mode + max(3 SD, 20 HU), seeds of >= 0.1 mL and the
    /// dark seeds' principal-axis ratio (htb-auto/8; 2 before, as enhancing vessels are the liver's
    /// usual bright structure, but a hyper-enhancing lesion on the automatic liver's edge is a cap
    /// of ratio 2.3-2.5 and was rejected; vessels are thinner than the 3 mm seed depth or longer).
    public static let brightContrastSD: Float = 3
    public static let brightContrastHU: Float = 20
    public static let minimumBrightSeedML = 0.1
    /// A bright seed, or a part split from one, must fill this share of its principal-axes
    /// ellipsoid (`fill`, htb-auto/37): a lesion is a solid, while branching vessels (hepatic
    /// veins meeting at the vena cava, 10-12 mm thick there, deeper than the seed depth) make a
    /// network whose moments span far more than its voxels fill (a fine response pair's baseline:
    /// a 14.5 mL seed of fill 0.11 became a 25 mL "lesion"). The surface step's `minimumFill`.
    public static let minimumBrightFill = 0.25
    /// Lesion margin: within 5 mm of a lesion, voxels more than max(1.5 SD, 10 HU) from the
    /// parenchyma mode. The floor is the lesion step's own least contrast (`minimumContrastHU`):
    /// without it, an image with little noise (robust SD 3-4 HU on the working grid: a CT's 0.9 mm
    /// pixels with a low-noise reconstruction) put the margin 5 HU from the parenchyma, far out on
    /// a lesion's blurred edge, and every lesion grew by 2-5 mm (htb-auto/29; a floor never reached
    /// on the coarse sweep, whose SD is 9-19 HU, nor on the real studies', 6.6-8.2 HU).
    public static let marginMM = 5.0
    public static let openingMM = 3.0
    public static let marginContrastSD: Float = 1.5

    /// `smallLesions`: run `SmallLesions` (off only in ablation studies).
    public static func segment(_ ct: CTVolume, liver: Mask, smallLesions: Bool = true) -> Result {
        // All of the work lies within the liver's box; 10 mm more covers the smoothing's reach.
        guard let box = liver.boundingBox?.expanded(byMM: 10, in: ct.geometry) else {
            return Result(lesions: Mask(repeating: 0, geometry: ct.geometry), rejectedElongated: 0)
        }
        var r = segmentWithin(ct.cropped(to: box), liver: liver.cropped(to: box), smallLesions: smallLesions)
        r.lesions = Mask(repeating: 0, geometry: ct.geometry).pasting(r.lesions, at: box)
        return r
    }

    static func segmentWithin(_ ct: CTVolume, liver: Mask, smallLesions: Bool = true) -> Result {
        let g = ct.geometry
        let empty = Mask(repeating: 0, geometry: g)
        let smooth = Filters.gaussian(ct, sigmaMM: smoothingSigmaMM)
        var inner = Filters.erode(liver, radiusMM: rimMM)
        if inner.insideCount < 100 { inner = liver }
        guard let (mode, sd) = Filters.mode(smooth, within: inner, lo: -50, hi: 250) else {
            return Result(lesions: empty, rejectedElongated: 0)
        }
        let threshold = mode - max(minimumContrastSD * sd, minimumContrastHU)
        let seedThreshold = mode - max(seedContrastSD * sd, minimumContrastHU)
        let brightThreshold = mode + max(brightContrastSD * sd, brightContrastHU)
        var dark = empty, darkSeeds = empty, bright = empty
        for v in 0..<dark.voxels.count where liver.voxels[v] != 0 {
            let x = smooth.voxels[v]
            if x < threshold {
                dark.voxels[v] = 1
                if x < seedThreshold { darkSeeds.voxels[v] = 1 }
            } else if x > brightThreshold {
                bright.voxels[v] = 1
            }
        }
        var rejected = 0
        let darkLesions = blobs(
            in: dark, seedsFirstIn: darkSeeds, inner: inner, maximumElongation: maximumElongation, minimumSeedML: 0,
            splitting: [], rejected: &rejected)
        let brightLesions = blobs(
            in: bright, inner: inner, maximumElongation: maximumElongation, minimumSeedML: minimumBrightSeedML,
            minimumFill: minimumBrightFill, splitting: splitStepsMM,
            cavities: necrosis(smooth, in: liver), rejected: &rejected)
        var grown = darkLesions.union(brightLesions)
        // The margin: voxels near a lesion that do not look like parenchyma (rims, capsules,
        // calcifications, partial volume at the edge) belong to it.
        var margin = Filters.dilate(grown, radiusMM: marginMM)
        let marginLimit = max(marginContrastSD * sd, minimumContrastHU)
        for v in 0..<margin.voxels.count
        where liver.voxels[v] == 0 || abs(smooth.voxels[v] - mode) <= marginLimit { margin.voxels[v] = 0 }
        grown = grown.union(margin)
        // Opening by 3 mm: lesions are compact; thin tails grown along fissures and the hilum's
        // fat and ducts are not lesion.
        var out = withoutSmallRegions(Filters.open(grown, radiusMM: openingMM))
        let small =
            smallLesions
            ? SmallLesions.find(ct, liver: liver, inner: inner, modeHU: mode, taken: out)
            : (lesions: Mask(repeating: 0, geometry: g), count: 0)
        out = out.union(small.lesions)
        return Result(
            lesions: out, modeHU: mode, robustSDHU: sd, thresholdHU: threshold, brightThresholdHU: brightThreshold,
            rejectedElongated: rejected, smallLesions: small.count)
    }

    /// `m` without the regions (6-connected) smaller than a sphere of `minimumDiameterMM`.
    static func withoutSmallRegions(_ m: Mask) -> Mask {
        let minimumVoxels = Double.pi / 6 * pow(minimumDiameterMM, 3) / m.geometry.voxelVolumeMM3
        var out = Mask(repeating: 0, geometry: m.geometry)
        for c in components(of: m, connectivity: .faces6).voxels where Double(c.count) >= minimumVoxels {
            for v in c { out.voxels[v] = 1 }
        }
        return out
    }

    /// Compact regions of `region`: seeds deeper than `seedDepthMM` in it and in `inner`, of at
    /// least 4 voxels and `minimumSeedML`, no more elongated than `maximumElongation`, regrown by
    /// `regrowMM` within `region`. With `seedsFirstIn` (a part of `region`), its seeds that pass
    /// are kept first, and a seed of `region` only where it holds none of them (see
    /// `seedContrastSD`). A seed too elongated may be a lesion joined to a vessel (or a
    /// fissure): it is eroded further, by `splitStepsMM`, and the compact parts that appear (the
    /// lesion outlasts the thinner tube) are kept and regrown by `regrowMM` plus the extra depth.
    static func blobs(
        in region: Mask, seedsFirstIn first: Mask? = nil, inner: Mask, maximumElongation: Double, minimumSeedML: Double,
        minimumFill: Double = 0, splitting steps: [Double], cavities cavityTissue: Mask? = nil, rejected: inout Int
    ) -> Mask {
        let g = region.geometry
        // A seed's shape is judged with the `cavityTissue` it wraps: a ring-enhancing lesion's rim
        // is a shell that fills little of its ellipsoid, its rim and necrosis together a ball.
        func compact(_ c: [Int]) -> Bool {
            let solid = cavityTissue.map { withCavities(c, g, tissue: $0) } ?? c
            return elongation(solid, g) <= maximumElongation && (minimumFill == 0 || fill(solid, g) >= minimumFill)
        }
        let minimumVoxels = max(4, minimumSeedML * 1000 / g.voxelVolumeMM3)
        func seeds(_ m: Mask) -> [[Int]] {
            var deep = m
            for v in 0..<deep.voxels.count where inner.voxels[v] == 0 { deep.voxels[v] = 0 }
            // Seeds of fewer than 4 voxels have no shape to judge and are mostly noise: dropped.
            return components(of: Filters.erode(deep, radiusMM: seedDepthMM), connectivity: .faces6).voxels.filter {
                Double($0.count) >= minimumVoxels
            }
        }
        var kept = Mask(repeating: 0, geometry: g)
        for c in first.map(seeds) ?? [] where compact(c) {
            for v in c { kept.voxels[v] = 1 }
        }
        var elongated = Mask(repeating: 0, geometry: g), elongatedSeeds: [[Int]] = []
        // `region`'s seeds are disjoint: one holding a kept voxel holds one of `first`'s seeds.
        for c in seeds(region) where !c.contains(where: { kept.voxels[$0] != 0 }) {
            if compact(c) {
                for v in c { kept.voxels[v] = 1 }
            } else {
                for v in c { elongated.voxels[v] = 1 }
                elongatedSeeds.append(c)
            }
        }
        var grown = Filters.dilate(kept, radiusMM: regrowMM)
        var split = Mask(repeating: 0, geometry: g)
        let deeper = steps.isEmpty || elongatedSeeds.isEmpty ? [] : Filters.erode(elongated, radiiMM: steps)
        for (extra, eroded) in zip(steps, deeper) {
            var found = Mask(repeating: 0, geometry: g)
            for c in components(of: eroded, connectivity: .faces6).voxels
            where Double(c.count) >= minimumVoxels && compact(c)
                && !c.contains(where: { split.voxels[$0] != 0 })
            {
                for v in c { found.voxels[v] = 1 }
            }
            guard found.insideCount > 0 else { continue }
            split = split.union(Filters.dilate(found, radiusMM: extra))
            grown = grown.union(Filters.dilate(found, radiusMM: regrowMM + extra))
        }
        // What stayed elongated at every depth is a vessel (or a fissure).
        rejected += elongatedSeeds.filter { c in !c.contains { split.voxels[$0] != 0 } }.count
        for v in 0..<grown.voxels.count where region.voxels[v] == 0 { grown.voxels[v] = 0 }
        return grown
    }

    /// Necrosis within `region`: tissue between water and unenhanced soft tissue
    /// (`necrosisHU`), as a tumour's dead centre reads in every phase.
    static func necrosis(_ smooth: Volume<Float>, in region: Mask) -> Mask {
        var out = Mask(repeating: 0, geometry: region.geometry)
        for v in 0..<out.voxels.count where region.voxels[v] != 0 && necrosisHU.contains(smooth.voxels[v]) {
            out.voxels[v] = 1
        }
        return out
    }
    /// Necrotic tumour reads 10-40 HU (debris and protein, no blood supply); water and bile read
    /// about 0, unenhanced liver and muscle 40-60. Fat lies below the range, air far below it.
    static let necrosisHU: ClosedRange<Float> = 0...40

    /// A region with the `tissue` it wraps (a shell of viable tumour around its necrosis is one
    /// solid lesion): its voxels and those of `tissue` inside its convex hull, slice by slice.
    static func withCavities(_ c: [Int], _ g: Geometry, tissue: Mask) -> [Int] {
        let d = g.dims
        guard let box = VoxelBox.enclosing(c, in: d) else { return c }
        // No such tissue in the region's box, none in its hull: most seeds (vessels) end here.
        let localTissue = tissue.cropped(to: box)
        guard localTissue.insideCount > 0 else { return c }
        var local = Mask(repeating: 0, geometry: localTissue.geometry)
        for v in c { local.voxels[box.local(v, in: d)] = 1 }
        let hull = Filters.convexHullPerSlice(local)
        var out = c
        for v in 0..<hull.voxels.count where hull.voxels[v] != 0 && local.voxels[v] == 0 && localTissue.voxels[v] != 0 {
            out.append(box.global(v, in: d))
        }
        return out
    }

    /// The mean voxel index (i, j, k) of a non-empty region; `g.positionMM` of it is the region's
    /// centre in mm (the grid's mapping is affine).
    static func meanIndex(_ voxels: [Int], _ d: Dims) -> (i: Double, j: Double, k: Double) {
        var i = 0.0, j = 0.0, k = 0.0
        for v in voxels {
            i += Double(v % d.x)
            j += Double((v / d.x) % d.y)
            k += Double(v / d.sliceCount)
        }
        let n = Double(voxels.count)
        return (i / n, j / n, k / n)
    }

    /// sqrt(largest / smallest eigenvalue) of the voxel positions' covariance in mm: 1 for a
    /// ball, large for a vessel segment. Fewer than 4 voxels count as compact.
    static func elongation(_ voxels: [Int], _ g: Geometry) -> Double {
        guard voxels.count >= 4 else { return 1 }
        let e = principalVariancesMM2(voxels, g)
        return (max(e.2, 0) / max(e.0, 1e-6)).squareRoot()
    }

    /// The share of its principal-axes ellipsoid that a region fills: its volume over that of
    /// the solid ellipsoid with the same second moments (semi-axes sqrt(5 x each eigenvalue of
    /// the positions' covariance)). About 1 for a ball or any solid ellipsoid, whatever its
    /// elongation; low for a network of loops with gaps between them, whose moments span far
    /// more than its voxels fill. Fewer than 4 voxels count as solid.
    static func fill(_ voxels: [Int], _ g: Geometry) -> Double {
        guard voxels.count >= 4 else { return 1 }
        let e = principalVariancesMM2(voxels, g)
        // A region one voxel thin along an axis still has that voxel's own extent.
        let thinnestMM = min(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z)
        let semiAxes = [e.0, e.1, e.2].map { max((5 * max($0, 0)).squareRoot(), thinnestMM / 2) }
        return Double(voxels.count) * g.voxelVolumeMM3 / (4 / 3 * Double.pi * semiAxes[0] * semiAxes[1] * semiAxes[2])
    }

    /// Eigenvalues, ascending, of the covariance of the voxels' positions in mm; with
    /// `withVoxelExtent`, each voxel counts as a uniform box rather than its centre (variance
    /// spacing^2 / 12 added per axis), so a region one voxel thin is not infinitely flat.
    static func principalVariancesMM2(_ voxels: [Int], _ g: Geometry, withVoxelExtent: Bool = false) -> (
        Double, Double, Double
    ) {
        let d = g.dims
        var m = [Double](repeating: 0, count: 3), c = [Double](repeating: 0, count: 6)
        for v in voxels {
            let p = [
                Double(v % d.x) * g.spacingMM.x, Double((v / d.x) % d.y) * g.spacingMM.y,
                Double(v / d.sliceCount) * g.spacingMM.z,
            ]
            m[0] += p[0]
            m[1] += p[1]
            m[2] += p[2]
            c[0] += p[0] * p[0]
            c[1] += p[1] * p[1]
            c[2] += p[2] * p[2]
            c[3] += p[0] * p[1]
            c[4] += p[0] * p[2]
            c[5] += p[1] * p[2]
        }
        let n = Double(voxels.count)
        for i in 0..<3 { m[i] /= n }
        let extent = withVoxelExtent ? [g.spacingMM.x, g.spacingMM.y, g.spacingMM.z].map { $0 * $0 / 12 } : [0, 0, 0]
        let a = c[0] / n - m[0] * m[0] + extent[0], b = c[1] / n - m[1] * m[1] + extent[1],
            cc = c[2] / n - m[2] * m[2] + extent[2]
        let dxy = c[3] / n - m[0] * m[1], dxz = c[4] / n - m[0] * m[2], dyz = c[5] / n - m[1] * m[2]
        return symmetricEigenvalues(a, b, cc, dxy, dxz, dyz)
    }

    /// Eigenvalues, ascending, of the symmetric matrix [[a, d, e], [d, b, f], [e, f, c]]
    /// (trigonometric solution of the characteristic cubic).
    static func symmetricEigenvalues(_ a: Double, _ b: Double, _ c: Double, _ d: Double, _ e: Double, _ f: Double) -> (
        Double, Double, Double
    ) {
        let p1 = d * d + e * e + f * f
        if p1 == 0 {
            let s = [a, b, c].sorted()
            return (s[0], s[1], s[2])
        }
        let q = (a + b + c) / 3
        let p2 = (a - q) * (a - q) + (b - q) * (b - q) + (c - q) * (c - q) + 2 * p1
        let p = (p2 / 6).squareRoot()
        let ba = (a - q) / p, bb = (b - q) / p, bc = (c - q) / p, bd = d / p, be = e / p, bf = f / p
        let det = ba * (bb * bc - bf * bf) - bd * (bd * bc - bf * be) + be * (bd * bf - bb * be)
        let r = min(1, max(-1, det / 2))
        let phi = acos(r) / 3
        let l3 = q + 2 * p * cos(phi), l1 = q + 2 * p * cos(phi + 2 * Double.pi / 3)
        return (l1, 3 * q - l1 - l3, l3)
    }
}
