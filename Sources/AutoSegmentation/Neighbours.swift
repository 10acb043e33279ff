import Filters
import Foundation
import VolumeModel
import Volumetry

/// Neighbour organs that the liver step's outline took in where they touch the left lobe: the
/// spleen above all. Each organ enhances in its own way: the spleen is brighter than the liver in
/// the arterial and portal phases (its red pulp takes contrast earlier and holds more), so tissue
/// that is parenchyma-like in the outline but whose mean enhancement lies clearly above the
/// liver's is another organ. (Unenhanced, the spleen is darker than the liver: not found here;
/// in the delayed phase the two are alike and nothing leaves.)
///
/// The enhancement level is the mean of the parenchyma-like tissue around each voxel at a scale
/// well above the noise: a normalised Gaussian of `levelSigmaMM` within the outline's tissue that
/// lies within `LiverSegmenter.refineSD` SD of the liver's mode and 3 mm from anything else
/// (vessels, lesions and their partial volume pull the level neither way; neither does the fat
/// outside). A region of the
/// outline whose level lies `minimumBrighterHU` or more above the mode, of at least
/// `minimumRegionML`, centred in the body's left lateral part (beyond `minimumLateralShare` of
/// its half-width from the centre: the spleen lies against the left lateral wall, the heart,
/// whose wall the delayed phase's level also finds, nearer the midline), grows through the
/// outline to where the level crosses half its own contrast (the blurred step between the two
/// levels) and leaves with the lesions found in it (a region the lesion step found in the spleen
/// is the spleen's texture). The organ's rim along the cut, where partial volume with the fat
/// lowers the level, is thinner than an opening of `openingMM` and leaves with it (within
/// `nearCutMM` of the cut only: the liver's own thin parts elsewhere stay), and so does whatever
/// the removal cuts off from the liver's largest part.
///
/// The SD is the parenchyma's own (its histogram peak's half width, at least 5 HU), not the liver
/// step's band SD, which a leaked neighbour widens. Nothing runs when the mode is implausible for
/// parenchyma: the outline is then not the liver. The tissue measured is what the refinement
/// keeps as parenchyma (`LiverSegmenter.refine`: within `refineSD` SD of the mode), so that
/// nothing falls between the two stages (htb-auto/38; with 3 SD here, a fatty liver's spleen,
/// 40 HU above its parenchyma, 3.3 SD on the coarse grid, was kept by the one and not measured by
/// the other). An organ enhancing beyond that (a real arterial spleen) is not parenchyma-like and
/// the refinement takes it out (docs/segmentation.md).
enum Neighbours {
    static let levelSigmaMM = 4.0
    static let haloMM = 3.0
    static let minimumRegionML = 20.0
    static let minimumBrighterHU: Float = 6
    static let minimumLateralShare = 0.35

    /// Where the body's left lateral part begins (x, mm: `minimumLateralShare` of the body's
    /// half-width left of its centre); nil without a body.
    static func lateralLimitXMM(_ body: Mask) -> Double? {
        guard let centre = LiverSegmenter.bodyCentreMM(body) else { return nil }
        return centre.x + minimumLateralShare * LiverSegmenter.bodyHalfWidthMM(body, centreX: centre.x)
    }
    static let openingMM = 6.0
    static let nearCutMM = 10.0

    /// Removes such regions from `liver` and `lesions`; returns the mL removed from the liver.
    static func remove(
        from liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float
    ) -> Double {
        guard AutoSegmentation.plausibleParenchymaHU.contains(Double(modeHU)),
            let box = liver.boundingBox?.expanded(byMM: 3 * levelSigmaMM, in: liver.geometry),
            let (_, peakSD) = Filters.mode(
                smooth, within: Filters.erode(liver, radiusMM: 3), lo: -50, hi: 250, peakWidthOnly: true)
        else { return 0 }
        let sdHU = max(peakSD, 5)
        guard let lateralX = lateralLimitXMM(body) else { return 0 }
        let l = liver.cropped(to: box), les = lesions.cropped(to: box), sm = smooth.cropped(to: box)
        let g = l.geometry
        // Not parenchyma-like: the lesions found and tissue farther than `refineSD` SD from the mode
        // (vessels, fat, lesions not found).
        var other = Mask(repeating: 0, geometry: g)
        for v in 0..<other.voxels.count
        where l.voxels[v] != 0 && (abs(sm.voxels[v] - modeHU) > LiverSegmenter.refineSD * sdHU || les.voxels[v] != 0) {
            other.voxels[v] = 1
        }
        other = Filters.dilate(other, radiusMM: haloMM)
        var tissue = Mask(repeating: 0, geometry: g)
        for v in 0..<tissue.voxels.count where l.voxels[v] != 0 && other.voxels[v] == 0 { tissue.voxels[v] = 1 }
        let level = Filters.normalisedGaussian(sm, sigmaMM: levelSigmaMM, within: tissue)
        var brighter = Mask(repeating: 0, geometry: g)
        for v in 0..<brighter.voxels.count
        where l.voxels[v] != 0 && level.weight.voxels[v] > 0.05 && level.mean.voxels[v] - modeHU >= minimumBrighterHU {
            brighter.voxels[v] = 1
        }
        // Each bright region grows to where the level crosses half its own contrast (the blurred
        // step between the two organs' levels), through the outline.
        var region = Mask(repeating: 0, geometry: g)
        for c in components(of: brighter, connectivity: .faces6).voxels
        where Double(c.count) * g.voxelVolumeMM3 / 1000 >= minimumRegionML {
            let meanX = c.reduce(0.0) { $0 + LiverSegmenter.x(of: $1, g) } / Double(c.count)
            guard meanX > lateralX else { continue }
            var levels = c.map { level.mean.voxels[$0] - modeHU }
            levels.sort()
            let edgeHU = levels[levels.count / 2] / 2
            var within = Mask(repeating: 0, geometry: g)
            for v in 0..<within.voxels.count
            where l.voxels[v] != 0 && level.weight.voxels[v] > 0.05 && level.mean.voxels[v] - modeHU >= edgeHU {
                within.voxels[v] = 1
            }
            // Connected to the region through `within`: a flood at one cost.
            var label = [UInt8](repeating: 0, count: g.dims.count)
            for v in c { label[v] = 1 }
            Heart.flood(&label, within: within, cost: { _ in 0 })
            for v in 0..<label.count where label[v] != 0 { region.voxels[v] = 1 }
        }
        return cut(region, l, les, from: &liver, lesions: &lesions, box: box)
    }

    /// Takes `region` out of `liver` and `lesions`, with what is left of the organ along the cut
    /// and what the cut separates from the liver's largest part; `region`, `l` and `les` (the
    /// liver and lesions cropped) lie on the grid of `box`. Returns the mL removed from the liver.
    static func cut(
        _ region: Mask, _ l: Mask, _ les: Mask, from liver: inout Mask, lesions: inout Mask, box: VoxelBox
    ) -> Double {
        guard region.voxels.contains(1) else { return 0 }
        var out = l
        for v in 0..<out.voxels.count where region.voxels[v] != 0 { out.voxels[v] = 0 }
        // What is left of the organ along the cut (its rim, where partial volume with the fat
        // lowers the level, and shreds between) is thinner than the opening; the liver beside it
        // is not. Only near the cut: the liver's own thin parts elsewhere stay.
        let opened = Filters.open(out, radiusMM: openingMM)
        let nearCut = Filters.dilate(region, radiusMM: nearCutMM)
        for v in 0..<out.voxels.count where out.voxels[v] != 0 && opened.voxels[v] == 0 && nearCut.voxels[v] != 0 {
            out.voxels[v] = 0
        }
        out = Filters.largestComponent(out)
        var outLesions = les
        for v in 0..<outLesions.voxels.count where out.voxels[v] == 0 { outLesions.voxels[v] = 0 }
        let before = liver.insideCount
        liver = liver.pasting(out, at: box)
        lesions = lesions.pasting(outLesions, at: box)
        return Double(before - liver.insideCount) * liver.geometry.voxelVolumeMM3 / 1000
    }

    /// A spleen the lesion step took as lesions (htb-auto/33). Beside a fatty parenchyma the spleen
    /// is hyperdense, and the lesion step can take most of it as hyper-enhancing lesions, or the
    /// bright exophytic stage add it as a mass ending the left lobe; `remove` sees neither (it
    /// measures parenchyma-like tissue only). A lesion of at least `spleenML` (a spleen holds
    /// 100-300 mL; the phantoms' 201-234 mL), centred in the body's left lateral part, whose median
    /// lies `minimumBrighterHU` or more above the parenchyma's mode, is that organ: it leaves the
    /// liver as `remove`'s regions do. A hyper-enhancing metastasis that large so far left would
    /// lie outside the liver's usual place, where the review's `liver_in_left_lateral_abdomen`
    /// doubts the liver anyway.
    static let spleenML = 50.0

    static func removeSpleenLesions(
        from liver: inout Mask, lesions: inout Mask, smooth: Volume<Float>, body: Mask, modeHU: Float
    ) -> Double {
        guard let lateralX = lateralLimitXMM(body), let box = liver.boundingBox else { return 0 }
        let l = liver.cropped(to: box), les = lesions.cropped(to: box), sm = smooth.cropped(to: box)
        let g = les.geometry
        var region = Mask(repeating: 0, geometry: g)
        for c in components(of: les, connectivity: .faces6).voxels
        where Double(c.count) * g.voxelVolumeMM3 / 1000 >= spleenML {
            let meanX = c.reduce(0.0) { $0 + LiverSegmenter.x(of: $1, g) } / Double(c.count)
            guard meanX > lateralX, Filters.median(c.map { sm.voxels[$0] }) - modeHU >= minimumBrighterHU else {
                continue
            }
            for v in c { region.voxels[v] = 1 }
        }
        return cut(region, l, les, from: &liver, lesions: &lesions, box: box)
    }
}
