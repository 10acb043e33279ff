import ArgumentParser
import Batch
import Foundation

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract:
            "Analyse every study under a folder tree: DIR/<study-key>/report.json, DIR/summary.csv, DIR/results.jsonl.",
        discussion: Help.discussion(
            "Masks: a manifest (--manifest), else every DICOM SEG inside the study (liver and tumour/lesion segments), "
                + "else automatic. One bad study never stops the others. See docs/pipelines.md.",
            examples: [
                "htb batch SampleStudies --out batch-out --jobs 2",
                "htb batch SampleStudies --out batch-out --resume --no-png",
                "htb batch SampleStudies --out batch-out --dicom-out batch-dicom --deidentify",
            ],
            exits: [.ok, .internalError, .usage, .noInput, .cannotWrite, .someFailed, .allFailed]))

    @Argument(help: "Root folder (any layout; a DICOMDIR is used where present).") var root: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "Studies analysed at the same time.") var jobs: Int = 2
    @Flag(help: "Keep studies whose status matches their inputs; redo the rest.") var resume = false
    @Option(help: "Take shard K of N (1-based), by a hash of the study key.") var shard: String?
    @Option(help: "Manifest JSON giving masks, clinical facts and series per Study Instance UID.") var manifest: String?
    @Flag(help: "Keep patient names, IDs and birth dates out of every output.") var deidentify = false
    @Flag(name: .customLong("no-png"), help: "Do not render overlays.") var noPNG = false
    @Option(
        name: .customLong("dicom-out"),
        help: ArgumentHelp(
            "Also write each study's DICOM results into DIR/<study-key>/: seg.dcm, sr.dcm (TID 1500) and the "
                + "overlays as Secondary Capture (sc_*.dcm); de-identified with --deidentify.", valueName: "dir"))
    var dicomOut: String?
    @Flag(name: .customLong("seg-per-lesion"), help: "With --dicom-out: one SEG segment per lesion.")
    var segPerLesion = false
    @Option(name: .customLong("memory-budget-mb"), help: "Estimated image memory allowed in flight.")
    var memoryBudgetMB: Int = 4096
    @Flag(name: .customLong("retry-failed"), help: "With --resume, also redo studies that failed.") var retryFailed =
        false
    @Flag(help: "No progress output.") var quiet = false
    @Flag(
        name: .customLong("single-phase"),
        help:
            "Use each study's measured series alone: no other phase of its session (lesions only another phase shows, the automatic liver's phase check)."
    ) var singlePhase = false

    func validate() throws {
        guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be 1 to 64") }
        if let s = shard { _ = try parseShard(s) }
        if segPerLesion && dicomOut == nil {
            throw ValidationError("--seg-per-lesion applies to --dicom-out DIR, which is not given")
        }
    }

    func parseShard(_ s: String) throws -> (Int, Int) {
        let p = s.split(separator: "/").compactMap { Int($0) }
        guard p.count == 2, p[1] >= 1, p[0] >= 1, p[0] <= p[1] else {
            throw ValidationError("--shard must be K/N with 1 <= K <= N, e.g. 3/8")
        }
        return (p[0], p[1])
    }

    func run() throws {
        var o = BatchOptions(root: root, out: out)
        o.jobs = jobs
        o.resume = resume
        o.manifest = manifest
        o.deidentify = deidentify
        o.png = !noPNG
        o.singlePhase = singlePhase
        o.dicomOut = dicomOut
        o.segmentPerLesion = segPerLesion
        o.memoryBudgetMB = memoryBudgetMB
        o.retryFailed = retryFailed
        if let s = shard {
            let (k, n) = try parseShard(s)
            o.shard = (k, n)
        }
        let reporter = ProgressReporter(quiet: quiet)
        let summary: BatchSummary
        do { summary = try BatchRunner.run(o, progress: { reporter.update($0) }) } catch {
            reporter.finish()
            if let e = error as? BatchError, case .noStudies = e {
                FileHandle.standardError.write("htb: error: \(e)\n".data(using: .utf8)!)
                throw ExitCode(HTBExit.noInput.rawValue)
            }
            if let e = error as? BatchError {
                FileHandle.standardError.write("htb: error: \(e)\n".data(using: .utf8)!)
                throw ExitCode(HTBExit.cannotWrite.rawValue)
            }
            throw fail(error)
        }
        reporter.finish()
        let ok = summary.statuses.count - summary.failed
        if !quiet {
            print(
                "\(summary.inShard) studies (\(summary.discovered) found\(o.shard.map { ", shard \($0.k)/\($0.n)" } ?? "")): \(ok) ok, \(summary.failed) failed, \(summary.reused) kept from an earlier run; \(summary.nonDicomFiles) non-DICOM files skipped"
            )
            print("Summary   \(out)/summary.csv")
        }
        if summary.failed == 0 { return }
        throw ExitCode(
            summary.failed == summary.statuses.count ? HTBExit.allFailed.rawValue : HTBExit.someFailed.rawValue)
    }
}

/// Live progress on a terminal, a plain line every few seconds otherwise, nothing with --quiet.
final class ProgressReporter: @unchecked Sendable {
    let quiet: Bool
    let terminal = isatty(STDERR_FILENO) != 0
    var lastPlain = Date.distantPast
    var shown = false
    let lock = NSLock()
    init(quiet: Bool) { self.quiet = quiet }

    func update(_ p: BatchProgress) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        let processed = p.done - p.skipped
        let rate = p.elapsedSeconds > 0 ? Double(processed) / p.elapsedSeconds * 60 : 0
        let left = p.total - p.done
        let eta = rate > 0 ? Double(left) / rate * 60 : 0
        let line = String(
            format: "done %d / %d, failed %d, %.1f studies/min, ETA %@", p.done, p.total, p.failed, rate,
            rate > 0 ? String(format: "%.0f s", eta) : "-")
        if terminal {
            FileHandle.standardError.write(("\r\u{1B}[K" + line).data(using: .utf8)!)
            shown = true
        } else if Date().timeIntervalSince(lastPlain) >= 5 || p.done == p.total {
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            lastPlain = Date()
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if shown {
            FileHandle.standardError.write("\n".data(using: .utf8)!)
            shown = false
        }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the outputs of several batch folders (shards) into one summary.csv and results.jsonl.",
        discussion: Help.discussion(
            "",
            examples: [
                "htb batch SampleStudies --out shard1 --shard 1/2 && htb batch SampleStudies --out shard2 --shard 2/2 && htb merge shard1 shard2 --out merged"
            ],
            exits: [.ok, .internalError, .usage, .noInput, .cannotWrite]))
    @Argument(help: "Batch output folders.") var dirs: [String]
    @Option(help: "Folder for the merged summary.csv and results.jsonl.") var out: String
    @Flag(help: "Leave patient IDs out of the merged tables.") var deidentify = false

    func run() throws {
        do {
            let all = try BatchRunner.merge(dirs, out: out, deidentify: deidentify)
            print("\(all.count) studies from \(dirs.count) folders: \(out)/summary.csv")
        } catch {
            FileHandle.standardError.write("htb: error: \(error)\n".data(using: .utf8)!)
            throw ExitCode(HTBExit.cannotWrite.rawValue)
        }
    }
}
