import ArgumentParser
import Foundation
import Phantom

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic abdominal CT phantom with exact truth (CT series, label map, truth.json).",
        discussion: Help.discussion(
            "Same seed and options, same pixels. See docs/phantoms.md for what is modelled.",
            examples: [
                "htb synth --out phantom --seed 7 --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --lesions 6 --htb 20",
                "htb synth --out phantom-spleen --matrix 128 --slices 40 --slice-mm 5 --pixel-mm 2.8 --phase arterial --enhancement hyper --spleen-contact",
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
    @Option(name: .customLong("left-lobe-lesions"), help: "How many of the lesions to centre in the left lobe.")
    var leftLobeLesions: Int?
    @Flag(name: .customLong("spleen-contact"), help: "The spleen against the left lobe, 10 HU brighter than the liver.")
    var spleenContact = false
    @Flag(
        name: .customLong("stomach-contact"),
        help: "The stomach against the left lobe, its wall 5 HU darker than the liver.") var stomachContact = false
    @Option(
        name: .customLong("steatosis-hu"),
        help: "A fatty liver: the parenchyma this many HU darker (vessels and lesions unchanged).") var steatosisHU:
        Double?

    func run() throws {
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
        spec.leftLobeLesions = leftLobeLesions
        spec.spleenContact = spleenContact ? true : nil
        spec.stomachContact = stomachContact ? true : nil
        spec.steatosisHU = steatosisHU
        do {
            let phantom = try Phantom.build(spec)
            try phantom.write(to: out)
            let t = phantom.truth
            print(
                String(
                    format: "%@: %@ voxels; liver %.2f mL, lesions %.2f mL in %d, HTB %.2f %% (%@)",
                    out, "\(t.dims)", t.liverVolumeML, t.lesionVolumeML, t.lesionCount, t.htbPercent, t.category))
        } catch let e as PhantomError {
            if case .invalidSpec(let s) = e { throw ValidationError(s) }
            throw fail(e)
        } catch { throw fail(error) }
    }
}
