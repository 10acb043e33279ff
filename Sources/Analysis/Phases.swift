import AutoSegmentation
import DicomIO
import Filters
import Foundation
import Seeding
import VolumeModel

/// The session's other phases (same Frame of Reference UID), resampled onto the measured
/// series' grid for seeded lesions: no registration (one session, one patient coordinate
/// system), but breathing moves the liver between acquisitions, mostly up and down with the
/// diaphragm; that shift is measured at the lung bases (`PhaseAlignment`) and taken back (the
/// liver follows the diaphragm craniocaudally), and reported.
public struct PhaseInput: Codable, Sendable, Equatable {
    public var seriesKey: String
    public var seriesDescription: String
    public var phaseHint: String?
    /// How far the lung bases lie higher (+, superior) or lower in this phase, mm.
    public var shiftMM: Double?
    /// Whether the phase was looked at for the seeds (it covers the whole liver and was read).
    public var used: Bool
    /// Why not, or what was corrected.
    public var note: String?
    enum CodingKeys: String, CodingKey {
        case seriesKey = "series_key", seriesDescription = "series_description", phaseHint = "phase_hint"
        case shiftMM = "shift_mm", used, note
    }
}

extension Analysis {
    /// The other phases of `chosen`'s session on `ct`'s grid, each with what the report says of
    /// it (nil when there are none); a phase that cannot be read, or does not cover the whole
    /// liver (when one is given), is listed and not used. `singlePhase`: none looked at.
    static func siblingImages(
        chosen: SeriesEntry, ct: CTVolume, liver: Mask?, inventory: Inventory, singlePhase: Bool
    ) -> ([SeededGrowth.Phase], [PhaseInput]?) {
        let siblings = singlePhase ? [] : siblingPhases(of: chosen, in: inventory)
        guard !siblings.isEmpty else { return ([], nil) }
        var images: [SeededGrowth.Phase] = [], inputs: [PhaseInput] = []
        let g = ct.geometry
        // Lung bases measured on each series' own slices (both axial), positions along the
        // measured grid's slice axis: one resampling, with the shift taken back.
        let reference = PhaseAlignment.lungProfile(ct, along: g.axes.2, from: g.originMM)
        for e in siblings {
            let name = e.seriesDescription.isEmpty ? e.key : e.seriesDescription
            var input = PhaseInput(
                seriesKey: e.key, seriesDescription: e.seriesDescription, phaseHint: e.phaseHint, shiftMM: nil,
                used: false, note: nil)
            defer { inputs.append(input) }
            let other: CTVolume
            do { other = try SeriesLoader.loadCT(e).volume } catch {
                input.note = "not read: \(error)"
                continue
            }
            var offset = Vector3(0, 0, 0)
            if let shift = PhaseAlignment.craniocaudalShiftMM(
                reference: reference, other: PhaseAlignment.lungProfile(other, along: g.axes.2, from: g.originMM))
            {
                let along = g.axes.2 * shift
                input.shiftMM = (along.z * 10).rounded() / 10
                if abs(shift) >= PhaseAlignment.smallestShiftMM {
                    offset = along
                    input.note = String(
                        format:
                            "breathing: the lung bases lie %.1f mm %@ than in the measured series; resampled with that shift taken back",
                        abs(along.z), along.z > 0 ? "higher" : "lower")
                }
            } else {
                input.note = "no lung bases in both phases: resampled without a breathing correction"
            }
            let (image, covered) = Filters.resample(other, onto: g, offsetMM: offset)
            let phase = SeededGrowth.Phase(name: name, image: image, covered: covered)
            if let liver, !phase.covers(liver) {
                input.note = "it does not cover the whole liver: not used"
                continue
            }
            input.used = true
            images.append(phase)
        }
        return (images, inputs.isEmpty ? nil : inputs)
    }

    /// The session's other phases for the automatic lesions (`OtherPhases`: each searched where
    /// it has data), with what the report says of each (nil when none).
    static func otherPhases(chosen: SeriesEntry, ct: CTVolume, inventory: Inventory) -> (
        [OtherPhases.Phase], [PhaseInput]?
    ) {
        let (images, inputs) = siblingImages(
            chosen: chosen, ct: ct, liver: nil, inventory: inventory, singlePhase: false)
        let hints = (inputs ?? []).filter(\.used).map(\.phaseHint)
        return (
            zip(images, hints).map { OtherPhases.Phase(image: $0.image, covered: $0.covered, phaseHint: $1) }, inputs
        )
    }

    /// Marks, in the report's list of other phases (`checkPhases`), those whose lesions were
    /// searched and their breath-hold shift.
    static func noteLesionPhases(_ info: inout AutoSegmentation.Info, inputs: [PhaseInput]?) {
        guard let inputs, var phases = info.phases else { return }
        for n in phases.indices {
            guard let input = inputs.first(where: { $0.seriesKey == phases[n].seriesKey }) else { continue }
            phases[n].shiftMM = input.shiftMM
            phases[n].lesionsSearched =
                input.used && info.otherPhaseLesionsAddedML != nil
                && OtherPhases.showsBright(phaseHint: input.phaseHint) != nil
        }
        info.phases = phases
    }
}

public enum PhaseAlignment {
    /// Air in the lungs: below this HU.
    public static let lungHU: Int16 = -400
    /// Fractions of the analysed phase's largest lung section at which the two lung-base
    /// profiles are compared.
    public static let levels = [0.1, 0.2, 0.3, 0.4, 0.5]
    /// A shift smaller than this is left alone (a fifth of a typical 5 mm slice; resampling
    /// again would only blur).
    public static let smallestShiftMM = 1.0

    /// The area (mm^2) of air enclosed by the body (the lungs, and any bowel gas) in each slice:
    /// air not connected to the slice's border through air (where the image has no data it is
    /// air, joined to the border), with each slice's position along `axis` (mm from `originMM`),
    /// in increasing position. Slices less than 90 % `covered` are left out.
    public static func lungProfile(
        _ ct: CTVolume, along axis: Vector3, from originMM: Vector3, covered: Mask? = nil
    ) -> [(positionMM: Double, areaMM2: Double)] {
        let d = ct.dims, n = d.x * d.y
        let pixelMM2 = ct.geometry.spacingMM.x * ct.geometry.spacingMM.y
        // Slices are independent: flood-filled on all cores.
        let slices = parallelMap(d.z) { k -> (positionMM: Double, areaMM2: Double)? in
            let base = k * n
            if let covered, (0..<n).reduce(0, { $0 + Int(covered.voxels[base + $1]) }) * 10 < n * 9 { return nil }
            var outside = [Bool](repeating: false, count: n)
            var stack: [Int] = []
            func push(_ p: Int) {
                if !outside[p] && ct.voxels[base + p] < lungHU {
                    outside[p] = true
                    stack.append(p)
                }
            }
            for i in 0..<d.x {
                push(i)
                push(i + (d.y - 1) * d.x)
            }
            for j in 0..<d.y {
                push(j * d.x)
                push(d.x - 1 + j * d.x)
            }
            while let p = stack.popLast() {
                let i = p % d.x, j = p / d.x
                if i > 0 { push(p - 1) }
                if i < d.x - 1 { push(p + 1) }
                if j > 0 { push(p - d.x) }
                if j < d.y - 1 { push(p + d.x) }
            }
            var count = 0
            for p in 0..<n where !outside[p] && ct.voxels[base + p] < lungHU { count += 1 }
            return ((ct.geometry.positionMM(0, 0, Double(k)) - originMM).dot(axis), Double(count) * pixelMM2)
        }
        let profile = slices.compactMap { slice -> (positionMM: Double, areaMM2: Double)? in
            if case .success(let entry) = slice { return entry }
            return nil
        }
        return profile.sorted { $0.positionMM < $1.positionMM }
    }

    /// How far (mm along the profiles' axis) `other`'s lung bases lie from `reference`'s: over
    /// the positions both span, for each of `levels`, the position (interpolated) at which each
    /// profile first reaches that share of the reference's largest section, going towards the
    /// lungs from the far end; the median difference. Nil when the lungs are not in both.
    public static func craniocaudalShiftMM(
        reference: [(positionMM: Double, areaMM2: Double)], other: [(positionMM: Double, areaMM2: Double)]
    ) -> Double? {
        guard let r0 = reference.first, let r1 = reference.last, let o0 = other.first, let o1 = other.last else {
            return nil
        }
        let lo = max(r0.positionMM, o0.positionMM), hi = min(r1.positionMM, o1.positionMM)
        let ref = reference.filter { $0.positionMM >= lo && $0.positionMM <= hi }
        let oth = other.filter { $0.positionMM >= lo && $0.positionMM <= hi }
        guard ref.count >= 3, oth.count >= 3, let peak = ref.map(\.areaMM2).max(), peak > 0 else { return nil }
        // The lungs lie towards the end with the larger section.
        let up = ref.last!.areaMM2 >= ref.first!.areaMM2
        func crossing(_ profile: [(positionMM: Double, areaMM2: Double)], _ level: Double) -> Double? {
            var previous: (positionMM: Double, areaMM2: Double)?
            for e in up ? profile : profile.reversed() {
                if e.areaMM2 >= level {
                    guard let p = previous else { return nil }  // above the level from the start
                    return p.positionMM + (e.positionMM - p.positionMM) * (level - p.areaMM2) / (e.areaMM2 - p.areaMM2)
                }
                previous = e
            }
            return nil
        }
        var shifts: [Double] = []
        for f in levels {
            if let a = crossing(ref, f * peak), let b = crossing(oth, f * peak) { shifts.append(b - a) }
        }
        guard !shifts.isEmpty else { return nil }
        return Double(Filters.median(shifts.map(Float.init)))
    }
}
