import Analysis
import ArgumentParser
import DicomIO
import Foundation
import Guidelines
import NIfTI
import Node
import Overlay
import Phantom
import Response
import VolumeModel
import Volumetry

/// htb's exit codes; the README's exit-code table lists the same numbers.
enum HTBExit: Int32, CaseIterable {
    case ok = 0
    /// An internal error (a bug): please report it.
    case internalError = 1
    /// Bad command line (ArgumentParser's validation code).
    case usage = 64
    /// Input is not readable DICOM: not DICOM, truncated, a tag missing or malformed, pixels undecodable.
    case badDicom = 65
    /// Nothing to work on: path missing, no series, no series matching --series or the masks.
    case noInput = 66
    /// The series cannot form a correct volume: one slice, missing or duplicate slices, uneven steps, mixed matrices.
    case badGeometry = 67
    /// A mask is unreadable, empty where it must not be, or not on the CT's grid / frame of reference.
    case badMask = 68
    /// Readable but unsupported: not CT, multi-frame images without functional groups, a transfer syntax without a decoder.
    case unsupported = 69
    /// The clinical facts or the rules file are invalid (unknown key, wrong type or unit, out of range).
    case badFacts = 70
    /// Automatic segmentation found no liver (no body, no liver-like soft tissue on the right).
    case segmentationFailed = 71
    /// An output could not be written.
    case cannotWrite = 73
    /// serve: the DICOM port could not be opened (in use, not permitted).
    case cannotListen = 75
    /// Batch or compare --manifest: some studies or pairs failed (their rows say why), the others succeeded.
    case someFailed = 80
    /// Batch or compare --manifest: every study or pair failed.
    case allFailed = 81
    /// QA: a threshold (--min-liver-dice, --max-htb-error, ...) was not met, or a case failed.
    case qaFailed = 82

    var code: ExitCode { ExitCode(rawValue) }

    static func of(_ error: any Error) -> HTBExit {
        if let e = error as? PhantomError {
            if case .cannotWrite = e { return .cannotWrite }
            return .usage
        }
        if let e = error as? NodeError {
            switch e {
            case .badOption: return .usage
            case .noSpool: return .noInput
            case .cannotListen: return .cannotListen
            case .spool, .cannotSend: return .cannotWrite
            }
        }
        return of(failureClass(error))
    }

    /// The failure class of any error htb raises (a comparison's own errors included).
    static func failureClass(_ error: any Error) -> FailureClass {
        (error as? ResponseError)?.failureClass ?? FailureClass.of(error)
    }

    static func of(_ c: FailureClass) -> HTBExit {
        switch c {
        case .noInput: return .noInput
        case .segmentationFailed: return .segmentationFailed
        case .badDicom: return .badDicom
        case .unsupported: return .unsupported
        case .badGeometry: return .badGeometry
        case .badMask: return .badMask
        case .badFacts: return .badFacts
        case .cannotWrite: return .cannotWrite
        case .usage: return .usage
        case .internal: return .internalError
        }
    }
}

/// Prints `htb: error: ...` and exits with the documented code.
func fail(_ error: any Error) -> ExitCode {
    let exit = HTBExit.of(error)
    let text = exit == .internalError ? "internal error (please report): \(error)" : "\(error)"
    FileHandle.standardError.write(("htb: error: " + text + "\n").data(using: .utf8)!)
    return exit.code
}

extension HTBExit {
    /// One line for `--help` (the README's table says the same at more length).
    var summary: String {
        switch self {
        case .ok: "success"
        case .internalError: "internal error (a bug: please report it)"
        case .usage: "bad command line"
        case .badDicom: "input is not readable DICOM"
        case .noInput: "nothing to work on (path missing, no series, no match)"
        case .badGeometry: "the series cannot form a correct volume"
        case .badMask: "a mask is unreadable, empty or on another grid"
        case .unsupported: "readable but unsupported (not CT, multi-frame without functional groups, pixel format)"
        case .badFacts: "invalid clinical facts or rules file"
        case .segmentationFailed: "automatic segmentation found no liver"
        case .cannotWrite: "an output could not be written"
        case .cannotListen: "the DICOM port could not be opened (in use, not permitted)"
        case .someFailed: "some studies failed, the others succeeded"
        case .allFailed: "every study failed"
        case .qaFailed: "a QA threshold was not met, or a case failed"
        }
    }
}

/// The end of every subcommand's `--help`: its discussion, examples that run as written from the
/// repository's root (they use SampleStudies/; `HelpTests` runs them), and the exit codes it can
/// return.
enum Help {
    static func discussion(_ text: String, examples: [String], exits: [HTBExit]) -> String {
        var out = text.isEmpty ? "" : text + "\n\n"
        out += "EXAMPLES:\n" + examples.map { wrapped($0) }.joined(separator: "\n")
        out +=
            "\n\nEXIT CODES:\n"
            + exits.sorted { $0.rawValue < $1.rawValue }.map { String(format: "  %-3d %@", $0.rawValue, $0.summary) }
            .joined(separator: "\n")
        return out
    }

    /// A command broken between words into lines of at most `width` characters, continued with
    /// a backslash as a shell reads them (the help is wrapped at 80 columns, which would break a
    /// long command anywhere).
    static func wrapped(_ command: String, width: Int = 76) -> String {
        var lines: [String] = [], current = "  "
        for word in command.split(separator: " ") {
            if current.count + word.count + 3 > width && current.trimmingCharacters(in: .whitespaces).count > 0 {
                lines.append(current + " \\")
                current = "      "
            }
            current += (current.hasSuffix(" ") ? "" : " ") + word
        }
        lines.append(current)
        return lines.joined(separator: "\n")
    }

    /// Codes any command that reads a study can return.
    static let reading: [HTBExit] = [.ok, .internalError, .usage, .badDicom, .noInput, .badGeometry, .unsupported]
    static let sample = "SampleStudies/phantom-htb-low"
}
