import Foundation

/// What can stop `htb serve` from starting, or a spool from being read. Failures of single studies
/// never surface as these: they park the study with its reason (`StudyState.failed`).
public enum NodeError: Error, Sendable, CustomStringConvertible {
    /// A command-line value is malformed (option, value, what was expected).
    case badOption(option: String, value: String, expected: String)
    /// The port could not be opened (in use, not permitted).
    case cannotListen(port: Int, reason: String)
    /// The spool folder cannot be created, written or read.
    case spool(path: String, reason: String)
    /// `--status` of a folder that is not a spool.
    case noSpool(path: String)
    /// No association with the destination (refused, unreachable, timed out).
    case cannotSend(destination: String, reason: String)

    public var description: String {
        switch self {
        case .badOption(let option, let value, let expected):
            return "\(option) '\(value)': expected \(expected)"
        case .cannotListen(let port, let reason):
            return "cannot serve DICOM on port \(port): \(reason)"
        case .spool(let path, let reason):
            return "spool \(path): \(reason)"
        case .noSpool(let path):
            return "\(path): no spool here (no studies/ folder; htb serve --spool DIR makes one)"
        case .cannotSend(let destination, let reason):
            return "cannot send to \(destination): \(reason)"
        }
    }
}

/// DICOM's value grammars for the text that reaches file names and associations.
public enum DicomGrammar {
    /// A UID (PS3.5 9.1): 1-64 characters, digits and dots, no empty component, no leading zero
    /// in a component of more than one digit. Only such strings name files in the spool.
    public static func isUID(_ text: String) -> Bool {
        guard (1...64).contains(text.utf8.count) else { return false }
        for component in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
            if component.count > 1 && component.first == "0" { return false }
        }
        return true
    }

    /// An AE title (PS3.5 6.2, AE): 1-16 characters of the default repertoire without backslash or
    /// control characters, not all spaces.
    public static func isAETitle(_ text: String) -> Bool {
        guard (1...16).contains(text.utf8.count), text.contains(where: { $0 != " " }) else { return false }
        return text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }
    }
}

/// Where results go: `AET@HOST:PORT`.
public struct Destination: Sendable, Equatable, CustomStringConvertible {
    public let aeTitle: String
    public let host: String
    public let port: Int

    public init(aeTitle: String, host: String, port: Int) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
    }

    public init(parsing text: String, option: String = "--forward") throws {
        let bad = NodeError.badOption(
            option: option, value: text, expected: "AET@HOST:PORT, e.g. ORTHANC@127.0.0.1:4242")
        guard let at = text.firstIndex(of: "@"), let colon = text.lastIndex(of: ":"), at < colon else { throw bad }
        let ae = String(text[..<at])
        let host = String(text[text.index(after: at)..<colon])
        guard DicomGrammar.isAETitle(ae), !host.isEmpty, let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw bad }
        self.init(aeTitle: ae, host: host, port: port)
    }

    public var description: String { "\(aeTitle)@\(host):\(port)" }
}
