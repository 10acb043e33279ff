import Filters
import Foundation
import VolumeModel
import Volumetry

/// Hypodense and hyper-enhancing lesions at the liver's surface, added to an automatic liver.
///
/// The parenchyma band leaves out lesions that reach the capsule: they are not enclosed by
/// parenchyma in any slice, so hole filling cannot bring them back. Candidates are tissue darker
/// than the parenchyma (below mode - max(2 SD, 10 HU), statistics from the liver eroded by 3 mm,
/// Gaussian 2 mm) but above 30 HU (bile, fluid and fat stay out), outside the liver and inside
/// its convex hull, slice by slice (the hull of the liver within +-7.5 mm of the slice, as a
/// lesion at the dome reaches above the last slice where parenchyma surrounds it; and apart, of
/// the liver within +-15 mm, as a lesion that ends a lobe lies beyond its own slices' hull). A 2 mm
/// erosion separates them from thin neighbours; a core of at least 0.5 mL, compact
/// (principal-axis ratio <= 3, unlike bowel and vessels; the hull can cut a lesion into a
/// crescent, hence more than the lesion step's 2.5), regrows by 4 mm more within the dark
/// tissue, and is added, regrown by 8 mm, when at least 20 % of the 4 mm region's boundary faces
/// the liver (it sits in the liver's outline rather than beside it) and the core fills at least a
/// quarter of its principal-axes ellipsoid (a solid, not a network of bowel loops). A core that
/// fills less may be a lesion joined to a neighbour the dark band took in (a stronger
/// enhancement widens it): its largest part after a further 2 mm erosion stands in for it when
/// that part holds >= 40 % of it, is as compact and fills >= half its ellipsoid (htb-auto/17;
/// IRCADb at 1.2 x enhancement: parts of 31 and 40 mL, 51-53 %, fill 0.65-0.71; 1720's bowel
/// networks: largest parts fill 0.16-0.27, the solid parts are <= 5 mL, under 10 %). Hyper-enhancing lesions on the capsule
/// (the band leaves them out from above): bright tissue (the lesion step's bright threshold,
/// below 300 HU) outside the liver, whose whole 2 mm core (not cut by the hull) lies >= 70 %
/// inside the wide (+-15 mm) hull and is no more elongated than the lesion step's dark seeds
/// (2.5: the liver cuts the lesion into a cap), regrown within the bright tissue inside that
/// hull; same contact test.
enum SurfaceLesions {
    static let smoothingSigmaMM = 2.0
    static let minimumHU: Float = 30
    static let seedDepthMM = 2.0
    static let regrowMM = 4.0
    /// An accepted core regrows this far (beyond its 2 mm depth) within its tissue: a lesion
    /// bulging beyond the parenchyma's outline reaches past the hull that cut its core. The
    /// contact test keeps the 4 mm region (`regrowMM`): tested on the wider one, the share facing
    /// the liver shrinks with the radius and a lesion can fail it (IRCADb lost one at 6 mm).
    static let addMM = 8.0
    static let minimumCoreML = 0.5
    static let maximumElongation = 3.0
    static let minimumContact = 0.2
    /// A core must fill at least a quarter of its principal-axes ellipsoid (`LesionSegmenter.fill`,
    /// htb-auto/11): a lesion is a solid; bowel loops and the duodenum beside the hilum, with fat
    /// between them, make a network. Measured on the cores of >= 1 mL: lesions 0.29-0.96 (IRCADb's
    /// 0.48-0.66, the phantoms' down to 0.29), 1720's bowel 0.15 and 0.15 (0.21 and 0.22 with
    /// the enhancement x 1.2, when its contact reaches 0.23-0.25 and the contact test alone let
    /// 300 mL of it in: HTB error 14.89, with this test 3.09).
    static let minimumFill = 0.25
    /// A core failing `minimumFill` is eroded by another `splitMM`; its largest part stands in
    /// for it when it holds `minimumSplitShare` of the core and fills `minimumSplitFill` of its
    /// ellipsoid (see `largestSplitPart`).
    static let splitMM = 2.0
    static let minimumSplitShare = 0.4
    static let minimumSplitFill = 0.5
    /// Hyper-enhancing surface lesions (see `within`): bright tissue below this (bone, calcium and
    /// excreted contrast stay out), with at least this share of the core inside the hull (a
    /// lesion's cap outside the liver had 0.85 in the phantoms; the kidney, IVC and aorta 0-0.31).
    static let maximumBrightHU: Float = 300
    static let minimumBrightInHull = 0.7
    /// Half-heights of the slabs whose liver makes each slice's hull (see `within`).
    static let slabMM = 7.5
    static let wideSlabMM = 15.0

    /// Each slice's convex hull of the liver within +-`wideSlabMM` of it: the liver's outline,
    /// reaching a lesion that ends a lobe (also used by the tumour-dominated liver's steps).
    static func wideHull(of liver: Mask) -> Mask {
        Filters.convexHullPerSlice(Filters.slab(liver, halfHeightMM: wideSlabMM))
    }

    /// The liver with the surface lesions found, and the volume added (mL).
    static func include(_ ct: CTVolume, body: Mask, liver: Mask) -> (liver: Mask, addedML: Double) {
        guard let box = liver.boundingBox?.expanded(byMM: 10, in: ct.geometry) else { return (liver, 0) }
        let c = ct.cropped(to: box), b = body.cropped(to: box), l = liver.cropped(to: box)
        let (added, ml) = within(c, body: b, liver: l)
        guard ml > 0 else { return (liver, 0) }
        return (
            Filters.fillHolesPerSlice(
                liver.union(Mask(repeating: 0, geometry: liver.geometry).pasting(added, at: box))), ml
        )
    }

    /// On a grid cropped around the liver: the voxels to add.
    /// What both surface steps (this and `ExophyticLesions`) start from, on a grid cropped around
    /// the liver: the CT smoothed by `smoothingSigmaMM`, the parenchyma's mode and robust SD (in
    /// the liver eroded by 3 mm), and the dark tissue outside the liver (in the body, above
    /// `minimumHU`, below mode - max(2 SD, 10 HU)); nil when the liver has too little interior.
    static func darkTissue(_ ct: CTVolume, body: Mask, liver: Mask) -> (
        smooth: Volume<Float>, mode: Float, sd: Float, dark: Mask
    )? {
        let smooth = Filters.gaussian(ct, sigmaMM: smoothingSigmaMM)
        let inner = Filters.erode(liver, radiusMM: 3)
        guard inner.insideCount >= 100, let (mode, sd) = Filters.mode(smooth, within: inner, lo: -50, hi: 250) else {
            return nil
        }
        let threshold = darkThreshold(modeHU: mode, robustSDHU: sd)
        var dark = Mask(repeating: 0, geometry: ct.geometry)
        for v in 0..<dark.voxels.count
        where body.voxels[v] != 0 && liver.voxels[v] == 0 && smooth.voxels[v] > minimumHU
            && smooth.voxels[v] < threshold
        {
            dark.voxels[v] = 1
        }
        return (smooth, mode, sd, dark)
    }

    /// Dark tissue lies below this: the parenchyma's mode less max(2 SD, 10 HU).
    static func darkThreshold(modeHU mode: Float, robustSDHU sd: Float) -> Float { mode - max(2 * sd, 10) }

    static func within(_ ct: CTVolume, body: Mask, liver: Mask) -> (Mask, Double) {
        let g = ct.geometry, d = g.dims
        var added = Mask(repeating: 0, geometry: g)
        guard let (smooth, mode, sd, dark) = darkTissue(ct, body: body, liver: liver) else { return (added, 0) }
        // The hull of each slice takes in the liver of the slices within `slabMM`: a lesion at the
        // dome reaches above the last slice where parenchyma surrounds it. A second, wider slab
        // (`wideSlabMM`) reaches a lesion that ends a lobe (the lobe runs on beyond it in the
        // slices below or above); its candidates are searched apart, as the wider hull also takes in
        // more dark tissue beside the liver, which can join a lesion's core into an elongated one.
        let hull = Filters.convexHullPerSlice(Filters.slab(liver, halfHeightMM: slabMM))
        let wideHull = Self.wideHull(of: liver)
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        var cores: [(voxels: [Int], tissue: Mask)] = []
        var narrowCores = Set<[Int]>()
        for (n, h) in [hull, wideHull].enumerated() {
            var candidates = dark
            for v in 0..<candidates.voxels.count where h.voxels[v] == 0 { candidates.voxels[v] = 0 }
            for core in components(of: Filters.erode(candidates, radiusMM: seedDepthMM), connectivity: .faces6).voxels
            where Double(core.count) >= minimumVoxels && LesionSegmenter.elongation(core, g) <= maximumElongation {
                // Where the wide hull adds nothing near a lesion its core is the narrow one
                // (voxels listed in storage order): tested and grown once.
                if n == 0 { narrowCores.insert(core) } else if narrowCores.contains(core) { continue }
                cores.append((core, dark))
            }
        }
        // Hyper-enhancing lesions on the capsule: bright tissue outside the liver (brighter than
        // mode + max(3 SD, 20 HU), as in the lesion step, below `maximumBrightHU`) whose 2 mm core,
        // judged whole rather than cut by the hull, lies mostly (>= `minimumBrightInHull`) inside
        // the wide hull: a lesion sits in the liver's outline; the kidney, IVC, aorta and heart
        // reach far beyond it. The core may be a cap (the liver cuts the lesion), hence the dark
        // seeds' principal-axis ratio; it regrows within the bright tissue inside that hull.
        let brightThreshold = mode + max(LesionSegmenter.brightContrastSD * sd, LesionSegmenter.brightContrastHU)
        var bright = Mask(repeating: 0, geometry: g)
        for v in 0..<bright.voxels.count
        where body.voxels[v] != 0 && liver.voxels[v] == 0 && smooth.voxels[v] > brightThreshold
            && smooth.voxels[v] < maximumBrightHU
        {
            bright.voxels[v] = 1
        }
        var brightInHull = bright
        for v in 0..<brightInHull.voxels.count where wideHull.voxels[v] == 0 { brightInHull.voxels[v] = 0 }
        for core in components(of: Filters.erode(bright, radiusMM: seedDepthMM), connectivity: .faces6).voxels
        where Double(core.count) >= minimumVoxels
            && LesionSegmenter.elongation(core, g) <= LesionSegmenter.maximumElongation
        {
            let inHull = core.reduce(0) { $0 + (wideHull.voxels[$1] != 0 ? 1 : 0) }
            if Double(inHull) >= minimumBrightInHull * Double(core.count) { cores.append((core, brightInHull)) }
        }
        for (whole, tissue) in cores {
            // A core that fills too little of its ellipsoid may be a lesion joined to a neighbour
            // of similar density (stronger enhancement widens the dark band): its largest part
            // after a further `splitMM` erosion stands in for it when that part is most of it,
            // compact and solid (see `minimumSplitShare`).
            var core = whole, extra = 0.0
            var fl = LesionSegmenter.fill(whole, g)
            if fl < minimumFill, let part = largestSplitPart(whole, g) {
                (core, extra, fl) = (part, splitMM, LesionSegmenter.fill(part, g))
            }
            guard fl >= minimumFill else { continue }
            // The core's box, grown by the regrowth and one voxel for the boundary.
            guard
                let box = VoxelBox.enclosing(core, in: d)?.expanded(
                    byMM: extra + seedDepthMM + addMM + max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            // Work in the box only: the seed is laid there, the accepted region written back from it.
            let localTissue = tissue.cropped(to: box), localLiver = liver.cropped(to: box)
            var seed = Mask(repeating: 0, geometry: localTissue.geometry)
            for v in core { seed.voxels[box.local(v, in: d)] = 1 }
            var grown = Filters.dilate(seed, radiusMM: extra + seedDepthMM + regrowMM)
            for v in 0..<grown.voxels.count where localTissue.voxels[v] == 0 { grown.voxels[v] = 0 }
            if contact(grown, with: localLiver) >= minimumContact {
                // Accepted: the region added reaches further than the one tested (see `addMM`).
                grown = Filters.dilate(seed, radiusMM: extra + seedDepthMM + addMM)
                for v in 0..<grown.voxels.count where localTissue.voxels[v] == 0 { grown.voxels[v] = 0 }
                for v in 0..<grown.voxels.count where grown.voxels[v] != 0 {
                    added.voxels[box.global(v, in: d)] = 1
                }
            }
        }
        return (added, added.volumeML)
    }

    /// The largest part of `core` after a further `splitMM` erosion, when it holds at least
    /// `minimumSplitShare` of the core, is no more elongated than `maximumElongation` and fills at
    /// least `minimumSplitFill` of its ellipsoid; nil otherwise.
    static func largestSplitPart(_ core: [Int], _ g: Geometry) -> [Int]? {
        let d = g.dims
        guard let box = VoxelBox.enclosing(core, in: d)?.expanded(byMM: 1, in: g) else { return nil }
        var m = Mask(repeating: 0, geometry: g.cropped(to: box))
        for v in core { m.voxels[box.local(v, in: d)] = 1 }
        guard
            let local = components(of: Filters.erode(m, radiusMM: splitMM), connectivity: .faces6).voxels.max(by: {
                $0.count < $1.count
            }),
            Double(local.count) >= minimumSplitShare * Double(core.count)
        else { return nil }
        let part = local.map { box.global($0, in: d) }
        guard LesionSegmenter.elongation(part, g) <= maximumElongation,
            LesionSegmenter.fill(part, g) >= minimumSplitFill
        else { return nil }
        return part
    }

    /// The share of the region's outer boundary (face neighbours outside it) that lies in `other`.
    static func contact(_ region: Mask, with other: Mask) -> Double {
        let d = region.dims
        var shell = 0, touching = 0
        var seen = [Bool](repeating: false, count: d.count)
        for v in 0..<region.voxels.count where region.voxels[v] != 0 {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk) in [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)] {
                let a = i + di, b = j + dj, c = k + dk
                guard a >= 0, a < d.x, b >= 0, b < d.y, c >= 0, c < d.z else { continue }
                let n = a + d.x * (b + d.y * c)
                if region.voxels[n] == 0 && !seen[n] {
                    seen[n] = true
                    shell += 1
                    if other.voxels[n] != 0 { touching += 1 }
                }
            }
        }
        return shell == 0 ? 0 : Double(touching) / Double(shell)
    }
}
