import NIOCore
import Synchronization

/// Runs a store's calls in the store's own task group (inside its `run()`), and answers each caller
/// by its deadline whatever the call does.
///
/// Why: a deadline raced in the caller's own task group cannot return before every child has
/// returned, and a postgres-nio connection request was seen to ignore its cancellation after
/// PostgreSQL restarted (about 1 in 15 restarts in the fault suite), holding the caller — the relay —
/// forever. Here the caller waits on a continuation that the call or a timer resumes, whichever
/// comes first; a call that never returns stays behind in the store's group, cancelled when the
/// store stops, and costs a pool slot rather than the service.
final class DetachedCalls: Sendable {
    private let calls: AsyncStream<@Sendable () async -> Void>
    private let submit: AsyncStream<@Sendable () async -> Void>.Continuation

    init() {
        (self.calls, self.submit) = AsyncStream.makeStream()
    }

    /// Runs submitted calls until cancelled; then waits for those still running (they see the
    /// cancellation).
    func run() async {
        await withDiscardingTaskGroup { group in
            for await call in self.calls {
                group.addTask { await call() }
            }
        }
    }

    /// Runs `body` in the store's group and returns its result; at `deadline`, throws
    /// `timedOut()` instead and leaves `body` to finish on its own.
    ///
    /// - Throws: `body`'s error, `timedOut()`, `CancellationError` when the caller is cancelled, or
    ///   `stopped` when the store is no longer running.
    func run<T: Sendable>(
        deadline: NIODeadline,
        on eventLoop: any EventLoop,
        timedOut: @escaping @Sendable () -> any Error,
        stopped: any Error,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let answer = Answer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                answer.wait(continuation)
                let timer = eventLoop.scheduleTask(deadline: deadline) { answer.give(.failure(timedOut())) }
                let submitted = self.submit.yield {
                    let result: Result<T, any Error>
                    do {
                        result = .success(try await body())
                    } catch {
                        result = .failure(error)
                    }
                    timer.cancel()
                    answer.give(result)
                }
                if case .terminated = submitted {
                    timer.cancel()
                    answer.give(.failure(stopped))
                }
            }
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
    }
}

/// One caller's answer: the first result given wins, later ones are dropped.
private final class Answer<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T, any Error>)
        case given(Result<T, any Error>)
        case done
    }

    private let state = Mutex(State.empty)

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = self.state.withLock { state in
            switch state {
            case .empty:
                state = .waiting(continuation)
                return nil
            case .given(let result):
                state = .done
                return result
            case .waiting, .done:
                return nil
            }
        }
        if let early { continuation.resume(with: early) }
    }

    func give(_ result: Result<T, any Error>) {
        let waiting: CheckedContinuation<T, any Error>? = self.state.withLock { state in
            switch state {
            case .empty:
                state = .given(result)
                return nil
            case .waiting(let continuation):
                state = .done
                return continuation
            case .given, .done:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
}
