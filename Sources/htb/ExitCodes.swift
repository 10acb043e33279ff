import Foundation
import Analysis
import ArgumentParser
import DicomIO
import Guidelines
import NIfTI
import Overlay
import Phantom
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
    /// Readable but unsupported: not CT, multi-frame images, a transfer syntax without a decoder.
    case unsupported = 69
    /// The clinical facts or the rules file are invalid (unknown key, wrong type or unit, out of range).
    case badFacts = 70
    /// Automatic segmentation found no liver (no body, no liver-like soft tissue on the right).
    case segmentationFailed = 71
    /// An output could not be written.
    case cannotWrite = 73
    /// Batch: some studies failed (their rows say why), the others succeeded.
    case someFailed = 80
    /// Batch: every study failed.
    case allFailed = 81
    /// QA: a threshold (--min-liver-dice, --max-htb-error, ...) was not met, or a case failed.
    case qaFailed = 82

    var code: ExitCode { ExitCode(rawValue) }

    static func of(_ error: any Error) -> HTBExit {
        if let e = error as? PhantomError {
            if case .cannotWrite = e { return .cannotWrite }
            return .usage
        }
        switch FailureClass.of(error) {
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
