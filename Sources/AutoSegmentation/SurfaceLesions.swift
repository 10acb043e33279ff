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
/// the liver (it sits in the liver's outline rather than beside it; the boundary within 4 mm of the
/// lungs, beyond the diaphragm, is left out of that share: htb-auto/45) and the core fills at least a
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
/// hull; same contact test. A bright core that fails those tests may be a lesion joined to a
/// neighbour of the same enhancement across a neck: eroded 2, 4, then 6 mm further, the parts that
/// pass them at the shallowest depth stand in for it (`brightParts`, htb-auto/37).
///
/// A large lesion's cap (`cap`, htb-auto/37): the hull cuts a lesion bulging at the liver's
/// convex surface along a chord, and the cap beyond it is as deep as the lesion's radius, more
/// than `addMM` for a lesion over about 2 cm. The accepted region then reaches up to the core's
/// equivalent-sphere radius beyond it, within its tissue (for a bright core, beyond the hull too),
/// within the sphere about the core's centre that holds the whole core, as one connected region;
/// and only when that makes the region more solid (it fills no less of its principal-axes
/// ellipsoid): a round lesion's cap completes a ball, while the abdominal wall's muscle or a
/// neighbour the lesion touches makes it a network.
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
    /// The contact test leaves out the boundary within this of the lungs (`lungs`): the diaphragm
    /// (2-5 mm of muscle, dark tissue here) lies between a lesion at the dome and the lung, and
    /// the region's edge on that side faces the lung through it, as the liver itself does there.
    static let lungSideMM = 4.0
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
    /// Further erosions, beyond the core's 2 mm, that part a hyper-enhancing lesion from a
    /// neighbour it touches (see `brightParts`): a neck up to 16 mm wide in all.
    static let brightSplitMM = [2.0, 4.0, 6.0]
    static let minimumBrightInHull = 0.7
    /// Half-heights of the slabs whose liver makes each slice's hull (see `within`).
    static let slabMM = 7.5
    static let wideSlabMM = 15.0

    /// Each slice's convex hull of the liver within +-`wideSlabMM` of it: the liver's outline,
    /// reaching a lesion that ends a lobe (also used by the tumour-dominated liver's steps).
    static func wideHull(of liver: Mask) -> Mask {
        Filters.convexHullPerSlice(Filters.slab(liver, halfHeightMM: wideSlabMM))
    }

    /// The liver's surroundings, for what is measured or added outside it against its outline: a
    /// box 20 mm around the liver (`whole`: liver and lesions), and in it the liver, the CT, the
    /// body and the liver's `wideHull`. Built once where several steps look there.
    struct Outline {
        let box: VoxelBox
        let liver: Mask, smooth: Volume<Float>, body: Mask, hull: Mask

        /// Nil without a liver.
        init?(whole: Mask, body: Mask, smooth: Volume<Float>) {
            guard let box = whole.boundingBox?.expanded(byMM: 20, in: whole.geometry) else { return nil }
            self.box = box
            liver = whole.cropped(to: box)
            self.smooth = smooth.cropped(to: box)
            self.body = body.cropped(to: box)
            hull = SurfaceLesions.wideHull(of: liver)
        }
    }

    /// The liver with the surface lesions found, the volume added (mL), and the liver with them
    /// but without their caps beyond `addMM` (see `cap`): what the exophytic stage judges a
    /// lobe-ending mass against. A cap reaches into such a mass, and what it leaves outside is
    /// a remnant that no longer passes as a mass (coarse low 36 and stomach 27: lesions of 15 and
    /// 18 mL lost, the cap having taken 9-10 mL of each).
    /// `lungs` (`lungs(body:)`, on the CT's grid): nil only for ablation studies
    /// (`AutoSegmentation.Stage.lungSide`).
    static func include(_ ct: CTVolume, body: Mask, liver: Mask, lungs: Mask?) -> (
        liver: Mask, addedML: Double, withoutCaps: Mask
    ) {
        guard let box = liver.boundingBox?.expanded(byMM: 10, in: ct.geometry) else { return (liver, 0, liver) }
        let c = ct.cropped(to: box), b = body.cropped(to: box), l = liver.cropped(to: box)
        let nearLungs = lungs.map { Filters.dilate($0.cropped(to: box), radiusMM: lungSideMM) }
        let (added, withoutCaps) = within(c, body: b, liver: l, nearLungs: nearLungs)
        let ml = added.volumeML
        guard ml > 0 else { return (liver, 0, liver) }
        func with(_ m: Mask) -> Mask {
            Filters.fillHolesPerSlice(liver.union(Mask(repeating: 0, geometry: liver.geometry).pasting(m, at: box)))
        }
        let all = with(added)
        return (all, ml, withoutCaps.voxels == added.voxels ? all : with(withoutCaps))
    }

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

    /// Each lung base above a liver's dome holds hundreds of mL (the real studies: 720-1414 mL
    /// each; the phantoms' lungs 1200-1450 mL together), while the bowel gas a phantom without
    /// lungs has in its top slice holds at most 35 mL (coarse sweep, seeds 1-24), and pockets of
    /// air in a real scan's top slice 0.3 mL (htb-auto/46).
    static let minimumLungML = 100.0

    /// The lungs: what lies outside the body (below -300 HU, as `LiverSegmenter` finds it) in
    /// regions of at least `minimumLungML` that reach the scan's most superior slice and no
    /// slice's edge. The air around the patient reaches the slices' edges; gas in the bowel and
    /// stomach lies below the diaphragm, which a scan that holds the whole liver starts above.
    /// Nothing when the scan starts below the lungs.
    static func lungs(body: Mask) -> Mask {
        let g = body.geometry, d = g.dims
        let top = g.positionMM(0, 0, Double(d.z - 1)).z > g.positionMM(0, 0, 0).z ? d.z - 1 : 0
        var lung = Mask(repeating: 0, geometry: g)
        for part in components(of: body.inverted(), connectivity: .faces6).voxels {
            var reachesTop = false, reachesEdge = false
            for v in part {
                let i = v % d.x, j = (v / d.x) % d.y
                if i == 0 || j == 0 || i == d.x - 1 || j == d.y - 1 {
                    reachesEdge = true
                    break
                }
                if v / d.sliceCount == top { reachesTop = true }
            }
            if reachesTop && !reachesEdge && Double(part.count) * g.voxelVolumeMM3 / 1000 >= minimumLungML {
                for v in part { lung.voxels[v] = 1 }
            }
        }
        return lung
    }

    /// On a grid cropped around the liver: the voxels to add, and those of them added without
    /// the caps (see `include`). `nearLungs`: the voxels within `lungSideMM` of the lungs.
    static func within(_ ct: CTVolume, body: Mask, liver: Mask, nearLungs: Mask? = nil) -> (
        added: Mask, withoutCaps: Mask
    ) {
        let g = ct.geometry, d = g.dims
        var added = Mask(repeating: 0, geometry: g), withoutCaps = added
        guard let (smooth, mode, sd, dark) = darkTissue(ct, body: body, liver: liver) else { return (added, added) }
        // The hull of each slice takes in the liver of the slices within `slabMM`: a lesion at the
        // dome reaches above the last slice where parenchyma surrounds it. A second, wider slab
        // (`wideSlabMM`) reaches a lesion that ends a lobe (the lobe runs on beyond it in the
        // slices below or above); its candidates are searched apart, as the wider hull also takes in
        // more dark tissue beside the liver, which can join a lesion's core into an elongated one.
        let hull = Filters.convexHullPerSlice(Filters.slab(liver, halfHeightMM: slabMM))
        let wideHull = Self.wideHull(of: liver)
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        var cores: [(voxels: [Int], tissue: Mask, deeperMM: Double, farTissue: Mask)] = []
        var narrowCores = Set<[Int]>()
        for (n, h) in [hull, wideHull].enumerated() {
            var candidates = dark
            for v in 0..<candidates.voxels.count where h.voxels[v] == 0 { candidates.voxels[v] = 0 }
            for core in components(of: Filters.erode(candidates, radiusMM: seedDepthMM), connectivity: .faces6).voxels
            where Double(core.count) >= minimumVoxels && LesionSegmenter.elongation(core, g) <= maximumElongation {
                // Where the wide hull adds nothing near a lesion its core is the narrow one
                // (voxels listed in storage order): tested and grown once.
                if n == 0 { narrowCores.insert(core) } else if narrowCores.contains(core) { continue }
                cores.append((core, dark, 0, dark))
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
        func onTheLiver(_ c: [Int]) -> Bool {
            LesionSegmenter.elongation(c, g) <= LesionSegmenter.maximumElongation
                && Double(wideHull.insideCount(of: c)) >= minimumBrightInHull
                    * Double(c.count)
        }
        for core in components(of: Filters.erode(bright, radiusMM: seedDepthMM), connectivity: .faces6).voxels
        where Double(core.count) >= minimumVoxels {
            if onTheLiver(core) {
                cores.append((core, brightInHull, 0, bright))
            } else if let parts = brightParts(core, g, minimumVoxels: minimumVoxels, where: onTheLiver) {
                for part in parts.parts { cores.append((part, brightInHull, parts.depthMM, bright)) }
            }
        }
        for (whole, tissue, deeper, farTissue) in cores {
            // A core that fills too little of its ellipsoid may be a lesion joined to a neighbour
            // of similar density (stronger enhancement widens the dark band): its largest part
            // after a further `splitMM` erosion stands in for it when that part is most of it,
            // compact and solid (see `minimumSplitShare`).
            var core = whole, extra = deeper
            var fl = LesionSegmenter.fill(whole, g)
            if fl < minimumFill, let part = largestSplitPart(whole, g) {
                (core, extra, fl) = (part, deeper + splitMM, LesionSegmenter.fill(part, g))
            }
            guard fl >= minimumFill else { continue }
            // A large lesion's cap beyond the hull is deeper than `addMM` (see `cap`).
            let coreRadiusMM = cbrt(3 * Double(core.count) * g.voxelVolumeMM3 / (4 * Double.pi))
            let nearMM = extra + seedDepthMM + addMM, reachMM = extra + seedDepthMM + max(addMM, coreRadiusMM)
            // The core's box, grown by the regrowth and one voxel for the boundary.
            guard
                let box = VoxelBox.enclosing(core, in: d)?.expanded(
                    byMM: reachMM + max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            // Work in the box only: the seed is laid there, the accepted region written back from it.
            let localTissue = tissue.cropped(to: box), localLiver = liver.cropped(to: box)
            var seed = Mask(repeating: 0, geometry: localTissue.geometry)
            for v in core { seed.voxels[box.local(v, in: d)] = 1 }
            var grown = Filters.dilate(seed, radiusMM: extra + seedDepthMM + regrowMM)
            for v in 0..<grown.voxels.count where localTissue.voxels[v] == 0 { grown.voxels[v] = 0 }
            if contact(grown, with: localLiver, leavingOut: nearLungs?.cropped(to: box)) >= minimumContact {
                // Accepted: the region added reaches further than the one tested (see `addMM`).
                grown = Filters.dilate(seed, radiusMM: nearMM)
                for v in 0..<grown.voxels.count where localTissue.voxels[v] == 0 { grown.voxels[v] = 0 }
                for v in 0..<grown.voxels.count where grown.voxels[v] != 0 {
                    withoutCaps.voxels[box.global(v, in: d)] = 1
                }
                if reachMM > nearMM {
                    grown = cap(grown, seed: seed, reachMM: reachMM, tissue: farTissue.cropped(to: box))
                }
                for v in 0..<grown.voxels.count where grown.voxels[v] != 0 {
                    added.voxels[box.global(v, in: d)] = 1
                }
            }
        }
        return (added, withoutCaps)
    }

    /// The accepted region `near` with the rest of a large lesion's cap: the `tissue` within
    /// `reachMM` of the `seed` and within the sphere about the seed's centre that holds the whole
    /// seed, the parts of it connected to `near`; kept when `near` with them fills no less of its
    /// principal-axes ellipsoid than `near` alone (a cap completes a ball; a muscle sheet or a
    /// neighbour beyond makes a network), else `near` as it was. All on one local grid.
    static func cap(_ near: Mask, seed: Mask, reachMM: Double, tissue: Mask) -> Mask {
        let g = seed.geometry, d = g.dims, sp = g.spacingMM
        let seedVoxels = (0..<seed.voxels.count).filter { seed.voxels[$0] != 0 }
        guard !seedVoxels.isEmpty else { return near }
        let c = LesionSegmenter.meanIndex(seedVoxels, d)
        func squaredDistanceMM2(_ v: Int) -> Double {
            let x = (Double(v % d.x) - c.i) * sp.x, y = (Double((v / d.x) % d.y) - c.j) * sp.y
            let z = (Double(v / d.sliceCount) - c.k) * sp.z
            return x * x + y * y + z * z
        }
        let limit = seedVoxels.map(squaredDistanceMM2).max() ?? 0
        var far = Filters.dilate(seed, radiusMM: reachMM)
        for v in 0..<far.voxels.count
        where far.voxels[v] != 0 && (tissue.voxels[v] == 0 || squaredDistanceMM2(v) > limit) { far.voxels[v] = 0 }
        var wide = near
        for part in components(of: far, connectivity: .faces6).voxels
        where part.contains(where: { near.voxels[$0] != 0 }) {
            for v in part { wide.voxels[v] = 1 }
        }
        let nearVoxels = (0..<near.voxels.count).filter { near.voxels[$0] != 0 }
        let wideVoxels = (0..<wide.voxels.count).filter { wide.voxels[$0] != 0 }
        guard wideVoxels.count > nearVoxels.count,
            LesionSegmenter.fill(wideVoxels, g) >= LesionSegmenter.fill(nearVoxels, g)
        else { return near }
        return wide
    }

    /// A bright core that fails the tests on the liver (too elongated, or too little of it inside
    /// the hull) may be a hyper-enhancing lesion joined to a neighbour of the same enhancement
    /// (the right kidney, the spleen) across a neck: eroded further by `brightSplitMM`,
    /// the parts that pass at the shallowest depth where any does (compact, solid: fill >=
    /// `minimumSplitFill`), and that depth; nil when none does at any depth.
    static func brightParts(
        _ core: [Int], _ g: Geometry, minimumVoxels: Double, where passes: ([Int]) -> Bool
    ) -> (parts: [[Int]], depthMM: Double)? {
        for (depth, parts) in zip(brightSplitMM, partsAfterErosion(core, g, radiiMM: brightSplitMM)) {
            let passing = parts.filter {
                Double($0.count) >= minimumVoxels && LesionSegmenter.fill($0, g) >= minimumSplitFill && passes($0)
            }
            if !passing.isEmpty { return (passing, depth) }
        }
        return nil
    }

    /// The parts (6-connected, as voxel indices of `g`) of `core` after each further erosion by
    /// `radiiMM`, one list per radius, in their order; the core is laid in its own box, so the
    /// erosions cost no more than its size.
    static func partsAfterErosion(_ core: [Int], _ g: Geometry, radiiMM: [Double]) -> [[[Int]]] {
        let d = g.dims
        guard let box = VoxelBox.enclosing(core, in: d)?.expanded(byMM: 1, in: g) else {
            return radiiMM.map { _ in [] }
        }
        var m = Mask(repeating: 0, geometry: g.cropped(to: box))
        for v in core { m.voxels[box.local(v, in: d)] = 1 }
        return Filters.erode(m, radiiMM: radiiMM).map {
            components(of: $0, connectivity: .faces6).voxels.map { $0.map { box.global($0, in: d) } }
        }
    }

    /// The largest part of `core` after a further `splitMM` erosion, when it holds at least
    /// `minimumSplitShare` of the core, is no more elongated than `maximumElongation` and fills at
    /// least `minimumSplitFill` of its ellipsoid; nil otherwise.
    static func largestSplitPart(_ core: [Int], _ g: Geometry) -> [Int]? {
        guard
            let part = partsAfterErosion(core, g, radiiMM: [splitMM])[0].max(by: { $0.count < $1.count }),
            Double(part.count) >= minimumSplitShare * Double(core.count),
            LesionSegmenter.elongation(part, g) <= maximumElongation,
            LesionSegmenter.fill(part, g) >= minimumSplitFill
        else { return nil }
        return part
    }

    /// The share of the region's outer boundary (face neighbours outside it) that lies in `other`;
    /// boundary voxels in `leavingOut` and not in `other` count for neither.
    static func contact(_ region: Mask, with other: Mask, leavingOut: Mask? = nil) -> Double {
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
                    if let l = leavingOut, l.voxels[n] != 0 && other.voxels[n] == 0 { continue }
                    shell += 1
                    if other.voxels[n] != 0 { touching += 1 }
                }
            }
        }
        return shell == 0 ? 0 : Double(touching) / Double(shell)
    }
}
