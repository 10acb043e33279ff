import Filters
import Foundation
import VolumeModel
import Volumetry

/// Lesions that end a lobe or bulge out of the liver beyond its outline (exophytic): hypodense
/// ones (`find`, before the lesion step) and hyper-enhancing ones (`findBright`, after the cut
/// lesions; see there for the two neighbours kept out).
///
/// A lesion that replaces the tip of a lobe is not enclosed by parenchyma in any slice, and where
/// it spans more slices than the surface step's wide slab (+-15 mm) it also lies beyond every
/// slice's hull of the liver; and where the dark band joins it to the abdominal wall's muscle it
/// is no compact region the surface step would take (stomach seed 4's made one 730 mL network
/// with the wall at that step's 2 mm depth). The liver
/// and its HTB then lose the whole lesion (the failure-class phantoms' lobe-ending lesions of
/// 25-350 mL: 3-19 HTB points each). Candidates are the surface step's dark tissue (darker than
/// the parenchyma by max(2 SD, 10 HU), above 30 HU so that bile, fluid and fat stay out) outside
/// the liver, searched without a hull up to `marginMM` beyond the liver's box.
///
/// A lesion is a solid mass; what else is dark there (the abdominal wall's muscle, the crura,
/// bowel and the stomach's wall) is a sheet or a tube joined to a network. So the dark tissue is
/// opened by `depthMM` (voxels more than that deep, grown back by as much within it: sheets and
/// tubes thinner than twice that vanish, and a lesion is cut from the wall it touches), and each
/// mass left is taken when it holds at least `minimumMassML`, is no more elongated than
/// `maximumElongation`, fills at least `minimumFill` of its principal-axes ellipsoid (alone, or
/// with the lesion's part inside the liver: `masses`) and faces the liver over at least
/// `minimumContact` of its boundary (it ends the lobe rather than lying beside it). Accepted
/// masses join the liver and are lesions as found (`AutoSegmentation`).
enum ExophyticLesions {
    /// The search reaches this far beyond the liver's box: a lobe-ending lesion lies beyond it.
    static let marginMM = 40.0
    /// Opening radius: a mass thicker than twice this (16 mm) is thicker than the abdominal
    /// wall's muscle sheets, the crura and a bowel wall.
    static let depthMM = 8.0
    /// Below this a mass is left to the reader: the sweep's lateral wall bulges (3-8 mL) passed
    /// every other test, and a 10 mL lesion missed costs at most 0.7 HTB points in a 1.5 L liver.
    static let minimumMassML = 10.0
    /// A mass is round: the lesion step's seeds allow 2.5 inside the liver; out here, where the
    /// neighbours are long, a stricter 2.
    static let maximumElongation = 2.0
    /// A solid, not a network: half its ellipsoid at least (the surface step's cores need 0.25).
    static let minimumFill = 0.5
    /// A lobe-ending lesion meets the lobe over one face: 5.5-11 % of its boundary on the
    /// phantoms; masses not touching the liver (bowel beside HCC 1720's liver) 0.
    static let minimumContact = 0.05

    /// The masses found, on the liver's grid (outside `liver`).
    static func find(_ ct: CTVolume, body: Mask, liver: Mask) -> Mask {
        let empty = Mask(repeating: 0, geometry: liver.geometry)
        guard let box = liver.boundingBox?.expanded(byMM: marginMM, in: ct.geometry) else { return empty }
        let added = within(ct.cropped(to: box), body: body.cropped(to: box), liver: liver.cropped(to: box))
        return added.insideCount == 0 ? empty : empty.pasting(added, at: box)
    }

    /// On a grid cropped around the liver: the voxels to add.
    static func within(_ ct: CTVolume, body: Mask, liver: Mask) -> Mask {
        guard let (smooth, mode, sd, dark) = SurfaceLesions.darkTissue(ct, body: body, liver: liver) else {
            return Mask(repeating: 0, geometry: ct.geometry)
        }
        // The same tissue inside the liver: where a lobe-ending lesion's inner part lies.
        let threshold = SurfaceLesions.darkThreshold(modeHU: mode, robustSDHU: sd)
        var inside = Mask(repeating: 0, geometry: ct.geometry)
        for v in 0..<inside.voxels.count
        where liver.voxels[v] != 0 && smooth.voxels[v] > SurfaceLesions.minimumHU && smooth.voxels[v] < threshold {
            inside.voxels[v] = 1
        }
        var added = Mask(repeating: 0, geometry: ct.geometry)
        for mass in masses(in: dark, liver: liver, inside: inside) { for v in mass { added.voxels[v] = 1 } }
        return added
    }

    /// The solid masses of `tissue` (outside the liver) that pass the tests above, each as voxel
    /// indices of `tissue`'s grid (two may touch).
    static func masses(in tissue: Mask, liver: Mask, inside: Mask? = nil) -> [[Int]] {
        var rejected = 0.0
        return masses(in: tissue, liver: liver, inside: inside, rejectedOnTheLiver: &rejected)
    }

    /// The same; `rejectedOnTheLiver` is the largest region on the liver that failed the shape
    /// tests (elongation or fill), mL: it may be a mass joined to a neighbour.
    ///
    /// With `inside` (the same tissue within the liver), the shape tests pass when the mass
    /// passes them alone or with its lesion's part inside the liver (`lesionPart`). A lesion that
    /// ends a lobe is round, but the outline cuts it: the part beyond is a cap, and a cap smaller
    /// than a half ball has an axis ratio above 1.8 (a half ball's is sqrt(0.2 / 0.059) = 1.83),
    /// so the ratio limit took only lesions lying mostly outside. Judged whole, the lesion is a
    /// ball again; the wall's muscle, the crura and bowel have no such inner part (the liver
    /// beside them is parenchyma). Hypodense side only: on the bright side the liver's own
    /// tissue of that polarity is its enhanced vessels, everywhere, so a mass's "inner part"
    /// would be the vessels beside it (fatty seed 19: a 49 mL mass joined through them, and the
    /// faint stage then lost the lesion's 164 mL inner part, HTB error 5.22 -> 11.60).
    static func masses(in tissue: Mask, liver: Mask, inside: Mask?, rejectedOnTheLiver: inout Double) -> [[Int]] {
        let g = tissue.geometry, d = g.dims
        var out: [[Int]] = []
        let minimumVoxels = minimumMassML * 1000 / g.voxelVolumeMM3
        for core in components(of: Filters.erode(tissue, radiusMM: depthMM), connectivity: .faces6).voxels {
            // The solid mass the core stands for: the core opened back within the tissue.
            guard
                let box = VoxelBox.enclosing(core, in: d)?.expanded(
                    byMM: depthMM + max(g.spacingMM.x, g.spacingMM.y, g.spacingMM.z), in: g)
            else { continue }
            let localTissue = tissue.cropped(to: box), localLiver = liver.cropped(to: box)
            var region = Mask(repeating: 0, geometry: localTissue.geometry)
            for v in core { region.voxels[box.local(v, in: d)] = 1 }
            region = Filters.dilate(region, radiusMM: depthMM)
            for v in 0..<region.voxels.count where localTissue.voxels[v] == 0 { region.voxels[v] = 0 }
            let voxels = (0..<region.voxels.count).filter { region.voxels[$0] != 0 }.map { box.global($0, in: d) }
            let n = Double(voxels.count)
            let touching = SurfaceLesions.contact(region, with: localLiver)
            func solid(_ r: [Int]) -> Bool {
                LesionSegmenter.elongation(r, g) <= maximumElongation && LesionSegmenter.fill(r, g) >= minimumFill
            }
            guard n >= minimumVoxels, touching >= minimumContact,
                solid(voxels) || inside.map({ solid(lesionPart(voxels, inside: $0)) }) == true
            else {
                if n >= minimumVoxels && touching >= minimumContact {
                    rejectedOnTheLiver = max(rejectedOnTheLiver, n * g.voxelVolumeMM3 / 1000)
                }
                continue
            }
            out.append(voxels)
        }
        return out
    }

    /// The mass with its lesion's part inside the liver: `inside` voxels joined to it face to face
    /// within its equivalent-sphere diameter of its centroid (a cap's ball lies within that).
    static func lesionPart(_ mass: [Int], inside: Mask) -> [Int] {
        let g = inside.geometry, d = g.dims, sp = g.spacingMM
        let c = LesionSegmenter.meanIndex(mass, d)
        let reach = 2 * cbrt(3 * Double(mass.count) * g.voxelVolumeMM3 / (4 * Double.pi))
        var seen = Set(mass), out = mass, head = 0
        while head < out.count {
            let v = out[head]
            head += 1
            let i = v % d.x, j = (v / d.x) % d.y, k = v / d.sliceCount
            for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                let x = i + di, y = j + dj, z = k + dk
                guard x >= 0, x < d.x, y >= 0, y < d.y, z >= 0, z < d.z else { continue }
                let w = x + d.x * (y + d.y * z)
                guard inside.voxels[w] != 0, !seen.contains(w) else { continue }
                let dx = (Double(x) - c.i) * sp.x, dy = (Double(y) - c.j) * sp.y, dz = (Double(z) - c.k) * sp.z
                guard (dx * dx + dy * dy + dz * dz).squareRoot() <= reach else { continue }
                seen.insert(w)
                out.append(w)
            }
        }
        return out
    }

    /// Hyper-enhancing masses that end a lobe (a hypervascular metastasis, an HCC): the same
    /// tests in tissue brighter than the parenchyma by the lesion step's bright margin,
    /// max(3 SD, 20 HU), and below `brightCeilingHU`, outside the liver (on the segmentation's
    /// grid, smoothed as the lesion step smooths; holes filled per slice: a lesion is solid and
    /// noise would cut its core apart). Two neighbours pass those tests and are kept out by
    /// anatomy: the IVC's discs (`excluded`, found by the vena cava stage), and a paired organ,
    /// the right kidney, which has a twin across the body's midline where a lesion has none (the
    /// mirror image, slid as `Kidneys.bestFit` slides it, lies >= 75 % in the same tissue away
    /// from the mass while its 5 mm shell lies <= 40 % in it; on the sweep the right kidney,
    /// 76-110 mL, axis ratio 1.6-2.1, fill 0.97 and 6-19 % of its boundary on the liver, passed
    /// every other test). When a region on the liver large enough to hold a kidney and a mass
    /// (70 mL) fails the shape tests, the fitted image itself is taken out of the tissue and the
    /// masses formed again, so a lesion lying on the kidney is not joined to it. A mass whose
    /// centre lies above the liver's highest slice or below its lowest ends no lobe (the heart
    /// above the dome).
    static func findBright(
        _ ct: CTVolume, body: Mask, liver: Mask, modeHU: Float, robustSDHU: Float, excluded: Mask?
    ) -> Mask {
        let g = liver.geometry, d = g.dims
        let empty = Mask(repeating: 0, geometry: g)
        guard let box = liver.boundingBox?.expanded(byMM: marginMM, in: g), let liverBox = liver.boundingBox else {
            return empty
        }
        let lo = modeHU + max(3 * robustSDHU, 20), hi = brightCeilingHU
        guard lo < hi else { return empty }
        func tissue(_ ct: CTVolume, _ body: Mask) -> Mask {
            let smooth = Filters.gaussian(ct, sigmaMM: LesionSegmenter.smoothingSigmaMM)
            return Filters.fillHolesPerSlice(Filters.band(smooth, lo: lo, hi: hi, within: body))
        }
        var candidates = tissue(ct.cropped(to: box), body.cropped(to: box))
        let localLiver = liver.cropped(to: box), localExcluded = excluded?.cropped(to: box)
        for v in 0..<candidates.voxels.count
        where localLiver.voxels[v] != 0 || (localExcluded?.voxels[v] ?? 0) != 0 {
            candidates.voxels[v] = 0
        }
        let zRange = liverBox.lo.z..<(liverBox.lo.z + liverBox.dims.z)
        let centre = Kidneys.isAxial(g) ? LiverSegmenter.bodyCentreMM(body) : nil
        var out = empty
        // The whole grid's tissue, for the twin's side of the body: made once, when needed.
        var whole: Mask?
        var rejectedML = 0.0
        var found = masses(in: candidates, liver: localLiver, inside: nil, rejectedOnTheLiver: &rejectedML)
        // When a region on the liver that could hold a kidney and a mass failed the shape tests,
        // the right kidney (the left one's mirror image fitted in that tissue) leaves the
        // candidates and the masses are formed again: a lesion lying on the kidney makes one mass
        // with it, too elongated to pass (stomach 41: 190 mL, axis ratio 2.71, with the kidney;
        // 96 mL, 1.60, without it).
        if rejectedML >= Kidneys.kidneyML.lowerBound + minimumMassML, centre != nil {
            whole = tissue(ct, body)
            if let kidney = Kidneys.rightImage(band: whole!, liver: liver, body: body)?.cropped(to: box) {
                for v in 0..<candidates.voxels.count where kidney.voxels[v] != 0 { candidates.voxels[v] = 0 }
                found = masses(in: candidates, liver: localLiver)
            }
        }
        for local in found {
            let mass = local.map { box.global($0, in: d) }
            let zMean = Double(mass.reduce(0) { $0 + $1 / d.sliceCount }) / Double(mass.count)
            guard zRange.contains(Int(zMean.rounded())) else { continue }
            if let centre, Kidneys.kidneyML.contains(Double(mass.count) * g.voxelVolumeMM3 / 1000) {
                if whole == nil { whole = tissue(ct, body) }
                if hasTwin(mass, tissue: whole!, centreX: centre.x) { continue }
            }
            for v in mass { out.voxels[v] = 1 }
        }
        return out
    }

    /// Whether the mass's mirror image across x = `centreX` lies in `tissue` away from the mass
    /// itself (a mass near the midline would be its own twin), as a paired organ's does. Tested
    /// on masses of a kidney's volume (`Kidneys.kidneyML`) only: a smaller one would fit inside
    /// the other kidney's edge.
    static func hasTwin(_ mass: [Int], tissue: Mask, centreX: Double) -> Bool {
        var m = Mask(repeating: 0, geometry: tissue.geometry)
        for v in mass { m.voxels[v] = 1 }
        let near = Filters.dilate(m, radiusMM: Kidneys.shellMM)
        var others = tissue
        for v in 0..<others.voxels.count where near.voxels[v] != 0 { others.voxels[v] = 0 }
        return Kidneys.mirrorFit(of: m, near: near, centreX: centreX, band: others) != nil
    }

    /// The stage in place: the masses `findBright` finds join the liver (holes filled per slice)
    /// and the lesions; returns the mL added.
    static func includeBright(
        _ ct: CTVolume, body: Mask, liver: inout Mask, lesions: inout Mask, modeHU: Float, robustSDHU: Float,
        excluded: Mask?
    ) -> Double {
        let bright = findBright(
            ct, body: body, liver: liver, modeHU: modeHU, robustSDHU: robustSDHU, excluded: excluded)
        guard bright.insideCount > 0 else { return 0 }
        liver = Filters.fillHolesPerSlice(liver.union(bright))
        lesions = lesions.union(bright)
        return bright.volumeML
    }

    /// Iodinated tissue stays below this; cortical bone and dense oral contrast lie above it (HU).
    static let brightCeilingHU: Float = 300
}
