import Filters
import Foundation
import VolumeModel
import Volumetry

/// A liver where tumour outweighs parenchyma.
///
/// The liver step takes the most frequent soft tissue of the patient's right half for liver
/// parenchyma. When tumour makes up most of the liver, that tissue is tumour: its mode falls
/// outside what an adult liver's parenchyma shows in any phase (`AutoSegmentation.plausibleParenchymaHU`),
/// and the true parenchyma is left beside it, a second tissue wrapped around the tumour mass.
/// This step runs only then: it looks in a 10 mm shell around the tumour-based liver for tissue
/// inside the plausible range and more than 3 robust SDs from the tumour mode; if at least 10 %
/// of the shell lies within 2 SDs of that tissue's mode, it is the parenchyma. The liver becomes
/// the tumour-based liver plus the parenchyma band (its mode +- max(2.2 SD, 15 HU)) within 60 mm
/// of it, its enclosed holes up to the opening's ball filled (voxels the noise took out of the
/// band, htb-auto/34), opened by 6 mm (the abdominal wall and bowel loops at parenchyma density
/// are thinner than 12 mm; the parenchyma wrapped around a tumour mass is thicker), connected to
/// it, closed by 4 mm with holes filled slice by slice (htb-auto/19: 3 SD and 25 mm before; see
/// `bandSD`); the lesions are the liver's voxels nearer the tumour mode than the parenchyma mode,
/// closed then opened by 3 mm, the liver's surface voxels then classed by the voxels beneath them
/// (`surfaceByInterior`, htb-auto/34), components of at least a 5 mm sphere.
///
/// A tumour-dominated liver whose tumour density is plausible for parenchyma (a hypodense
/// metastasis at 60 HU in the portal venous phase) is not recognised: the mode's range is the
/// only trigger, chosen because it cannot fire on a liver whose parenchyma dominates.
enum TumourDominatedLiver {
    static let shellMM = 10.0
    static let separationSD: Float = 3
    static let minimumShellFraction = 0.10
    /// The parenchyma band's half width in robust SDs, and how far from the tumour-based liver it
    /// is grown (htb-auto/19; 3 SD and 25 mm before). The parenchyma left beyond 25 mm (the
    /// inferior tip, the left lobe) was most of what phantom-mid missed (140 mL on the sample);
    /// reaching it with the wider band also took the abdominal wall's muscle and bowel walls
    /// (50 and 28 HU against the arterial parenchyma's 75, robust SD 16): swept 2 / 2.2 / 2.5 / 3 SD
    /// and 25 / 40 / 50 / 60 mm over the 18 sweep phantoms, 2.2 SD and 60 mm are best (README).
    static let bandSD: Float = 2.2
    static let minimumBandHU: Float = 15
    static let growMM = 60.0
    static let openBandMM = 6.0
    static let closeMM = 4.0
    static let smoothClassMM = 3.0
    static let minimumCoreInHull = 0.5
    /// A core outside the hull still joins when at least this share of its lobe's 4 mm shell is
    /// liver or parenchyma within `wrapSD` robust SDs of its mode (htb-auto/14; see
    /// `joinOtherTumourCores` and `wrappedLobe`).
    static let minimumWrap = 0.3
    static let wrapSD: Float = 1.5
    /// A wrapped lobe brings the tight parenchyma within this distance of it (htb-auto/15).
    static let wrapReachMM = 10.0

    struct Result {
        var liver: Mask
        var lesions: Mask
        var parenchymaModeHU: Float
        var parenchymaRobustSDHU: Float
        var tumourModeHU: Float
        /// The tumour's robust SD (smoothed HU); 0 where it was not measured (a given liver).
        var tumourRobustSDHU: Float = 0
        /// Whether the liver's surface voxels take the class of the voxels beneath them
        /// (`surfaceByInterior`); off only for the ablation (`surface_class`).
        var surfaceByInterior = true
    }

    /// `liver` is the liver step's result, `mode`/`sd` its tissue statistics, `smooth` the CT
    /// it was cut from. Nil when the tissue is plausible parenchyma or no second tissue is found.
    static func detect(
        smooth: Volume<Float>, body: Mask, liver: Mask, modeHU m1: Float, robustSDHU sd1: Float,
        surfaceByInterior: Bool = true
    ) -> Result? {
        let plausible = AutoSegmentation.plausibleParenchymaHU
        guard !plausible.contains(Double(m1)) else { return nil }
        let g = liver.geometry
        var shell = Filters.dilate(liver, radiusMM: shellMM)
        for v in 0..<shell.voxels.count where liver.voxels[v] != 0 || body.voxels[v] == 0 { shell.voxels[v] = 0 }
        guard let (m2, sd2) = secondTissue(smooth, in: shell, apartFrom: m1, sd: sd1) else { return nil }

        let width = max(bandSD * sd2, minimumBandHU)
        var reach = Filters.dilate(liver, radiusMM: growMM)
        for v in 0..<reach.voxels.count
        where liver.voxels[v] == 0 && !(body.voxels[v] != 0 && abs(smooth.voxels[v] - m2) < width) {
            reach.voxels[v] = 0
        }
        // Opening cuts what is thinner than 12 mm (the abdominal wall, bowel loops) from the band.
        // The noise leaves about 5 % of the parenchyma outside the band (at 2.2 SD), in holes the
        // opening would widen to its ball: on a 1.9 mm working grid a 6 mm ball is free of them
        // with probability 0.003, and the band was opened away almost whole. Holes up to the
        // ball's volume are filled first (htb-auto/34).
        reach = Filters.fillHoles(reach, upToMM3: 4 / 3 * Double.pi * pow(openBandMM, 3))
        reach = Filters.open(reach, radiusMM: openBandMM).union(liver)
        var grown = Mask(repeating: 0, geometry: g)
        for c in components(of: reach, connectivity: .faces6).voxels where c.contains(where: { liver.voxels[$0] != 0 })
        {
            for v in c { grown.voxels[v] = 1 }
        }
        grown = Filters.fillHolesPerSlice(Filters.close(grown, radiusMM: closeMM).union(grown))

        let lesions = classify(
            smooth, liver: grown, tumourHU: m1, parenchymaHU: m2, surfaceByInterior: surfaceByInterior)
        return Result(
            liver: grown, lesions: lesions, parenchymaModeHU: m2, parenchymaRobustSDHU: sd2, tumourModeHU: m1,
            tumourRobustSDHU: sd1, surfaceByInterior: surfaceByInterior)
    }

    /// Tumour filling another lobe: the liver step keeps one core of its tissue (here the
    /// tumour's), so a lesion filling a lobe beyond the parenchyma grown above is left out with
    /// the lobe. Each other core of the liver step joins as a detached lobe does
    /// (`DetachedLobes`: regrown by 26 mm within the liver step's band, when >= 0.3 mL of it
    /// lies within 3 mm of the parenchyma grown here) if at least half of it lies inside the
    /// liver's hull of the slices within +-15 mm (`SurfaceLesions`' wide slab): the kidney, the
    /// spleen and the heart, at tumour density in some phases, lie mostly beyond it. A tumour
    /// filling the left lobe bulges beyond that hull, but parenchyma wraps it: a core of at least
    /// 5 mL outside the hull joins when `minimumWrap` of its lobe's 4 mm shell is liver or tight
    /// parenchyma (phantom left-lobe tumours 0.34-0.47, kidneys, kidney remnants and the
    /// stomach's wall 0.12-0.28), bringing the parenchyma that wraps it, when the two connect to
    /// the liver (`wrappedLobe`). The lesions are then classified again. Returns the mL added.
    static func joinOtherTumourCores(_ td: inout Result, first l: LiverSegmenter.Result) -> Double {
        var parenchyma = td.liver
        for v in 0..<parenchyma.voxels.count where l.liver.voxels[v] != 0 { parenchyma.voxels[v] = 0 }
        let hull = SurfaceLesions.wideHull(of: td.liver)
        // The liver and tissue within `wrapSD` robust SDs of the parenchyma's mode.
        var tight = Mask(repeating: 0, geometry: td.liver.geometry)
        let tightWidth = wrapSD * td.parenchymaRobustSDHU
        for v in 0..<tight.voxels.count
        where td.liver.voxels[v] != 0
            || (l.body.voxels[v] != 0 && abs(l.smooth.voxels[v] - td.parenchymaModeHU) < tightWidth)
        { tight.voxels[v] = 1 }
        var inHull: [[Int]] = [], outside: [[Int]] = []
        for c in l.otherCores {
            if Double(hull.insideCount(of: c)) >= minimumCoreInHull * Double(c.count) {
                inHull.append(c)
            } else {
                outside.append(c)
            }
        }
        var (lobes, _) = DetachedLobes.find(band: l.band, cores: inHull, liver: td.liver, surface: parenchyma)
        for c in outside where Double(c.count) * td.liver.geometry.voxelVolumeMM3 / 1000 >= DetachedLobes.minimumCoreML
        {
            if let lobe = wrappedLobe(c, band: l.band, liver: td.liver, tight: tight) { lobes = lobes.union(lobe) }
        }
        let ml = lobes.volumeML
        guard ml > 0 else { return 0 }
        td.liver = Filters.fillHolesPerSlice(td.liver.union(lobes))
        td.lesions = classify(l.smooth, td)
        return ml
    }

    /// What a core outside the hull adds to the liver, computed in a box around the core. Its
    /// lobe is the core regrown by `DetachedLobes.regrowMM` within the band, outside the liver.
    /// When at least `minimumWrap` of the lobe's 4 mm shell is liver or tight parenchyma, the lobe
    /// with the tight parenchyma outside the liver within `wrapReachMM` of it (the lobe's own
    /// parenchyma, which the growth from the tumour did not reach), as far as it is connected to
    /// the core and touches the liver (on the full grid); nil otherwise.
    static func wrappedLobe(_ core: [Int], band: Mask, liver: Mask, tight: Mask) -> Mask? {
        let g = band.geometry
        guard
            let box = VoxelBox.enclosing(core, in: g.dims)?.expanded(
                byMM: DetachedLobes.regrowMM + wrapReachMM + 2, in: g)
        else { return nil }
        var s = Mask(repeating: 0, geometry: g.cropped(to: box))
        for v in core { s.voxels[box.local(v, in: g.dims)] = 1 }
        let b = band.cropped(to: box), l = liver.cropped(to: box), t = tight.cropped(to: box)
        var lobe = Filters.dilate(s, radiusMM: DetachedLobes.regrowMM)
        for v in 0..<lobe.voxels.count where !(s.voxels[v] != 0 || (b.voxels[v] != 0 && l.voxels[v] == 0)) {
            lobe.voxels[v] = 0
        }
        let shell = Filters.dilate(lobe, radiusMM: 4)
        var n = 0, wrapped = 0
        for v in 0..<shell.voxels.count where shell.voxels[v] != 0 && lobe.voxels[v] == 0 {
            n += 1
            if t.voxels[v] != 0 { wrapped += 1 }
        }
        guard n > 0, Double(wrapped) >= minimumWrap * Double(n) else { return nil }
        var around = Filters.dilate(lobe, radiusMM: wrapReachMM)
        for v in 0..<around.voxels.count where !(lobe.voxels[v] != 0 || (t.voxels[v] != 0 && l.voxels[v] == 0)) {
            around.voxels[v] = 0
        }
        var joining = Mask(repeating: 0, geometry: around.geometry)
        for part in components(of: around, connectivity: .faces6).voxels
        where part.contains(where: { s.voxels[$0] != 0 })
            && part.contains(where: { AutoSegmentation.hasFaceNeighbour($0, in: l, inside: true) })
        {
            for v in part { joining.voxels[v] = 1 }
        }
        guard joining.insideCount > 0 else { return nil }
        return Mask(repeating: 0, geometry: g).pasting(joining, at: box)
    }

    /// Tumour caps on the liver's surface: the liver step keeps its tissue within 11 mm of a core
    /// eroded by 10 mm, so a hyper-enhancing tumour bulging from the liver's surface beyond that
    /// reach is left outside, at full tumour density (phantom-mid: 25-124 mL per seed, 3-10 mm
    /// outside, at 180-185 HU), and the burden then reads short. Voxels outside the liver within
    /// `capReachMM` of the lesions, inside the liver's hull (`SurfaceLesions.wideHull`),
    /// within `capSD` robust SDs of the tumour's mode and nearer it than the parenchyma's, join the
    /// liver (and the lesions) where they connect to a lesion. Only for a tumour brighter than the
    /// parenchyma: a hypodense tumour's density is the bowel's and the stomach's (on phantom-high
    /// seeds a prototype took 156-189 mL of bowel). Returns the mL added.
    static let capReachMM = 10.0
    static let capSD: Float = 2.5

    static func addTumourCaps(_ td: inout Result, smooth: Volume<Float>, body: Mask) -> Double {
        let m1 = td.tumourModeHU, m2 = td.parenchymaModeHU, width = capSD * td.tumourRobustSDHU
        guard m1 > m2, width > 0, td.lesions.insideCount > 0 else { return 0 }
        let hull = SurfaceLesions.wideHull(of: td.liver)
        // The lesions and the candidate caps within reach of them.
        var candidates = Filters.dilate(td.lesions, radiusMM: capReachMM)
        for v in 0..<candidates.voxels.count where candidates.voxels[v] != 0 && td.lesions.voxels[v] == 0 {
            let x = smooth.voxels[v]
            let cap =
                td.liver.voxels[v] == 0 && hull.voxels[v] != 0 && body.voxels[v] != 0 && abs(x - m1) < width
                && abs(x - m1) < abs(x - m2)
            if !cap { candidates.voxels[v] = 0 }
        }
        var caps = Mask(repeating: 0, geometry: td.liver.geometry)
        for c in components(of: candidates, connectivity: .faces6).voxels
        where c.contains(where: { td.lesions.voxels[$0] != 0 }) {
            for v in c where td.lesions.voxels[v] == 0 { caps.voxels[v] = 1 }
        }
        let ml = caps.volumeML
        guard ml > 0 else { return 0 }
        td.liver = Filters.fillHolesPerSlice(td.liver.union(caps))
        td.lesions = classify(smooth, td)
        return ml
    }

    /// Darker than a hypodense tumour: in the portal venous phase a hypodense tumour mass can lie
    /// against the stomach and bowel, whose fluid and walls (10-30 HU) sit inside the liver
    /// step's wide band (its SD comes from the whole right half, parenchyma and tumour both), so
    /// they join the tumour and are classified as tumour. On the CT smoothed by `darkSigmaMM`
    /// (noise then a few HU) the tumour's own spread is narrow: its mode and robust SD come from
    /// the lesions eroded by 5 mm, and liver voxels below mode - max(1.5 SD, 10 HU) form the dark
    /// tissue. Opened by `darkOpenMM` (the tumour's partial-volume edge against fat is thinner),
    /// its regions of at least `minimumDarkML` that touch the liver's outside leave the liver,
    /// dilated back by the opening radius within the dark tissue; the largest part of the liver
    /// stays and the lesions are classified again. Necrosis inside the tumour does not touch the
    /// outside and stays. Only for a tumour darker than the parenchyma (a hyper-enhancing tumour's
    /// darker neighbour is the parenchyma itself). Returns the mL removed.
    static let darkSigmaMM = 3.0
    static let darkSD: Float = 1.5
    static let minimumDarkGapHU: Float = 10
    static let darkOpenMM = 5.0
    static let minimumDarkML = 5.0

    static func removeDarkSurface(_ td: inout Result, ct: CTVolume, smooth smooth1: Volume<Float>) -> Double {
        guard td.tumourModeHU < td.parenchymaModeHU,
            let box = td.liver.boundingBox?.expanded(byMM: darkSigmaMM * 2, in: td.liver.geometry)
        else { return 0 }
        let liver = td.liver.cropped(to: box), lesions = td.lesions.cropped(to: box)
        let smooth = Filters.gaussian(ct.cropped(to: box), sigmaMM: darkSigmaMM)
        var core = Filters.erode(lesions, radiusMM: 5)
        if core.insideCount < 100 { core = lesions }
        guard let (m, sd) = Filters.mode(smooth, within: core, lo: -100, hi: 250) else { return 0 }
        let ceiling = m - max(darkSD * sd, minimumDarkGapHU)
        var dark = Mask(repeating: 0, geometry: liver.geometry)
        for v in 0..<dark.voxels.count where liver.voxels[v] != 0 && smooth.voxels[v] < ceiling { dark.voxels[v] = 1 }
        let minimumVoxels = minimumDarkML * 1000 / liver.geometry.voxelVolumeMM3
        var leaving = Mask(repeating: 0, geometry: liver.geometry)
        for c in components(of: Filters.open(dark, radiusMM: darkOpenMM), connectivity: .faces6).voxels
        where Double(c.count) >= minimumVoxels
            && c.contains(where: { AutoSegmentation.hasFaceNeighbour($0, in: liver, inside: false) })
        {
            for v in c { leaving.voxels[v] = 1 }
        }
        guard leaving.insideCount > 0 else { return 0 }
        leaving = Filters.dilate(leaving, radiusMM: darkOpenMM)
        var kept = liver
        for v in 0..<kept.voxels.count where leaving.voxels[v] != 0 && dark.voxels[v] != 0 { kept.voxels[v] = 0 }
        kept = Filters.largestComponent(kept)
        let removedML = liver.volumeML - kept.volumeML
        td.liver = Mask(repeating: 0, geometry: td.liver.geometry).pasting(kept, at: box)
        td.lesions = classify(smooth1, td)
        return removedML
    }

    /// A tumour that fades into the parenchyma (`Review.gradedTumourShare` at or above its
    /// limit): the nearer-mode class cuts each fading margin at its middle, while an expert
    /// outlines a lesion at the foot of its fade (`Benchmarks/expert_edges.py`), so the burden
    /// reads short (fine phantom-mid with 5 mm graded margins: lesions x0.79). The
    /// parenchyma-dominated lesion step's margin then applies (`LesionSegmenter.marginMM`,
    /// `marginContrastSD`, `minimumContrastHU`): liver voxels within 5 mm of the tumour lying more
    /// than max(1.5 SD, 10 HU) from the parenchyma's mode towards the tumour's join it, the SD the
    /// parenchyma's noise (its histogram peak's half width, 3 mm inside the liver, away from the
    /// fade), and the tumour is opened by `LesionSegmenter.openingMM` (spurs of noise). A tumour
    /// meeting the parenchyma at a step is left alone: there the middle is the edge (htb-auto/40).
    static func addGradedMargin(_ td: inout Result, smooth: Volume<Float>) {
        guard
            let (share, sd) = Review.gradedTumour(
                liver: td.liver, lesions: td.lesions, smooth: smooth, tumourHU: td.tumourModeHU,
                parenchymaHU: td.parenchymaModeHU), share >= Review.maximumGradedTumourShare
        else { return }
        let limit = max(LesionSegmenter.marginContrastSD * sd, LesionSegmenter.minimumContrastHU)
        let towards: Float = td.tumourModeHU > td.parenchymaModeHU ? 1 : -1
        var margin = Filters.dilate(td.lesions, radiusMM: LesionSegmenter.marginMM)
        for v in 0..<margin.voxels.count
        where td.liver.voxels[v] == 0 || (smooth.voxels[v] - td.parenchymaModeHU) * towards <= limit {
            margin.voxels[v] = 0
        }
        td.lesions = LesionSegmenter.withoutSmallRegions(
            Filters.open(td.lesions.union(margin), radiusMM: LesionSegmenter.openingMM))
    }

    /// With a liver given (an expert's): when the mode inside it (eroded by 3 mm, CT smoothed by
    /// 1 mm) is implausible for parenchyma and a second tissue inside the plausible range, more
    /// than 3 SD away, holds at least 10 % of the liver, the lesions are the voxels nearer the
    /// first. Nil otherwise (the usual lesion step applies).
    static func lesionsInside(_ ct: CTVolume, liver: Mask, surfaceByInterior: Bool = true) -> Result? {
        guard let box = liver.boundingBox?.expanded(byMM: 5, in: ct.geometry) else { return nil }
        let l = liver.cropped(to: box)
        let smooth = Filters.gaussian(ct.cropped(to: box), sigmaMM: 1)
        var inner = Filters.erode(l, radiusMM: 3)
        if inner.insideCount < 100 { inner = l }
        let plausible = AutoSegmentation.plausibleParenchymaHU
        guard let (m1, sd1) = Filters.mode(smooth, within: inner, lo: -50, hi: 250), !plausible.contains(Double(m1))
        else { return nil }
        guard let (m2, sd2) = secondTissue(smooth, in: inner, apartFrom: m1, sd: sd1) else { return nil }
        let lesions = Mask(repeating: 0, geometry: liver.geometry).pasting(
            classify(smooth, liver: l, tumourHU: m1, parenchymaHU: m2, surfaceByInterior: surfaceByInterior), at: box)
        return Result(
            liver: liver, lesions: lesions, parenchymaModeHU: m2, parenchymaRobustSDHU: sd2, tumourModeHU: m1,
            surfaceByInterior: surfaceByInterior)
    }

    /// The second tissue of `region`: the mode of its voxels inside the plausible parenchyma
    /// range and more than 3 SD from `m1`, when at least 10 % of the region lies within 2 SD of it.
    static func secondTissue(_ smooth: Volume<Float>, in region: Mask, apartFrom m1: Float, sd sd1: Float) -> (
        Float, Float
    )? {
        let plausible = AutoSegmentation.plausibleParenchymaHU
        let count = region.insideCount
        guard count > 0 else { return nil }
        var candidates = region
        for v in 0..<candidates.voxels.count where candidates.voxels[v] != 0 {
            let x = smooth.voxels[v]
            if !plausible.contains(Double(x)) || abs(x - m1) <= separationSD * sd1 { candidates.voxels[v] = 0 }
        }
        guard
            let (m2, sd2) = Filters.mode(
                smooth, within: candidates, lo: Float(plausible.lowerBound), hi: Float(plausible.upperBound))
        else { return nil }
        var near = 0
        for v in 0..<region.voxels.count where region.voxels[v] != 0 && abs(smooth.voxels[v] - m2) <= 2 * sd2 {
            near += 1
        }
        return Double(near) >= minimumShellFraction * Double(count) ? (m2, sd2) : nil
    }

    /// The liver's voxels nearer the tumour mode than the parenchyma mode (the midpoint: a voxel
    /// half tumour, half parenchyma falls on it), closed then opened by `smoothClassMM` (noise
    /// makes both notches and spurs along the boundary: an opening alone cuts the spurs and keeps
    /// the notches, reading a large mass 25-45 mL short on every high phantom seed; closing first
    /// treats both alike), within the liver, its surface voxels classed by the voxels beneath them
    /// when `surfaceByInterior` (see `surfaceByInterior(_:liver:)`), components of at least a 5 mm
    /// sphere.
    static func classify(
        _ smooth: Volume<Float>, liver: Mask, tumourHU m1: Float, parenchymaHU m2: Float, surfaceByInterior: Bool
    ) -> Mask {
        let g = liver.geometry
        var tumour = Mask(repeating: 0, geometry: g)
        for v in 0..<tumour.voxels.count
        where liver.voxels[v] != 0 && abs(smooth.voxels[v] - m1) < abs(smooth.voxels[v] - m2) { tumour.voxels[v] = 1 }
        tumour = Filters.open(Filters.close(tumour, radiusMM: smoothClassMM), radiusMM: smoothClassMM)
        for v in 0..<tumour.voxels.count where liver.voxels[v] == 0 { tumour.voxels[v] = 0 }
        if surfaceByInterior { tumour = Self.surfaceByInterior(tumour, liver: liver) }
        return LesionSegmenter.withoutSmallRegions(tumour)
    }

    /// `classify` on `td`'s liver and modes.
    static func classify(_ smooth: Volume<Float>, _ td: Result) -> Mask {
        classify(
            smooth, liver: td.liver, tumourHU: td.tumourModeHU, parenchymaHU: td.parenchymaModeHU,
            surfaceByInterior: td.surfaceByInterior)
    }

    /// The liver's surface voxels (a face neighbour outside it) classed by the voxels beneath
    /// them. A surface voxel averages the liver's tissue with what lies outside it (fat at -100
    /// HU, the lung, bowel), so its value no longer tells tumour from parenchyma: a tumour reaching
    /// the capsule, half fat in its surface voxel, reads as parenchyma against a hyper-enhancing
    /// tumour's midpoint, and parenchyma beside fat reads as tumour against a hypodense one's. Each
    /// surface voxel takes the class most of its face neighbours inside the liver and off its
    /// surface have, and keeps its own on a tie or with none. On the coarse mid phantoms (the
    /// tumour at 186 HU, parenchyma 78 HU) 28-32 mL of truth lesion lay on the liver's surface,
    /// at 88-98 HU, left as parenchyma. A parenchymal layer one voxel thin over a tumour becomes
    /// tumour: the price.
    static func surfaceByInterior(_ tumour: Mask, liver: Mask) -> Mask {
        let d = liver.dims
        var surface = [Bool](repeating: false, count: liver.voxels.count)
        for v in 0..<liver.voxels.count where liver.voxels[v] != 0 {
            surface[v] = AutoSegmentation.hasFaceNeighbour(v, in: liver, inside: false)
        }
        var out = tumour
        for v in 0..<liver.voxels.count where surface[v] {
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            var tumourBelow = 0, parenchymaBelow = 0
            for (ok, n) in [
                (i > 0, v - 1), (i + 1 < d.x, v + 1), (j > 0, v - d.x), (j + 1 < d.y, v + d.x),
                (k > 0, v - d.sliceCount), (k + 1 < d.z, v + d.sliceCount),
            ] where ok && liver.voxels[n] != 0 && !surface[n] {
                if tumour.voxels[n] != 0 { tumourBelow += 1 } else { parenchymaBelow += 1 }
            }
            if tumourBelow > parenchymaBelow {
                out.voxels[v] = 1
            } else if parenchymaBelow > tumourBelow {
                out.voxels[v] = 0
            }
        }
        return out
    }
}
