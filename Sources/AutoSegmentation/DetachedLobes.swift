import Filters
import Foundation
import VolumeModel
import Volumetry

/// A lobe cut off from the liver by a lesion at its surface.
///
/// The liver step keeps one core of its tissue. A lobe that meets the rest of the liver only
/// through a large lesion has a core of its own and is left out. Each other core of at least 5 mL
/// is regrown by 26 mm within the band (outside the liver); it joins the liver when at least
/// 0.3 mL of it lies within 3 mm of `surface`, tissue known to be liver outside the first core.
/// Touching the liver's parenchyma is not enough (the heart, the spleen and the kidneys meet it at
/// parenchyma density).
///
/// Used for tumour-dominated livers (`TumourDominatedLiver.joinOtherTumourCores`: tumour filling
/// another lobe). Until htb-auto/9 it also ran on every parenchyma-dominated liver, with the
/// surface step's lesions as `surface`; since the surface step searches the wide hull it added
/// nothing on any phantom or real case, and with the real cases' enhancement changed by 20 %
/// (`Benchmarks/robustness.py`) it added the heart or bowel (243-729 mL; 1720 at 0.8: liver
/// Dice 0.607 with it, 0.824 without), so that use was removed.
enum DetachedLobes {
    static let regrowMM = 26.0
    static let contactMM = 3.0
    static let minimumCoreML = 5.0
    static let minimumContactML = 0.3

    /// The regions to add (on the liver's grid), and their volume in mL.
    static func find(band: Mask, cores: [[Int]], liver: Mask, surface: Mask) -> (lobes: Mask, addedML: Double) {
        let g = band.geometry, d = g.dims
        var added = Mask(repeating: 0, geometry: g)
        // Contact can only happen within regrowth + contact distance of the surface tissue: all
        // of the test runs in that box (a core voxel outside it is too far to reach the tissue).
        guard let box = surface.boundingBox?.expanded(byMM: regrowMM + contactMM, in: g) else { return (added, 0) }
        let bandBox = band.cropped(to: box), liverBox = liver.cropped(to: box)
        let contact2 = Float(contactMM * contactMM), reach2 = Float((regrowMM + contactMM) * (regrowMM + contactMM))
        let d2 = Filters.squaredDistanceMM2(to: surface.cropped(to: box), capMM2: reach2 * 2).voxels
        let bd = box.dims
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        let minimumContact = minimumContactML * 1000 / g.voxelVolumeMM3
        /// Index in the box of a grid voxel, or nil outside it.
        func inBox(_ v: Int) -> Int? {
            let i = v % d.x - box.lo.x, j = (v / d.x) % d.y - box.lo.y, k = v / d.sliceCount - box.lo.z
            guard i >= 0, j >= 0, k >= 0, i < bd.x, j < bd.y, k < bd.z else { return nil }
            return i + bd.x * (j + bd.y * k)
        }
        for core in cores where Double(core.count) >= minimumVoxels {
            var seed = Mask(repeating: 0, geometry: bandBox.geometry)
            var reaches = false
            for v in core {
                if let b = inBox(v) {
                    seed.voxels[b] = 1
                    if d2[b] <= reach2 { reaches = true }
                }
            }
            guard reaches else { continue }
            let grown = Filters.dilate(seed, radiusMM: regrowMM)
            var contact = 0
            for b in 0..<grown.voxels.count
            where grown.voxels[b] != 0 && d2[b] <= contact2 && bandBox.voxels[b] != 0 && liverBox.voxels[b] == 0 {
                contact += 1
            }
            guard Double(contact) >= minimumContact else { continue }
            // Joins: its whole regrowth, on the full grid.
            var full = Mask(repeating: 0, geometry: g)
            for v in core { full.voxels[v] = 1 }
            full = Filters.dilate(full, radiusMM: regrowMM)
            for v in 0..<full.voxels.count where full.voxels[v] != 0 && (band.voxels[v] == 0 || liver.voxels[v] != 0) {
                full.voxels[v] = 0
            }
            added = added.union(full)
        }
        return (added, added.volumeML)
    }

    /// A lobe the liver step's 10 mm erosion cut off at a neck (parenchyma-dominated livers).
    ///
    /// The left lateral section meets the rest of the liver through a bridge of parenchyma that
    /// is often thinner than 20 mm, or only across the fissure's end: the erosion makes it a core
    /// of its own, and the liver step keeps one core. 32 of 576 sweep results had their left lobe
    /// cut off so (liver Dice 0.67-0.93, `left_lobe_missing`). Another core joins, regrown as
    /// the liver's core was (11 mm within the band), when it is that lobe by anatomy:
    /// - the same tissue: its median within max(SD / 2, 5 HU) of the liver's (one organ, one
    ///   enhancement; the band is 3 SD wide, and the wall's muscle beside a fatty liver lies in
    ///   it 25 HU off);
    /// - anterior: its centre in front of the body's centre (the spleen and the kidneys lie
    ///   behind it);
    /// - no higher than the liver's top (the heart sits above the dome at the liver's density in
    ///   the delayed phase: HCC 1720's and 0697's heart cores reach 1-5 slices above it);
    /// - smaller than half the liver (the left lateral section is about a fifth of it; a fatty
    ///   liver's band took in a 320 mL core of bowel loops regrowing to 823 mL);
    /// - its regrowth meets the liver's.
    /// Returns the regrown lobes (outside `first.liver`).
    static func cutOff(_ first: LiverSegmenter.Result) -> Mask {
        let liver = first.liver, g = liver.geometry, d = g.dims
        var lobes = Mask(repeating: 0, geometry: g)
        guard let centre = LiverSegmenter.bodyCentreMM(first.body) else { return lobes }
        func position(_ v: Int) -> Vector3 {
            g.positionMM(Double(v % d.x), Double((v / d.x) % d.y), Double(v / d.sliceCount))
        }
        let liverVoxels = (0..<liver.voxels.count).filter { liver.voxels[$0] != 0 }
        guard !liverVoxels.isEmpty else { return lobes }
        let liverMedian = Filters.median(liverVoxels.map { first.smooth.voxels[$0] })
        let liverTopMM = liverVoxels.reduce(-Double.infinity) { max($0, position($1).z) }
        let tolerance = max(first.robustSDHU / 2, 5)
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        // Made when a core first passes the cheaper tests.
        var near: Mask?
        for core in first.otherCores where Double(core.count) >= minimumVoxels {
            let m = LesionSegmenter.meanIndex(core, d)
            guard abs(Filters.median(core.map { first.smooth.voxels[$0] }) - liverMedian) <= tolerance,
                g.positionMM(m.i, m.j, m.k).y < centre.y,
                core.allSatisfy({ position($0).z <= liverTopMM })
            else { continue }
            let nearLiver = near ?? Filters.dilate(liver, radiusMM: max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z))
            near = nearLiver
            var grown = Mask(repeating: 0, geometry: g)
            for v in core { grown.voxels[v] = 1 }
            grown = Filters.dilate(grown, radiusMM: LiverSegmenter.regrowMM)
            var count = 0, touches = false
            for v in 0..<grown.voxels.count where grown.voxels[v] != 0 {
                if first.band.voxels[v] == 0 || liver.voxels[v] != 0 {
                    grown.voxels[v] = 0
                    continue
                }
                count += 1
                if nearLiver.voxels[v] != 0 { touches = true }
            }
            guard touches, 2 * count <= liverVoxels.count else { continue }
            lobes = lobes.union(grown)
        }
        return lobes
    }
}
