import Filters
import Foundation
import VolumeModel
import Volumetry

/// Necrotic lesions the liver left outside (htb-auto/43): the dead centre of a large metastasis,
/// or of a tumour after embolization, is unenhanced debris at 0-40 HU (`LesionSegmenter.necrosisHU`)
/// inside a wall of enhancing tumour. Where such a lesion reaches the liver's surface the liver
/// step leaves it out: its centre is below the surface steps' 30 HU floor (bile and fluid), and a
/// hyper-enhancing wall at the bright threshold is porous. A centre is found as tissue outside the
/// liver inside its outline (`SurfaceLesions.wideHull`) at necrosis's density, with a core
/// `coreMM` deep of at least 0.5 mL (no partial-volume sheet between fat and tissue), whose shell
/// `shellMM` out (beyond a thin wall and its partial volume) is at least
/// `minimumEnhancedShellShare` enhancing tissue: above the parenchyma's mode by the lesion
/// margin's max(1.5 SD, 10 HU), below bone. Bile, the stomach's fluid and bowel content lie in
/// walls a few millimetres thick with fat or parenchyma beyond. The lesion is the centre with the
/// enhancing wall around it (the enhancing tissue within the shell's outer reach, and everything
/// above 0 HU within its inner reach: the wall's blurred inner edge). The review counts the
/// centres found beyond the liver's outline, taken or not (`Review.Measures.necroticMassML`):
/// such a lesion's part beyond the outline is a reconstruction, its wall taken only 6 mm deep.
enum NecroticLesions {
    static let coreMM = 2.0
    static let shellMM: ClosedRange<Double> = 3...6
    static let minimumEnhancedShellShare = 0.5
    static let minimumCoreML = 0.5

    /// In the `outline`'s box: the necrotic centres found and the lesions they make (centre and
    /// wall), both outside the liver.
    static func find(in outline: SurfaceLesions.Outline, modeHU: Float, robustSDHU: Float)
        -> (centres: Mask, lesions: Mask)
    {
        let w = outline.liver, s = outline.smooth, b = outline.body, hull = outline.hull
        let g = w.geometry, d = g.dims
        let enhancedFloor = modeHU + max(1.5 * robustSDHU, 10)
        func enhanced(_ hu: Float) -> Bool { hu > enhancedFloor && hu < SurfaceLesions.maximumBrightHU }
        var necrosis = Mask(repeating: 0, geometry: g)
        for v in 0..<necrosis.voxels.count
        where w.voxels[v] == 0 && hull.voxels[v] != 0 && b.voxels[v] != 0
            && LesionSegmenter.necrosisHU.contains(s.voxels[v])
        { necrosis.voxels[v] = 1 }
        var centres = Mask(repeating: 0, geometry: g), lesions = centres
        let minimumVoxels = minimumCoreML * 1000 / g.voxelVolumeMM3
        for core in components(of: Filters.erode(necrosis, radiusMM: coreMM), connectivity: .faces6).voxels
        where Double(core.count) >= minimumVoxels {
            guard
                let cb = VoxelBox.enclosing(core, in: d)?.expanded(
                    byMM: coreMM + shellMM.upperBound + max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            let localNecrosis = necrosis.cropped(to: cb), localSmooth = s.cropped(to: cb), localBody = b.cropped(to: cb)
            var seed = Mask(repeating: 0, geometry: localNecrosis.geometry)
            for v in core { seed.voxels[cb.local(v, in: d)] = 1 }
            // The centre: the core regrown by its depth within the necrosis.
            var centre = Filters.dilate(seed, radiusMM: coreMM)
            for v in 0..<centre.voxels.count where localNecrosis.voxels[v] == 0 { centre.voxels[v] = 0 }
            let inner = Filters.dilate(centre, radiusMM: shellMM.lowerBound)
            let outer = Filters.dilate(centre, radiusMM: shellMM.upperBound)
            var shell = 0, wall = 0
            for v in 0..<outer.voxels.count
            where outer.voxels[v] != 0 && inner.voxels[v] == 0 && localBody.voxels[v] != 0 {
                shell += 1
                if enhanced(localSmooth.voxels[v]) { wall += 1 }
            }
            guard shell > 0 && Double(wall) >= minimumEnhancedShellShare * Double(shell) else { continue }
            for v in 0..<outer.voxels.count where outer.voxels[v] != 0 && localBody.voxels[v] != 0 {
                let hu = localSmooth.voxels[v], global = cb.global(v, in: d)
                if centre.voxels[v] != 0 { centres.voxels[global] = 1 }
                if centre.voxels[v] != 0 || enhanced(hu)
                    || (inner.voxels[v] != 0 && hu >= LesionSegmenter.necrosisHU.lowerBound)
                {
                    lesions.voxels[global] = 1
                }
            }
        }
        for v in 0..<lesions.voxels.count where w.voxels[v] != 0 { lesions.voxels[v] = 0 }
        return (centres, lesions)
    }

    /// The stage in place: the lesions `find` makes join the liver (holes filled per slice) and
    /// the lesions; returns the mL added and the mL of necrotic centres among them.
    static func include(
        smooth: Volume<Float>, body: Mask, liver: inout Mask, lesions: inout Mask, modeHU: Float, robustSDHU: Float
    ) -> (addedML: Double, centresML: Double) {
        guard let outline = SurfaceLesions.Outline(whole: liver.union(lesions), body: body, smooth: smooth) else {
            return (0, 0)
        }
        let found = find(in: outline, modeHU: modeHU, robustSDHU: robustSDHU)
        let ml = found.lesions.volumeML
        guard ml > 0 else { return (0, 0) }
        let added = Mask(repeating: 0, geometry: liver.geometry).pasting(found.lesions, at: outline.box)
        liver = Filters.fillHolesPerSlice(liver.union(added))
        lesions = lesions.union(added)
        return (ml, found.centres.volumeML)
    }
}
