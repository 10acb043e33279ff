import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One JSON object per line and event (`time`, `event`, then the event's fields, keys sorted), on
/// stderr or appended to a file. Each line is one write(2), so lines from concurrent associations
/// never interleave.
public final class EventLog: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let clock: @Sendable () -> Date

    public init(path: String?, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.clock = clock
        if let path {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw NodeError.spool(path: path, reason: "cannot open the log: \(String(cString: strerror(errno)))")
            }
            self.fd = fd
        } else {
            self.fd = 2
        }
    }

    /// Writes `{"time": ..., "event": event, fields...}`. Values: String, Int, Double, Bool, [String].
    public func log(_ event: String, _ fields: [String: Any] = [:]) {
        var object = fields
        object["event"] = event
        object["time"] = Self.timestamp(clock())
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        var line = data
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }

    /// ISO 8601 UTC with milliseconds (one formatter, made once: making one costs more than a C-STORE).
    public static func timestamp(_ date: Date) -> String {
        formatterLock.lock()
        defer { formatterLock.unlock() }
        return formatter.string(from: date)
    }

    /// The date of a `timestamp` text, nil when it is not one.
    public static func date(_ text: String) -> Date? {
        formatterLock.lock()
        defer { formatterLock.unlock() }
        return formatter.date(from: text)
    }

    private static let formatterLock = NSLock()
    nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
