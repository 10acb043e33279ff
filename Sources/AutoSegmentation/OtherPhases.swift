import Filters
import Foundation
import VolumeModel
import Volumetry

/// Lesions another phase of the same scan session shows and the measured one does not.
///
/// A lesion's contrast depends on the phase: a hypervascular lesion (neuroendocrine metastases,
/// HCC) is brightest in the arterial phase and may wash out to near the parenchyma's density in
/// the portal or delayed phase; a hypovascular one is darkest once the parenchyma has enhanced
/// (portal, delayed). So each other phase, resampled onto the measured grid with its breath-hold
/// taken back (`Analysis.siblingImages`), is searched by the lesion step (`LesionSegmenter`)
/// within the automatic liver, and a lesion it finds is added only when it is
///
/// - the kind that phase shows best: brighter than its parenchyma's mode by the lesion step's
///   bright contrast (max(3 SD, 20 HU)) in an arterial phase, darker by its dark contrast
///   (max(2 SD, 10 HU)) in a portal-venous or delayed one. Bright in a later phase is blood
///   (the vena cava, veins, the kidney's edge), dark in the arterial phase unenhanced veins;
/// - new: touching no lesion of the measured phase (within `nearMM`), whose outline, set on the
///   series measured, is kept (the phases' outlines of one lesion differ, and a union took both);
/// - inside the liver: at least half of it deeper than `depthMM` in the automatic liver (what
///   another phase sees at the liver's edge is mostly the neighbour the outline took in).
///
/// A phase with no phase hint in its series description is not searched (which kind it shows
/// best is unknown). Measured on two-phase phantoms (coarse, seeds 1-12 to set it, 13-24 to
/// check) and HCC 1720's arterial phase: see docs/segmentation.md.
public enum OtherPhases {
    public static let depthMM = 5.0
    public static let deepShare = 0.5
    public static let nearMM = 2.0

    /// One other phase on the working grid: its image, where it has data, its phase hint.
    public struct Phase: Sendable {
        public var image: CTVolume
        public var covered: Mask
        public var phaseHint: String?
        public init(image: CTVolume, covered: Mask, phaseHint: String?) {
            self.image = image
            self.covered = covered
            self.phaseHint = phaseHint
        }

        var showsBright: Bool? { OtherPhases.showsBright(phaseHint: phaseHint) }
    }

    /// What a phase is searched for: bright lesions (arterial), dark ones (portal venous,
    /// delayed), or nil: not searched.
    public static func showsBright(phaseHint: String?) -> Bool? {
        switch phaseHint {
        case "arterial": true
        case "portal_venous", "delayed": false
        default: nil
        }
    }

    /// The lesions to add (on the working grid), given the liver and lesions found on the
    /// measured phase.
    static func lesions(
        in phases: [Phase], liver: Mask, lesions measured: Mask, smallLesions: Bool
    ) -> Mask {
        var added = Mask(repeating: 0, geometry: liver.geometry)
        let searched = phases.filter { $0.showsBright != nil }
        guard !searched.isEmpty else { return added }
        let whole = liver.union(measured)
        let near = Filters.dilate(measured, radiusMM: nearMM)
        let deep = Filters.erode(whole, radiusMM: depthMM)
        for phase in searched {
            var region = whole
            for v in 0..<region.voxels.count where phase.covered.voxels[v] == 0 { region.voxels[v] = 0 }
            let found = LesionSegmenter.segment(phase.image, liver: region, smallLesions: smallLesions)
            guard let mode = found.modeHU, let sd = found.robustSDHU else { continue }
            let smooth = Filters.gaussian(phase.image, sigmaMM: LesionSegmenter.smoothingSigmaMM)
            let bright = mode + max(LesionSegmenter.brightContrastSD * sd, LesionSegmenter.brightContrastHU)
            let dark = mode - max(LesionSegmenter.minimumContrastSD * sd, LesionSegmenter.minimumContrastHU)
            for c in components(of: found.lesions, connectivity: .full26).voxels
            where !c.contains(where: { near.voxels[$0] != 0 })
                && Double(deep.insideCount(of: c)) >= deepShare * Double(c.count)
            {
                let median = Filters.median(c.map { smooth.voxels[$0] })
                guard phase.showsBright == true ? median > bright : median < dark else { continue }
                for v in c { added.voxels[v] = 1 }
            }
        }
        return added
    }
}
