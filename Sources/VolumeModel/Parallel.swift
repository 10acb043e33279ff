import Dispatch
import Foundation

/// Runs `body` for 0..<count on all cores and returns the results in index order.
/// Each index is written by exactly one worker, so the shared buffer needs no lock.
public func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) -> [Result<T, any Error>] {
    guard count > 0 else { return [] }
    let out = UnsafeMutableBufferPointer<Result<T, any Error>?>.allocate(capacity: count)
    out.initialize(repeating: nil)
    defer {
        out.deinitialize()
        out.deallocate()
    }
    let box = UncheckedSendable(out)
    DispatchQueue.concurrentPerform(iterations: count) { i in
        box.value[i] = Result { try body(i) }
    }
    return out.map { $0! }
}

/// Wraps a value whose thread safety the caller guarantees (disjoint writes, see `parallelMap`).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}

/// Runs `body` on contiguous chunks of 0..<count, on all cores (a few chunks a core, so uneven
/// chunks balance). The caller makes sure chunks write disjoint memory.
public func concurrentChunks(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(count, max(1, ProcessInfo.processInfo.activeProcessorCount) * 4)
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((count * c / chunks)..<(count * (c + 1) / chunks))
    }
}
