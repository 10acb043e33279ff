import ArgumentParser
import Foundation
import Phantom
import VolumeModel

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic abdominal CT phantom with exact truth (CT series, label map, truth.json).",
        discussion: Help.discussion(
            "Same seed and options, same pixels. See docs/phantoms.md for what is modelled.",
            examples: [
                "htb synth --out phantom --seed 7 --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --lesions 6 --htb 20",
                "htb synth --out phantom-spleen --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --phase arterial --enhancement hyper --spleen-contact",
                "htb synth --out phantom-later --follow-up-of phantom --scale 0.3 --new-lesions 1 --shift-mm 10,-5,20",
            ],
            exits: [.ok, .internalError, .usage, .cannotWrite]))

    @Option(help: "Output folder (ct/, truth/labels.nii.gz, truth.json).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Target HTB % (lesions are scaled to reach it).") var htb: Double?
    @Option(help: "Number of lesions.") var lesions: Int = 3
    @Option(help: "Matrix (rows = columns).") var matrix: Int = 256
    @Option(help: "Number of slices.") var slices: Int = 80
    @Option(name: .customLong("slice-mm"), help: "Slice step in mm.") var sliceMM: Double = 2.5
    @Option(name: .customLong("pixel-mm"), help: "Pixel spacing in mm.") var pixelMM: Double = 1.4
    @Option(help: "Lesion enhancement: hypo, hyper or mixed.") var enhancement: String = "mixed"
    @Option(name: .customLong("noise-hu"), help: "Noise standard deviation in HU.") var noiseHU: Double = 12
    @Option(help: "Contrast phase: portal, arterial or delayed.") var phase: String = "portal"
    @Option(
        name: .customLong("lesion-shape"), help: "round, or irregular (lobulated, confluent, sleeved along a vessel).")
    var lesionShape: String?
    @Option(
        name: .customLong("lesion-texture"),
        help: "uniform, or mosaic (heterogeneous: patches keep a fifth of the lesion's contrast).")
    var lesionTexture: String?
    @Option(
        name: .customLong("lesion-margin-mm"),
        help: "Graded lesion margins: over each lesion's outer N mm its contrast fades to a fifth at its edge.")
    var lesionMarginMM: Double?
    @Flag(
        name: .customLong("necrotic-lesions"),
        help: "Lesions of 2 cm or more with a necrotic centre (25 HU, unenhanced) over their inner 60 % of radius.")
    var necroticLesions = false
    @Option(name: .customLong("left-lobe-lesions"), help: "How many of the lesions to centre in the left lobe.")
    var leftLobeLesions: Int?
    @Option(
        name: .customLong("dome-lesions"),
        help: "How many of the lesions (after the left lobe's) to centre under the dome, reaching the capsule.")
    var domeLesions: Int?
    @Flag(name: .customLong("lungs"), help: "Lung bases above the diaphragm (5 mm of muscle) instead of bowel.")
    var lungs = false
    @Flag(name: .customLong("spleen-contact"), help: "The spleen against the left lobe, 10 HU brighter than the liver.")
    var spleenContact = false
    @Flag(
        name: .customLong("stomach-contact"),
        help: "The stomach against the left lobe, its wall 5 HU darker than the liver.") var stomachContact = false
    @Option(
        name: .customLong("steatosis-hu"),
        help: "A fatty liver: the parenchyma this many HU darker (vessels and lesions unchanged).") var steatosisHU:
        Double?

    @Option(
        name: .customLong("sibling-phase"),
        help:
            "Also write the same anatomy in this phase (portal, arterial or delayed; repeatable) as another series of the study, in ct/PHASE."
    )
    var siblingPhase: [String] = []
    @Option(
        name: .customLong("sibling-shift-mm"),
        help: "The sibling phases' anatomy lies this many mm higher (another breath-hold; negative: lower).")
    var siblingShiftMM: Double?

    @Option(
        name: .customLong("follow-up-of"),
        help: "Make a later study of the phantom in this folder (its truth.json gives every other option).")
    var followUpOf: String?
    @Flag(name: .customLong("follow-up"), help: "Make the follow-up of the phantom these options describe.")
    var followUp = false
    @Option(help: "Follow-up: every lesion's volume times this (0 to 20).") var scale: Double?
    @Option(name: .customLong("new-lesions"), help: "Follow-up: lesions that were not there.") var newLesions: Int?
    @Option(
        name: .customLong("shift-mm"),
        help: "Follow-up: the body moved by X,Y,Z mm (patient LPS; write --shift-mm=-30,0,0 when X is negative).")
    var shiftMM: String?

    func run() throws {
        var spec = try baseSpec()
        if followUpOf != nil || followUp {
            var f = PhantomSpec.FollowUp(scale: scale ?? 1, newLesions: newLesions ?? 0)
            if let s = shiftMM {
                let v = s.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard v.count == 3, v.allSatisfy(\.isFinite) else {
                    throw ValidationError("--shift-mm needs three numbers X,Y,Z in mm, got '\(s)'")
                }
                f.shiftMM = Vector3(v[0], v[1], v[2])
            }
            spec.followUp = f
        } else if scale != nil || newLesions != nil || shiftMM != nil {
            throw ValidationError("--scale, --new-lesions and --shift-mm need --follow-up-of DIR (or --follow-up)")
        }
        do {
            let phantom = try Phantom.build(spec)
            try phantom.write(to: out)
            let t = phantom.truth
            var line = String(
                format: "%@: %@ voxels; liver %.2f mL, lesions %.2f mL in %d, HTB %.2f %% (%@)",
                out, "\(t.dims)", t.liverVolumeML, t.lesionVolumeML, t.lesionCount, t.htbPercent, t.category)
            if let f = t.followUp {
                line += String(
                    format: "; follow-up of %.2f mL in %d lesions: %d pairs, %d new, %d gone", f.baselineLesionVolumeML,
                    f.baselineLesionVolumesML.count, f.pairs.count, f.newLesions.count, f.goneLesions.count)
            }
            print(line)
        } catch let e as PhantomError {
            if case .invalidSpec(let s) = e { throw ValidationError(s) }
            throw fail(e)
        } catch { throw fail(error) }
    }

    /// The spec from the options, or from the baseline's truth.json with --follow-up-of.
    func baseSpec() throws -> PhantomSpec {
        if let dir = followUpOf {
            let path = dir + "/truth.json"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--follow-up-of: \(path) not found (a folder written by htb synth)")
            }
            do {
                let truth = try JSONDecoder().decode(PhantomTruth.self, from: data)
                guard truth.spec.followUp == nil else {
                    throw ValidationError("--follow-up-of: \(dir) is itself a follow-up; give its baseline")
                }
                return truth.spec
            } catch let e as ValidationError {
                throw e
            } catch {
                throw ValidationError("--follow-up-of: \(path) is not an htb synth truth.json: \(error)")
            }
        }
        var spec = PhantomSpec()
        spec.seed = seed
        spec.htbPercent = htb
        spec.lesions = lesions
        spec.matrix = matrix
        spec.slices = slices
        spec.sliceMM = sliceMM
        spec.pixelMM = pixelMM
        spec.enhancement = enhancement
        spec.noiseHU = noiseHU
        guard let p = ContrastPhase(rawValue: phase) else {
            throw ValidationError("--phase must be portal, arterial or delayed")
        }
        spec.phase = p
        spec.lesionShape = lesionShape
        spec.lesionTexture = lesionTexture
        spec.lesionMarginMM = lesionMarginMM
        spec.necroticLesions = necroticLesions ? true : nil
        spec.leftLobeLesions = leftLobeLesions
        spec.domeLesions = domeLesions
        spec.lungs = lungs ? true : nil
        spec.spleenContact = spleenContact ? true : nil
        spec.stomachContact = stomachContact ? true : nil
        spec.steatosisHU = steatosisHU
        spec.siblingPhases =
            try siblingPhase.isEmpty
            ? nil
            : siblingPhase.map {
                guard let p = ContrastPhase(rawValue: $0) else {
                    throw ValidationError("--sibling-phase must be portal, arterial or delayed, got '\($0)'")
                }
                return p
            }
        spec.siblingShiftMM = siblingShiftMM
        return spec
    }
}
